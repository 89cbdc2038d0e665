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

from vmspec.compare.facts import HostFacts
from vmspec.config.domain import Domain
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


@dataclass(frozen=True, slots=True)
class LiveDomain:
    """A domain as the host has it now (read by vmspec/host/inventory.py)."""

    name: str
    uuid: str
    xml: str  # the inactive (persistent) definition
    domain: Domain | None  # None when the XML holds values the mapping cannot read
    uncovered: tuple[str, ...]  # XPaths of what the mapping does not cover
    active: bool
    autostart: bool
    running: Domain | None = None  # what the running guest was started with, when active

    @property
    def managed(self) -> bool:
        return bool(self.domain and self.domain.metadata and self.domain.metadata.vmspec)

    @property
    def scope(self) -> str | None:
        """The scope that owns it; None when vmspec does not manage it."""
        if not self.managed:
            return None
        return self.domain.metadata.vmspec.scope or DEFAULT_SCOPE

    @property
    def state(self) -> str:
        return "running" if self.active else "stopped"


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
