"""A plan: what apply would do to each domain, and why. Built from the specs and
the host's domains, read once; carrying it out is apply.py's job."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from vmspec.compare.diff import CONFIG, LIVE, RESTART, Change, changes_between
from vmspec.compare.facts import HostFacts
from vmspec.compare.normalize import normalize_live, normalize_running, unexplained
from vmspec.config.domain import Domain
from vmspec.config.metadata import OwnershipMarker
from vmspec.emit import domain_xml
from vmspec.host.errors import HostError
from vmspec.host.inventory import LiveDomain
from vmspec.host.secrets import PasswordSource, password_sources
from vmspec.lower import lower_virtual_machine
from vmspec.lower.identity import domain_uuid
from vmspec.lower.policy import chose_no_cpu_for_nested_kvm
from vmspec.scope import DEFAULT_SCOPE, UNSCOPED, Scope

CREATE, UPDATE, ADOPT, DELETE, REFUSE, BLOCKED, NONE = (
    "create",
    "update",
    "adopt",
    "delete",
    "refuse",
    "blocked",  # something it needs is refused or blocked: apply does not touch it
    "none",
)
NOT_CONVERGING = (REFUSE, BLOCKED)
NESTED_KVM_NOTE = (
    "cpu: none, because this host is itself a VM (its CPU has the 'hypervisor' flag) "
    "and host-model fails to start there ('failed to set MSR'); set spec.cpu to choose"
)


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
class Desired:
    """One spec, lowered for this host."""

    name: str
    file: str
    domain: Domain
    state: str | None  # running | stopped | None (power state not managed)
    autostart: bool | None  # None: not managed
    notes: tuple[str, ...] = ()
    passwords: tuple[PasswordSource, ...] = ()  # where display passwords come from (not them)


DOMAIN, POOL, NETWORK, VOLUME = "domain", "pool", "network", "volume"
REPLACE, GROW = "replace", "grow"  # volumes: a seed rebuilt, a disk made larger


@dataclass(slots=True)
class ResourcePlan:
    """What apply does to one resource: a domain, pool, network or volume."""

    name: str  # a volume's is POOL/NAME
    action: str
    kind: str = DOMAIN
    changes: list[Change] = field(default_factory=list)
    drift: bool = False  # changed behind vmspec's back (the spec is what was last applied)
    state: tuple[str, str] | None = None  # (now, wanted)
    autostart: tuple[bool, bool] | None = None
    restart: str | None = None  # "needed" (pending) or "planned" (--restart)
    # What the running guest lacks that only a restart brings in (named, never a bare flag).
    restart_changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None  # why a domain is refused, or what delete keeps
    xml: bytes | None = None  # what apply defines
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
    # Apply calls it right before this step: a volume's plan made again against the pool
    # as it is then (returned), or a domain's references checked again (raises HostError).
    recheck: Callable[[Any], ResourcePlan | None] | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def has_changes(self) -> bool:
        return self.action not in (NONE, *NOT_CONVERGING) or bool(
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


def desired_from_document(
    data: dict[str, Any], file: str, facts: HostFacts, scope: str = DEFAULT_SCOPE
) -> Desired:
    spec = data["spec"]
    notes = (
        (NESTED_KVM_NOTE,)
        if chose_no_cpu_for_nested_kvm(spec, nested_kvm_host=facts.nested)
        else ()
    )
    return Desired(
        name=data["metadata"]["name"],
        file=file,
        domain=lower_virtual_machine(data, nested_kvm_host=facts.nested, scope=scope),
        state=spec.get("state"),
        autostart=spec.get("autostart"),
        notes=notes,
        passwords=password_sources(spec),
    )


def make_plan(
    uri: str,
    facts: HostFacts,
    desired: list[Desired],
    live: dict[str, LiveDomain],
    options: Options,
) -> Plan:
    plans = [
        _plan_domain(wanted, live.get(wanted.name), live, facts, options) for wanted in desired
    ]
    wanted_names = {wanted.name for wanted in desired}
    for name, existing in sorted(live.items()):
        if name in wanted_names or existing.scope != options.scope.name:
            continue
        if options.prune:
            plans.append(plan_delete(existing, options))
    return Plan(uri, facts, plans)


def _plan_domain(
    wanted: Desired,
    existing: LiveDomain | None,
    all_live: dict[str, LiveDomain],
    facts: HostFacts,
    options: Options,
) -> ResourcePlan:
    plan = ResourcePlan(wanted.name, NONE, desired=wanted, live=existing, notes=list(wanted.notes))
    domain = wanted.domain
    for source in wanted.passwords:
        try:
            source.read(wanted.name)  # now, so that apply never stops halfway for a missing secret
        except HostError as error:
            return _refuse(plan, f"{error.operation} failed: {error.message}")
    if existing is None:
        clash = next((other for other in all_live.values() if other.uuid == domain.uuid), None)
        if clash is not None:
            return _refuse(plan, f"its uuid {domain.uuid} belongs to the domain {clash.name!r}")
        plan.action = CREATE
        plan.xml = domain_xml(domain)
        plan.state = ("stopped", "running") if wanted.state == "running" else None
        plan.autostart = (False, True) if wanted.autostart else None
        return plan

    if not existing.managed and not options.adopt:
        return _refuse(
            plan,
            f"a domain named {wanted.name!r} exists but vmspec does not manage it "
            "(use --adopt to take it over)",
        )
    scope = options.scope.name
    if existing.managed and existing.scope != scope:
        if not options.adopt:
            return _refuse(
                plan,
                f"it belongs to the scope {existing.scope!r}, not to {scope!r}; "
                f"to move it on purpose, apply with --adopt in the scope {scope!r}",
            )
        plan.owner = (existing.scope, scope)
    if existing.domain is None:
        return _refuse(plan, f"its definition cannot be read: {existing.uncovered[0]}")
    given_uuid = domain.uuid
    if given_uuid != existing.uuid.lower():
        spec_names_uuid = wanted.domain.uuid != domain_uuid(wanted.name)
        if spec_names_uuid:
            return _refuse(
                plan,
                f"the spec's uuid {given_uuid} differs from the domain's {existing.uuid}; "
                "libvirt cannot change a uuid in place",
            )
        # An adopted domain keeps its uuid: changing it would mean undefine + define.
        domain = dataclasses.replace(domain, uuid=existing.uuid.lower())

    normalized = normalize_live(domain, existing.domain, facts)
    plan.changes = changes_between(normalized, domain)
    plan.changes += [
        Change(xpath, "present", None, RESTART)
        for xpath in unexplained(
            existing.uncovered, efi=bool(domain.os and domain.os.firmware == "efi")
        )
    ]
    if not existing.managed or plan.owner:
        plan.action = ADOPT
    elif plan.changes:
        plan.action = UPDATE
        plan.drift = _spec_unchanged_since_last_apply(domain, existing)
    if plan.action != NONE:
        plan.xml = domain_xml(domain)

    if wanted.state and wanted.state != existing.state:
        plan.state = (existing.state, wanted.state)
    if wanted.autostart is not None and wanted.autostart != existing.autostart:
        plan.autostart = (existing.autostart, wanted.autostart)
    if existing.active and not plan.state:
        plan.restart_changes = _restart_changes(domain, existing, facts, options)
        if plan.restart_changes:
            plan.restart = "planned" if options.restart else "needed"
    return plan


def _restart_changes(
    domain: Domain, existing: LiveDomain, facts: HostFacts, options: Options
) -> list[Change]:
    """How the running guest differs from the spec in ways only a restart brings in.
    Compared with what the guest runs now, not with its definition, so a restart that
    an earlier apply left pending is still reported."""
    if existing.running is None:
        return []
    changes = changes_between(normalize_running(domain, existing.running, facts), domain)
    hot_pluggable = (LIVE,) if options.live else ()
    return [change for change in changes if change.change_class not in (CONFIG, *hot_pluggable)]


def _spec_unchanged_since_last_apply(domain: Domain, existing: LiveDomain) -> bool:
    marker = (
        existing.domain.metadata.vmspec if existing.domain and existing.domain.metadata else None
    )
    if marker is None or marker.hash is None:
        return False
    return _marker_hash(domain_xml(domain)) == marker.hash


def _marker_hash(xml: bytes) -> str | None:
    marker = etree.fromstring(xml).find(f"metadata/{OwnershipMarker.TAG}")
    return marker.get("hash") if marker is not None else None


def _refuse(plan: ResourcePlan, reason: str) -> ResourcePlan:
    plan.action = REFUSE
    plan.reason = reason
    return plan


def plan_delete(existing: LiveDomain, options: Options) -> ResourcePlan:
    plan = ResourcePlan(
        existing.name, DELETE, live=existing, reason="its disks and volumes are kept"
    )
    if existing.active:
        if not options.force:
            return _refuse(plan, "it is running; deleting it means powering it off: add --force")
        plan.state = ("running", "stopped")
    return plan
