"""A plan: what apply would do to each domain, and why. Built from the specs and
the host's domains, read once, into the model of vmspec/compare/model.py; carrying it
out is apply.py's job."""

from __future__ import annotations

import dataclasses
from typing import Any

from lxml import etree

from vmspec.compare.diff import changes_between
from vmspec.compare.facts import HostFacts
from vmspec.compare.model import (
    Action,
    Change,
    ChangeClass,
    Desired,
    LiveDomain,
    Options,
    Plan,
    ResourcePlan,
)
from vmspec.compare.normalize import normalize_live, normalize_running, unexplained
from vmspec.config.domain import Domain
from vmspec.config.metadata import OwnershipMarker
from vmspec.emit import domain_xml
from vmspec.families.cpu import chose_no_cpu_for_nested_kvm
from vmspec.families.disk.secrets import managed_secrets
from vmspec.host.errors import HostError
from vmspec.host.plan_cache import PlanCache, spec_digest
from vmspec.host.secrets import password_sources, read_disk_secret, read_password
from vmspec.lower import lower_virtual_machine
from vmspec.lower.identity import domain_uuid
from vmspec.scope import DEFAULT_SCOPE

NESTED_KVM_NOTE = (
    "cpu: none, because this host is itself a VM (its CPU has the 'hypervisor' flag) "
    "and host-model fails to start there ('failed to set MSR'); set spec.cpu to choose"
)


def desired_from_document(
    data: dict[str, Any], file: str, facts: HostFacts, scope: str = DEFAULT_SCOPE
) -> Desired:
    spec = data["spec"]
    notes = (
        (NESTED_KVM_NOTE,)
        if chose_no_cpu_for_nested_kvm(spec, nested_kvm_host=facts.nested)
        else ()
    )
    domain = lower_virtual_machine(data, nested_kvm_host=facts.nested, scope=scope)
    return Desired(
        name=data["metadata"]["name"],
        file=file,
        domain=domain,
        state=spec.get("state"),
        autostart=spec.get("autostart"),
        notes=notes,
        passwords=password_sources(spec),
        secrets=managed_secrets(spec, data["metadata"]["name"], domain.uuid),
        spec_digest=spec_digest(data),
    )


def make_plan(
    uri: str,
    facts: HostFacts,
    desired: list[Desired],
    live: dict[str, LiveDomain],
    options: Options,
    cache: PlanCache | None = None,
) -> Plan:
    plans = [
        _plan_domain(wanted, live.get(wanted.name), live, facts, options, cache)
        for wanted in desired
    ]
    wanted_names = {wanted.name for wanted in desired}
    for name, existing in sorted(live.items()) if options.prune else ():
        # The marker first: a domain of another scope, or nobody's, is not parsed.
        if name in wanted_names or existing.marked_scope != options.scope.name:
            continue
        if existing.scope == options.scope.name:
            plans.append(plan_delete(existing, options))
    return Plan(uri, facts, plans)


def _plan_domain(
    wanted: Desired,
    existing: LiveDomain | None,
    all_live: dict[str, LiveDomain],
    facts: HostFacts,
    options: Options,
    cache: PlanCache | None = None,
) -> ResourcePlan:
    plan = ResourcePlan(
        wanted.name, Action.NONE, desired=wanted, live=existing, notes=list(wanted.notes)
    )
    domain = wanted.domain
    for source in wanted.passwords:
        try:
            read_password(
                source, wanted.name
            )  # now, so that apply never stops halfway for a missing secret
        except HostError as error:
            return _refuse(plan, f"{error.operation} failed: {error.message}")
    for secret in wanted.secrets:
        try:
            read_disk_secret(secret)  # the same: a missing value stops the plan, not apply
        except HostError as error:
            return _refuse(plan, f"{error.operation} failed: {error.message}")
    if existing is None:
        clash = next((other for other in all_live.values() if other.uuid == domain.uuid), None)
        if clash is not None:
            return _refuse(plan, f"its uuid {domain.uuid} belongs to the domain {clash.name!r}")
        plan.action = Action.CREATE
        plan.xml, plan.domain = domain_xml(domain), domain
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
    if cache is not None and not plan.owner and cache.unchanged(wanted, existing):
        # The same spec against the same XML as the last full comparison, which found
        # nothing to change in the definition nor in the running guest.
        _plan_power(plan, wanted, existing)
        return plan
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
        Change(xpath, "present", None, ChangeClass.RESTART)
        for xpath in unexplained(
            existing.uncovered, efi=bool(domain.os and domain.os.firmware == "efi")
        )
    ]
    if not existing.managed or plan.owner:
        plan.action = Action.ADOPT
    elif plan.changes:
        plan.action = Action.UPDATE
        plan.drift = _spec_unchanged_since_last_apply(domain, existing)
    if plan.action != Action.NONE:
        plan.xml, plan.domain = domain_xml(domain), domain

    _plan_power(plan, wanted, existing)
    if existing.active and not plan.state:
        plan.restart_changes = _restart_changes(domain, existing, facts, options)
        if plan.restart_changes:
            plan.restart = "planned" if options.restart else "needed"
    if cache is not None and plan.action == Action.NONE and not plan.restart_changes:
        cache.record(wanted, existing)
    return plan


def _plan_power(plan: ResourcePlan, wanted: Desired, existing: LiveDomain) -> None:
    """Whether apply starts or stops the domain, and turns its autostart on or off."""
    if wanted.state and wanted.state != existing.state:
        plan.state = (existing.state, wanted.state)
    if wanted.autostart is not None and wanted.autostart != existing.autostart:
        plan.autostart = (existing.autostart, wanted.autostart)


def _restart_changes(
    domain: Domain, existing: LiveDomain, facts: HostFacts, options: Options
) -> list[Change]:
    """How the running guest differs from the spec in ways only a restart brings in.
    Compared with what the guest runs now, not with its definition, so a restart that
    an earlier apply left pending is still reported."""
    if existing.running is None:
        return []
    changes = changes_between(normalize_running(domain, existing.running, facts), domain)
    hot_pluggable = (ChangeClass.LIVE,) if options.live else ()
    return [
        change
        for change in changes
        if change.change_class not in (ChangeClass.CONFIG, *hot_pluggable)
    ]


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
    plan.action = Action.REFUSE
    plan.reason = reason
    return plan


def plan_delete(existing: LiveDomain, options: Options) -> ResourcePlan:
    plan = ResourcePlan(
        existing.name, Action.DELETE, live=existing, reason="its disks and volumes are kept"
    )
    if existing.active:
        if not options.force:
            return _refuse(plan, "it is running; deleting it means powering it off: add --force")
        plan.state = ("running", "stopped")
    return plan
