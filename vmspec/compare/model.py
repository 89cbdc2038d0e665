"""The plan model, as plain data: the changes found between a spec and a host, and what
apply would do to each resource, and why. Building a plan and carrying it out are the
host side's (vmspec/host/plan.py, apply.py); nothing here talks to libvirt.

Actions, kinds and change classes are string enums: they print, compare and serialize
to JSON as the words they stand for ("create", "pool", "restart").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lxml import etree

from vmspec.compare.facts import HostFacts
from vmspec.config.domain import Domain
from vmspec.config.metadata import NAMESPACE, OwnershipMarker
from vmspec.config.xmlmap import XmlMappingError, from_element
from vmspec.families.disk.secrets import ManagedSecret
from vmspec.scope import DEFAULT_SCOPE, UNSCOPED, Scope


class ChangeClass(StrEnum):
    """When a change takes effect on a guest that runs."""

    LIVE = "live"  # a running guest can take it now (with --live)
    RESTART = "restart"  # at the next boot
    CONFIG = "config"  # only the stored definition cares


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    before: str | None  # None: absent
    after: str | None
    change_class: ChangeClass

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "from": self.before,
            "to": self.after,
            "class": self.change_class,
        }


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    ADOPT = "adopt"
    DELETE = "delete"
    REFUSE = "refuse"
    BLOCKED = "blocked"  # something it needs is refused or blocked: apply does not touch it
    NONE = "none"
    REPLACE = "replace"  # a volume: a seed rebuilt
    GROW = "grow"  # a volume: a disk made larger


NOT_CONVERGING = (Action.REFUSE, Action.BLOCKED)


class Kind(StrEnum):
    """What a resource plan is about; the order is the one --target's help names them in."""

    DOMAIN = "domain"
    POOL = "pool"
    NETWORK = "network"
    VOLUME = "volume"


@dataclass(frozen=True, slots=True)
class Options:
    prune: bool = False
    adopt: bool = False
    restart: bool = False
    live: bool = False
    force: bool = False
    delete_volumes: bool = False
    scope: Scope = UNSCOPED  # whose objects this run may touch
    targets: tuple[str, ...] = ()  # plan keys (KIND/NAME): only these and what they need
    cache: bool = True  # skip comparing what is unchanged since the last plan (plan_cache.py)


@dataclass(frozen=True, slots=True)
class PasswordSource:
    """Where a display's password comes from (never the password itself); reading it is
    the host side's (vmspec/host/secrets.py)."""

    graphics_type: str  # vnc | spice: one display of each kind at most
    file: str | None
    env: str | None

    @property
    def where(self) -> str:
        return f"passwordFile {self.file}" if self.file else f"passwordEnv {self.env}"


@dataclass(frozen=True, slots=True)
class Desired:
    """One spec, lowered for this host."""

    name: str
    file: str
    domain: Domain
    state: str | None  # running | stopped | None (power state not managed)
    autostart: bool | None  # None: not managed
    notes: tuple[str, ...] = ()
    passwords: tuple[PasswordSource, ...] = ()  # where display passwords come from (not them)
    secrets: tuple[ManagedSecret, ...] = ()  # the disks' secrets apply defines (not their values)
    spec_digest: str = ""  # of the document lowered: what the plan cache is keyed by


@dataclass(frozen=True, slots=True)
class LiveDomain:
    """A domain as the host has it now (read by vmspec/host/inventory.py).

    Its XML is parsed into config objects only when something asks for them: a plan
    whose cache shows the definition unchanged (vmspec/host/plan_cache.py) never does,
    and parsing is most of what a plan costs beyond libvirt's calls.
    """

    name: str
    uuid: str
    xml: str  # the inactive (persistent) definition
    active: bool
    autostart: bool
    running_xml: str | None = None  # what the running guest was started with, when active
    # The scope of vmspec's marker in this very XML, when a plan before found it equal
    # to a spec (the plan cache knows): then nothing needs parsing to know who owns it.
    known_scope: str | None = None
    # What was parsed so far ("definition", "running", "marker", "scope"): on first use.
    _parsed: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def domain(self) -> Domain | None:
        """None when the XML holds values the mapping cannot read."""
        return self._definition()[0]

    @property
    def uncovered(self) -> tuple[str, ...]:
        """XPaths of what the mapping does not cover."""
        return self._definition()[1]

    @property
    def running(self) -> Domain | None:
        if self.running_xml is None:
            return None
        if "running" not in self._parsed:
            self._parsed["running"] = parse_domain(self.running_xml)[0]
        return self._parsed["running"]

    def _definition(self) -> tuple[Domain | None, tuple[str, ...]]:
        if "definition" not in self._parsed:
            self._parsed["definition"] = parse_domain(self.xml)
        return self._parsed["definition"]

    @property
    def managed(self) -> bool:
        return self.scope is not None

    @property
    def scope(self) -> str | None:
        """The scope that owns it; None when vmspec does not manage it."""
        if self.known_scope is not None:
            return self.known_scope
        if "scope" not in self._parsed:
            self._parsed["scope"] = self._read_scope()
        return self._parsed["scope"]

    def _read_scope(self) -> str | None:
        if self.marked_scope is None:
            return None  # no marker, not vmspec's: no need to parse the whole definition
        domain = self.domain
        marker = domain.metadata.vmspec if domain and domain.metadata else None
        return (marker.scope or DEFAULT_SCOPE) if marker else None

    @property
    def marked_scope(self) -> str | None:
        """The scope vmspec's marker names, read without the config objects (None: no
        marker). Unlike ``scope``, it does not ask whether the definition reads fine."""
        if self.known_scope is not None:
            return self.known_scope
        if "marker" not in self._parsed:
            marker = ownership_marker(self.xml)
            self._parsed["marker"] = (
                None if marker is None else marker.get("scope") or DEFAULT_SCOPE
            )
        return self._parsed["marker"]

    @property
    def state(self) -> str:
        return "running" if self.active else "stopped"


