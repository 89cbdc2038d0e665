"""What a plan remembers between runs, so that a domain nobody changed costs no more
than reading it: for each domain of a host that the last full comparison found equal to
its spec, a digest of that spec (with everything else lowering and comparing depend on)
and a digest of libvirt's own XML of the domain as it was then.

A plan whose spec digest and XML digests both match skips parsing the live XML into
config objects and comparing it: the same spec against byte-identical XML, compared by
the same code, gives the same answer. Anything else (a `virsh edit`, a libvirt that
fills in something new, a running guest started from another definition, a spec or a
vmspec change) changes a digest, and the domain takes the full comparison. The cache is
never trusted beyond that: an unreadable, corrupt or foreign file counts as empty.

Where: ``$XDG_CACHE_HOME/vmspec/plan/`` (``~/.cache/vmspec/plan/``), one JSON file per
libvirt URI. ``VMSPEC_NO_CACHE=1`` (or ``Options(cache=False)``) bypasses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vmspec.compare.facts import HostFacts
from vmspec.compare.model import Desired, LiveDomain, Options
from vmspec.host.plan_memo import NO_CACHE_VARIABLE, cache_root, code_version

FORMAT = 1


def cache_directory() -> Path:
    return cache_root() / "plan"


def spec_digest(data: dict[str, Any]) -> str:
    """A digest of one spec document's data, as lowering reads it. Its repr: plain
    values (vmspec/load/source.py) print alike only when they are alike, types included
    (1 and "1" differ), and the keys keep the file's order, so the same file gives the
    same digest (another order only costs one full comparison)."""
    return hashlib.sha256(repr(data).encode()).hexdigest()


def xml_digest(xml: str | None) -> str:
    return hashlib.sha256(xml.encode()).hexdigest() if xml is not None else ""


class PlanCache:
    """The digests remembered for one host's domains, by domain name, as the vmspec
    that runs now wrote them (another version's file counts as empty)."""

    def __init__(self, path: Path, scope: str, context: str, entries: dict[str, list[str]]) -> None:
        self.path = path
        self.scope = scope
        self.context = context  # what, besides the spec, the comparison depended on
        # name: [spec key, inactive XML digest, running XML digest, scope]
        self.entries = entries
        self.scopes = {entry[1]: entry[3] for entry in entries.values()}
        self.changed = False
        # Each XML is digested once: a str caches its own hash, so the lookup is cheap.
        self._digests: dict[str, str] = {}

    @classmethod
    def for_host(cls, uri: str, facts: HostFacts, options: Options) -> PlanCache | None:
        """The cache of ``uri``'s plans, or None when caching is off."""
        if not options.cache or os.environ.get(NO_CACHE_VARIABLE):
            return None
        path = cache_directory() / f"{hashlib.sha256(uri.encode()).hexdigest()[:32]}.json"
        context = json.dumps(
            [
                facts.nested,
                sorted(facts.machine_aliases.items()),
                options.scope.name,
                options.live,  # which changes count as needing a restart
            ]
        )
        return cls(path, options.scope.name, context, _read_entries(path, uri))

    def known_scope(self, xml: str) -> str | None:
        """The scope of this exact XML's marker, when a plan found it equal to a spec."""
        return self.scopes.get(self._digest(xml))

    def unchanged(self, wanted: Desired, live: LiveDomain) -> bool:
        """Whether the last full comparison found ``live`` equal to this same spec."""
        return self.entries.get(wanted.name) == self._entry(wanted, live)

    def record(self, wanted: Desired, live: LiveDomain) -> None:
        """The full comparison found no change: remember what it compared."""
        entry = self._entry(wanted, live)
        if self.entries.get(wanted.name) != entry:
            self.entries[wanted.name] = entry
            self.changed = True

    def _entry(self, wanted: Desired, live: LiveDomain) -> list[str]:
        key = hashlib.sha256(f"{self.context}{wanted.spec_digest}".encode()).hexdigest()
        # Only a domain of this scope ever plans as unchanged: its scope is the plan's.
        return [key, self._digest(live.xml), self._digest(live.running_xml), self.scope]

    def _digest(self, xml: str | None) -> str:
        if xml is None:
            return ""
        if xml not in self._digests:
            self._digests[xml] = xml_digest(xml)
        return self._digests[xml]

    def save(self, uri: str, on_host: Iterable[str]) -> None:
        """Write the file whole under another name, then rename it: a reader sees the
        old file or the new one. A cache that cannot be written is only slower.
        ``on_host``: the names of the host's domains; the others' entries go."""
        kept = {name: self.entries[name] for name in on_host if name in self.entries}
        if not self.changed and len(kept) == len(self.entries):
            return
        self.entries = kept
        content = {"format": FORMAT, "code": code_version(), "uri": uri, "domains": self.entries}
        # Named by process and cache: two plans of one host at once (two commands, or
        # two threads of a fleet plan) each write their own. Not tempfile: it imports
        # shutil, bz2 and lzma, 2 ms of every plan's start.
        name = self.path.with_name(f".{self.path.name}.{os.getpid()}.{id(self)}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            name.write_text(json.dumps(content))
            os.replace(name, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                name.unlink()


def _read_entries(path: Path, uri: str) -> dict[str, list[str]]:
    try:
        content = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    # Another format, another vmspec, another URI (a hash collision of the file name):
    # nothing in it counts.
    if not isinstance(content, dict) or [
        content.get("format"),
        content.get("code"),
        content.get("uri"),
    ] != [FORMAT, code_version(), uri]:
        return {}
    domains = content.get("domains")
    if not isinstance(domains, dict):
        return {}
    return {
        name: entry
        for name, entry in domains.items()
        if isinstance(entry, list) and len(entry) == 4 and all(isinstance(x, str) for x in entry)
    }
