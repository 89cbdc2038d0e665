"""The floor compile_bench.py holds vmspec compile against: the least any YAML → XML tool
does with the same files. Parse every spec with PyYAML's C loader; read every XML file
vmspec wrote, parse and serialize it with lxml; with -o, also write it out.

    .venv/bin/python benchmarks/compile_floor.py SPECS_DIR XML_DIR [-o OUT_DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from lxml import etree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", type=Path)
    parser.add_argument("xml", type=Path)
    parser.add_argument("-o", "--output-dir", type=Path)
    arguments = parser.parse_args()
    for path in sorted(arguments.specs.rglob("*.yaml")):
        with path.open("rb") as stream:
            yaml.load(stream, Loader=yaml.CSafeLoader)
    if arguments.output_dir:
        arguments.output_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(arguments.xml.glob("*.xml")):
        xml = etree.tostring(etree.fromstring(path.read_bytes()))
        if arguments.output_dir:
            (arguments.output_dir / path.name).write_bytes(xml)


if __name__ == "__main__":
    main()