def parse_domain(xml: str) -> tuple[Domain | None, tuple[str, ...]]:
    """``xml`` as config objects, and the XPaths of what the mapping does not cover."""
    uncovered: list[str] = []
    try:
        return from_element(Domain, etree.fromstring(xml.encode()), uncovered), tuple(uncovered)
    except XmlMappingError as error:
        return None, (error.xpath,)


def ownership_marker(xml: str) -> etree._Element | None:
    """vmspec's marker in a domain's ``<metadata>``, read without the config objects."""
    if NAMESPACE not in xml:
        return None  # most domains of a host are not vmspec's: no need to parse them
    return etree.fromstring(xml.encode()).find(f"metadata/{OwnershipMarker.TAG}")


@dataclass(slots=True)
class ResourcePlan:
    """What apply does to one resource: a domain, pool, network or volume."""

    name: str  # a volume's is POOL/NAME
    action: Action
    kind: Kind = Kind.DOMAIN
    changes: list[Change] = field(default_factory=list)
    drift: bool = False  # changed behind vmspec's back (the spec is what was last applied)
    state: tuple[str, str] | None = None  # (now, wanted)
    autostart: tuple[bool, bool] | None = None
    restart: str | None = None  # "needed" (pending) or "planned" (--restart)
    # What the running guest lacks that only a restart brings in (named, never a bare flag).
    restart_changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None  # why a domain is refused, or what delete keeps
    xml: bytes | None = None  # what apply defines (a domain's: before libvirt's allocations)
    domain: Domain | None = None  # a domain's config objects, of which xml is the bytes
    desired: Desired | None = None
    live: LiveDomain | None = None
    payload: bytes | None = None  # a seed ISO's bytes, to upload
    capacity: int | None = None  # a volume's wanted size in bytes
    # The keys (KIND/NAME) of the resources it needs: a volume its pool, a domain its
    # pools, volumes and networks. A refused or failed one blocks it.
    needs: tuple[str, ...] = ()
    # Why part of this plan is "known after apply": what it depends on does not exist
    # (or run) yet, so apply checks it again right before this step.
    known_after_apply: str | None = None
    owner: tuple[str, str] | None = None  # (from scope, to scope) when --adopt moves it
    # Apply calls it (with the host) right before this step: a volume's plan made again
    # against the pool as it is then (returned), or a domain's references checked again
    # (raises HostError).
    recheck: Callable[[Any], ResourcePlan | None] | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def has_changes(self) -> bool:
        return self.action not in (Action.NONE, *NOT_CONVERGING) or bool(
            self.state or self.autostart or self.restart == "planned"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "drift": self.drift,
            "changes": [change.to_json() for change in self.changes],
            "state": {"from": self.state[0], "to": self.state[1]} if self.state else None,
            "autostart": {"from": self.autostart[0], "to": self.autostart[1]}
            if self.autostart
            else None,
            "restart": self.restart,
            "restartChanges": [change.to_json() for change in self.restart_changes],
            "notes": self.notes,
            "reason": self.reason,
            "needs": list(self.needs),
            "knownAfterApply": self.known_after_apply,
            "owner": {"from": self.owner[0], "to": self.owner[1]} if self.owner else None,
        }


@dataclass(slots=True)
class Plan:
    uri: str
    facts: HostFacts
    resources: list[ResourcePlan]  # in apply order: pools and networks, volumes, domains
    scope: Scope = UNSCOPED

    @property
    def has_changes(self) -> bool:
        return any(plan.has_changes for plan in self.resources)

    @property
    def refused(self) -> list[ResourcePlan]:
        """What this plan cannot converge: refused, or blocked by something refused."""
        return [plan for plan in self.resources if plan.action in NOT_CONVERGING]

    def to_json(self) -> dict[str, Any]:
        return {
            "formatVersion": 1,
            "uri": self.uri,
            "scope": {"name": self.scope.name, "source": self.scope.source},
            "host": {"nested": self.facts.nested},
            "changes": self.has_changes,
            "resources": [plan.to_json() for plan in self.resources],
        }
