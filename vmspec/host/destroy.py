"""``vmspec destroy``: remove what the specs describe and this scope owns.

Domains are powered off and undefined (NVRAM and disks kept). Volumes the specs
create go only with --delete-volumes, and never while a domain that stays uses
them. Pools and networks go only when named with --target, and never while a
domain that stays uses them. Another scope's objects and objects vmspec does not
manage are left alone, and the plan says so.
"""

from __future__ import annotations

import dataclasses

from lxml import etree

from vmspec.compare.facts import host_facts
from vmspec.compare.model import Action, Kind, LiveDomain, Options, Plan, ResourcePlan
from vmspec.host.connection import Host
from vmspec.host.errors import HostError
from vmspec.host.inventory import read_live_domains
from vmspec.host.plan import plan_delete
from vmspec.host.resources import (
    LiveResource,
    owned_by,
    plan_resource_delete,
    read_networks,
    read_pools,
)
from vmspec.host.session import keep_what_domains_use
from vmspec.host.volumes import LiveVolume, read_volumes
from vmspec.load import SourceDocument
from vmspec.lower import policy
from vmspec.lower.storage import wanted_volumes


def plan_destroy(host: Host, documents: list[SourceDocument], options: Options) -> Plan:
    capabilities = host.call("reading host capabilities", None, lambda c: c.getCapabilities())
    uri = host.call("reading the URI", None, lambda c: c.getURI())
    live_domains = read_live_domains(host)
    targets, scope = set(options.targets), options.scope

    def targeted(key: str) -> bool:
        return not targets or key in targets

    machines = [d.data for d in documents if d.data["kind"] == "VirtualMachine"]
    domains = [
        _plan_domain(live_domains.get(vm["metadata"]["name"]), vm["metadata"]["name"], scope.name)
        for vm in machines
        if targeted(f"{Kind.DOMAIN}/{vm['metadata']['name']}")
    ]
    leaving = {plan.name for plan in domains if plan.action == Action.DELETE}
    if options.delete_volumes:
        for plan in domains:
            if plan.action == Action.DELETE:
                plan.reason = "disk files kept; the volumes its spec creates are listed below"
    staying = [live for name, live in live_domains.items() if name not in leaving]

    volumes: list[ResourcePlan] = []
    if options.delete_volumes:
        leaving_vms = [vm for vm in machines if vm["metadata"]["name"] in leaving]
        named = [
            (volume.pool, volume.name) for vm in leaving_vms for _, volume in wanted_volumes(vm)
        ] + [
            (policy.seed_pool(vm["spec"]), policy.seed_volume_name(vm["metadata"]["name"]))
            for vm in leaving_vms
            if "cloudInit" in vm["spec"]
        ]
        volumes = _plan_volumes(host, named, staying)

    resources: list[ResourcePlan] = []
    kinds = {"StoragePool": (Kind.POOL, read_pools), "Network": (Kind.NETWORK, read_networks)}
    for kind_name, (kind, read) in kinds.items():
        names = [
            d.data["metadata"]["name"]
            for d in documents
            if d.data["kind"] == kind_name and f"{kind}/{d.data['metadata']['name']}" in targets
        ]
        if names:
            live = read(host)
            resources += [_plan_resource(live.get(name), kind, name, scope.name) for name in names]
    keep_what_domains_use(resources, domains, live_domains)
    deleted_volumes = {plan.name for plan in volumes if plan.action == Action.DELETE}
    for plan in resources:
        if plan.kind == Kind.POOL and plan.action == Action.DELETE:
            held = [
                f"{plan.name}/{name}"
                for name in read_volumes(host, plan.name)
                if f"{plan.name}/{name}" not in deleted_volumes
            ]
            if held:
                plan.action, plan.reason = Action.NONE, None
                plan.notes.append(f"it holds {len(held)} volume(s) that stay: kept")
    return Plan(uri, host_facts(capabilities), [*domains, *volumes, *resources], scope)


def _plan_domain(live: LiveDomain | None, name: str, scope: str) -> ResourcePlan:
    if live is None:
        return ResourcePlan(name, Action.NONE, notes=["not on the host"])
    if live.scope != scope:
        owner = f"the scope {live.scope!r}" if live.scope else "no vmspec scope (made by hand)"
        return ResourcePlan(name, Action.NONE, notes=[f"it belongs to {owner}: left alone"])
    # Destroying a running guest powers it off: the confirmation is the consent.
    return plan_delete(live, dataclasses.replace(Options(), force=True))


def _plan_volumes(
    host: Host, named: list[tuple[str, str]], staying: list[LiveDomain]
) -> list[ResourcePlan]:
    listed: dict[str, dict[str, LiveVolume]] = {}
    plans = []
    for pool, name in named:
        if pool not in listed:
            try:
                listed[pool] = read_volumes(host, pool)
            except HostError:
                listed[pool] = {}  # a pool that is gone or stopped: nothing to delete in it
        volume = listed[pool].get(name)
        if volume is None:
            continue
        users = [live.name for live in staying if _uses(live, pool, name, volume.path)]
        plan = ResourcePlan(
            f"{pool}/{name}", Action.DELETE, kind=Kind.VOLUME, reason="--delete-volumes"
        )
        if users:
            plan.action, plan.reason = Action.NONE, None
            plan.notes.append(f"kept: {', '.join(sorted(users))} still use(s) it")
        plans.append(plan)
    return plans


def _uses(live: LiveDomain, pool: str, name: str, path: str) -> bool:
    root = etree.fromstring(live.xml.encode())
    for source in root.iterfind("devices/disk/source"):
        if (source.get("pool"), source.get("volume")) == (pool, name):
            return True
        if path and path in (source.get("file"), source.get("dev")):
            return True
    return False


def _plan_resource(live: LiveResource | None, kind: Kind, name: str, scope: str) -> ResourcePlan:
    if live is None:
        return ResourcePlan(name, Action.NONE, kind=kind, notes=["not on the host"])
    if not owned_by(live, scope):
        return ResourcePlan(
            name,
            Action.NONE,
            kind=kind,
            notes=[f"this scope ({scope!r}) did not create it: left alone"],
        )
    return plan_resource_delete(live)
