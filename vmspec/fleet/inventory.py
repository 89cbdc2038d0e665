"""``kind: Inventory``: the hosts one repo describes, and the rules the schema cannot state."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from vmspec.problems import Finding

INVENTORY = "Inventory"


@dataclass(frozen=True, slots=True)
class Reach:
    """How a run reaches the hosts of an inventory (--limit, --parallel, --connect-timeout)."""

    limit: tuple[str, ...] = ()  # shell patterns of host names; none: every host
    parallel: int = 4  # hosts at once (libvirt-python releases the GIL during calls)
    connect_timeout: float = 10.0  # seconds a host may take to answer


@dataclass(frozen=True, slots=True)
class InventoryHost:
    name: str
    uri: str
    labels: dict[str, str] = field(default_factory=dict)

    def matches(self, selector: dict[str, str]) -> bool:
        return all(self.labels.get(label) == value for label, value in selector.items())


@dataclass(frozen=True, slots=True)
class Inventory:
    file: str
    hosts: tuple[InventoryHost, ...]  # in the inventory's order: plans list hosts so

    @classmethod
    def from_spec(cls, file: str, spec: dict[str, Any]) -> Inventory:
        return cls(
            file,
            tuple(
                InventoryHost(host["name"], host["uri"], dict(host.get("labels", {})))
                for host in spec["hosts"]
            ),
        )

    def limited(self, patterns: tuple[str, ...]) -> Inventory:
        """The hosts whose name matches one of ``patterns`` (shell style: ``kvm-0*``)."""
        if not patterns:
            return self
        kept = tuple(
            host
            for host in self.hosts
            if any(fnmatch.fnmatchcase(host.name, pattern) for pattern in patterns)
        )
        return Inventory(self.file, kept)

    def named(self, name: str) -> InventoryHost | None:
        return next((host for host in self.hosts if host.name == name), None)


def inventory_checks(spec: dict[str, Any]) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, host in enumerate(spec["hosts"]):
        where = ("spec", "hosts", index)
        if host["name"] in seen:
            yield Finding((*where, "name"), f"the host name {host['name']!r} is used twice")
        seen.add(host["name"])
        # A password in a URI ends up in shell history, logs and this repo: libvirt reads
        # credentials from auth.conf, SASL or ssh keys instead.
        if urlsplit(host["uri"]).password is not None:
            yield Finding(
                (*where, "uri"),
                "the URI holds a password: leave it out and let libvirt find the credentials "
                "(auth.conf, SASL, an ssh key)",
            )
