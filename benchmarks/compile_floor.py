"""The floor compile_bench.py holds vmspec compile against: the least any YAML → XML tool
does with the same files to write the same bytes. Parse every spec with PyYAML's C
loader and lay the profiles a VM lists under its spec (a plain deep merge, vmspec's
rules); read every XML file vmspec wrote, parse it with lxml and serialize it without
the marker's hash, hash that, and write the hash in (with -o, write the files out).

The merge and the hash are what a tool cannot skip and still write vmspec's bytes: a VM
that lists a profile holds only part of its domain, and the marker's hash covers the
rest of the XML. Leaving them out made the floor cheaper than any tool could be.

    .venv/bin/python benchmarks/compile_floor.py SPECS_DIR XML_DIR [-o OUT_DIR]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

MARKER = "{https://vmspec.dev/xmlns/domain/1}domain"
# The marker declares its namespace itself and comes before any other "<" can (text and
# attribute values before it escape theirs): its start tag is the first of these.
MARKER_OPENING = b'<vmspec:domain xmlns:vmspec="https://vmspec.dev/xmlns/domain/1"'


def disk_key(disk: Any, index: int) -> Any:
    return disk.get("target")


def interface_key(interface: Any, index: int) -> Any:
    return ("name", interface["name"]) if "name" in interface else ("position", index)


LIST_KEYS = {"disks": disk_key, "interfaces": interface_key}  # lists whose items merge


def merged(base: Any, over: Any, field: str | None = None) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        for key, value in over.items():
            if value is None and key in base:
                del result[key]  # null removes an inherited value
            else:
                result[key] = merged(base[key], value, key) if key in base else value
        return result
    if isinstance(base, list) and isinstance(over, list) and field in LIST_KEYS:
        key_of = LIST_KEYS[field]
        items = list(base)
        place = {key_of(item, index): index for index, item in enumerate(base)}
        place.pop(None, None)
        for index, item in enumerate(over):
            at = place.get(key_of(item, index))
            if at is None:
                items.append(item)
            else:
                items[at] = merged(items[at], item)
        return items
    return over


def with_profiles(spec: dict[str, Any], profiles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    base: Any = None
    for name in spec.get("profiles", []):
        profile = with_profiles(profiles[name], profiles)
        base = profile if base is None else merged(base, profile)
    own = {key: value for key, value in spec.items() if key != "profiles"}
    return own if base is None else merged(base, own)


def hashed(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    marker = root.find(f"metadata/{MARKER}")
    if marker is None:
        return etree.tostring(root)
    marker.attrib.pop("hash", None)
    covered = etree.tostring(root, pretty_print=True)
    end = covered.find(b">", covered.find(MARKER_OPENING))
    end -= covered[end - 1 : end] == b"/"
    digest = hashlib.sha256(covered).hexdigest().encode()
    return b'%s hash="sha256:%s"%s' % (covered[:end], digest, covered[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", type=Path)
    parser.add_argument("xml", type=Path)
    parser.add_argument("-o", "--output-dir", type=Path)
    arguments = parser.parse_args()
    machines, profiles = [], {}
    for path in sorted(arguments.specs.rglob("*.yaml")):
        with path.open("rb") as stream:
            document = yaml.load(stream, Loader=yaml.CSafeLoader)
        if document["kind"] == "Profile":
            profiles[document["metadata"]["name"]] = document["spec"]
        else:
            machines.append(document)
    for document in machines:
        document["spec"] = with_profiles(document["spec"], profiles)
    if arguments.output_dir:
        arguments.output_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(arguments.xml.glob("*.xml")):
        xml = hashed(path.read_bytes())
        if arguments.output_dir:
            (arguments.output_dir / path.name).write_bytes(xml)


if __name__ == "__main__":
    main()
