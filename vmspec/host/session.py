"""One plan against one host: read the host's facts and resources once, lower the specs
for that host, compare. What the CLI and the tests call.

Order, so that each step finds what it needs: pools and networks, then volumes,
then domains; deletions (--prune) come last, in the reverse order.
"""

from __future__ import annotations

import os
from typing import Any

from lxml import etree

from vmspec.compare.facts import host_facts
from vmspec.compare.model import Action, Kind, Options, Plan
from vmspec.host.connection import Host
from vmspec.host.graph import block_dependents, with_dependencies
from vmspec.host.inventory import read_live_domains
from vmspec.host.plan import desired_from_document, make_plan
from vmspec.host.plan_cache import PlanCache
from vmspec.host.references import (
    HostDevices,
    HostView,
    assigns_host_devices,
    check_references,
    is_local,
    read_host_devices,
)
from vmspec.host.resources import (
    WantedResource,
    overlapping_networks,
    owned_by,
    plan_resources,
    read_networks,
    read_pools,
)
from vmspec.host.volumes import (
    PoolView,
    WantedSeed,
    plan_volume_prune,
    plan_volumes,
    read_volumes,
)
from vmspec.load import SourceDocument
from vmspec.lower import policy
from vmspec.lower.network import lower_network
from vmspec.lower.pool import lower_storage_pool
from vmspec.lower.storage import wanted_volumes
from vmspec.scope import DEFAULT_SCOPE


def _host_devices(host: Host, uri: str, domains: list) -> HostDevices | None:
    """The host's devices, read only where a domain assigns one. libvirt's test driver
    has no PCI or USB devices to assign: its hostdevs are not checked."""
    if uri.startswith("test:") or not any(
        plan.desired and plan.desired.domain.devices and assigns_host_devices(plan.desired.domain)
        for plan in domains
    ):
        return None
    return host.call("listing the host's devices", None, read_host_devices)


def plan_documents(
    host: Host,
    documents: list[SourceDocument],
    options: Options,
    arriving: frozenset[str] = frozenset(),
) -> Plan:
    """The plan for ``documents`` on ``host``. Read-only: nothing on the host is
    refreshed, started or built, and only the pools the specs use are listed.
    ``arriving``: volumes (POOL/NAME) a move copies here before it defines their VM."""
    by_kind: dict[str, list[SourceDocument]] = {
        "VirtualMachine": [],
        "StoragePool": [],
        "Network": [],
    }
    for document in documents:
        by_kind[document.data["kind"]].append(document)
    capabilities = host.call("reading host capabilities", None, lambda c: c.getCapabilities())
    facts = host_facts(capabilities)
    uri = host.call("reading the URI", None, lambda c: c.getURI())
    local = is_local(uri)
    scope = options.scope

    pools = _wanted(Kind.POOL, by_kind["StoragePool"], lambda d: lower_storage_pool(d, scope.name))
    networks = _wanted(Kind.NETWORK, by_kind["Network"], lambda d: lower_network(d, scope.name))
    cache = PlanCache.for_host(uri, facts, options)
    live_domains = read_live_domains(host, cache.known_scope) if cache else read_live_domains(host)
    # Only to name the owner of a pool or network in a message: the markers suffice.
    known_scopes = {DEFAULT_SCOPE, scope.name} | {
        live.marked_scope for live in live_domains.values() if live.marked_scope
    }
    live_pools, live_networks = read_pools(host), read_networks(host)
    pool_plans = plan_resources(pools, live_pools, options, known_scopes)
    if local:
        _refuse_unusable_pool_paths(pool_plans, pools)
    network_plans = plan_resources(networks, live_networks, options, known_scopes)
    for name, other in overlapping_networks(networks, live_networks):
        for plan in network_plans:
            if plan.name == name and plan.action != Action.REFUSE:
                plan.action, plan.reason = (
                    Action.REFUSE,
                    f"its addresses overlap the network {other!r}",
                )

    machines = [d.data for d in by_kind["VirtualMachine"]]
    wanted = [
        (vm["metadata"]["name"], volume) for vm in machines for _, volume in wanted_volumes(vm)
    ]
    seeds = [_seed(vm) for vm in machines if "cloudInit" in vm["spec"]]
    used_pools = pools_the_specs_use(machines)
    owned_pools = [
        name for name, live in live_pools.items() if options.prune and owned_by(live, scope.name)
    ]
    views = _pool_views(host, uri, pools, pool_plans, live_pools, used_pools | set(owned_pools))
    volume_plans = plan_volumes(wanted, seeds, views, host)

    domain_plan = make_plan(
        uri,
        facts,
        [
            desired_from_document(d.data, d.file, facts, scope.name)
            for d in by_kind["VirtualMachine"]
        ],
        live_domains,
        options,
        cache,
    )
    if cache:
        cache.save(uri, live_domains)
    domains = [plan for plan in domain_plan.resources if plan.kind == Kind.DOMAIN]
    host_view = HostView(
        local=local,
        pools=views,
        networks={n.name for n in networks} | set(live_networks),
        planned_volumes={plan.name for plan in volume_plans} | arriving,
        host_devices=_host_devices(host, uri, domains),
    )
    for plan in domains:
        if plan.action != Action.DELETE:
            check_references(plan, host_view, {pool.name for pool in pools})
    creations = [
        plan
        for plan in (*pool_plans, *network_plans, *volume_plans)
        if plan.action != Action.DELETE
    ]
    deletions = [plan for plan in (*pool_plans, *network_plans) if plan.action == Action.DELETE]
    volume_deletions: list = []
    if options.prune:
        live_volumes = {name: views[name].volumes or {} for name in owned_pools}
        names = {(v.pool, v.name) for _, v in wanted} | {(s.pool, s.name) for s in seeds}
        volume_deletions = plan_volume_prune(
            owned_pools, names, live_volumes, options.delete_volumes
        )
        _keep_pools_holding_volumes(deletions, live_volumes, options)
        keep_what_domains_use(deletions, domains, live_domains)
    ordered = [
        *creations,
        *[p for p in domains if p.action != Action.DELETE],
        *[p for p in domains if p.action == Action.DELETE],
        *volume_deletions,
        *deletions,
    ]
    block_dependents(ordered)
    if options.targets:
        ordered = with_dependencies(ordered, options.targets)
    return Plan(uri, facts, ordered, scope)


def pools_the_specs_use(machines: list[dict[str, Any]]) -> set[str]:
    """The pools whose volumes a plan of these VM specs reads: where their volumes and
    seeds go, and where their disks are."""
    return {
        pool
        for vm in machines
        for pool in (
            *(volume.pool for _, volume in wanted_volumes(vm)),
            *((_seed(vm).pool,) if "cloudInit" in vm["spec"] else ()),
            *_disk_pools(vm),
        )
    }


def _disk_pools(vm: dict[str, Any]) -> set[str]:
    return {disk["volume"]["pool"] for disk in vm["spec"].get("disks", []) if "volume" in disk}


def _pool_views(
    host: Host,
    uri: str,
    pools: list[WantedResource],
    pool_plans: list,
    live_pools: dict,
    used: set[str],
) -> dict[str, PoolView]:
    """What the plan knows of each pool the specs use: its path and the volumes libvirt
    lists now, or None where they are known only after apply (the pool is created or
    started by it, or does not run)."""
    files = "here" if is_local(uri) else "none" if uri.startswith("test:") else "elsewhere"
    declared = {pool.name: pool.config for pool in pools}
    starting = {plan.name for plan in pool_plans if plan.action == Action.CREATE or plan.state}
    views = {}
    for name in sorted(set(declared) | set(live_pools)):
        config = declared.get(name) or live_pools[name].config
        if config is None:
            continue
        live = live_pools.get(name)
        listed = (
            read_volumes(host, name)
            if name in used and live is not None and live.active and name not in starting
            else None
        )
        views[name] = PoolView(
            name=name,
            path=config.target.path if config.target else "",
            volumes=listed,
            thick=config.type == "logical",
            files=files,
        )
    return views


def keep_what_domains_use(deletions: list, domains: list, live_domains: dict) -> None:
    """A network or pool that a domain which stays still uses is kept, and the plan
    says which domains use it."""
    leaving = {plan.name for plan in domains if plan.action == Action.DELETE}
    staying = [live for name, live in live_domains.items() if name not in leaving]
    users: dict[tuple[str, str], list[str]] = {}
    for live in staying:
        root = etree.fromstring(live.xml.encode())
        for network in root.xpath("devices/interface/source/@network"):
            users.setdefault((Kind.NETWORK, str(network)), []).append(live.name)
        for pool in root.xpath("devices/disk/source/@pool"):
            users.setdefault((Kind.POOL, str(pool)), []).append(live.name)
    for plan in domains:
        if (
            plan.action != Action.DELETE
            and plan.desired is not None
            and plan.desired.domain.devices
        ):
            devices = plan.desired.domain.devices
            for interface in devices.interfaces:
                if interface.source and interface.source.network:
                    users.setdefault((Kind.NETWORK, interface.source.network), []).append(plan.name)
            for disk in devices.disks:
                if disk.source and disk.source.pool:
                    users.setdefault((Kind.POOL, disk.source.pool), []).append(plan.name)
    for plan in deletions:
        using = sorted(set(users.get((plan.kind, plan.name), [])))
        if plan.action == Action.DELETE and using:
            plan.action, plan.reason = Action.NONE, None
            plan.notes.append(f"kept: {', '.join(using)} still use(s) it")


def _wanted(kind: Kind, documents: list[SourceDocument], lower: Any) -> list[WantedResource]:
    return [
        WantedResource(
            kind, d.data["metadata"]["name"], lower(d.data), d.data["spec"].get("autostart")
        )
        for d in documents
    ]


def _pool_path(pool: Any) -> str:
    return pool.target.path if pool.target else ""


def _seed(vm: dict[str, Any]) -> WantedSeed:
    # Imported here: pycdlib is needed only by specs with cloudInit.
    from vmspec.seed.nocloud import render_meta_data, render_user_data, seed_iso

    name = vm["metadata"]["name"]
    spec = vm["spec"]
    cloud_init = spec["cloudInit"]
    # cloud-init runs its first boot once per instance-id; the VM's name is a stable one.
    meta = {"instance-id": name, "local-hostname": name, **cloud_init.get("metaData", {})}
    network_config = cloud_init.get("networkConfig")
    content = seed_iso(
        render_user_data(cloud_init.get("userData", "#cloud-config\n")),
        render_meta_data(meta),
        render_user_data(network_config).removeprefix("#cloud-config\n")
        if network_config
        else None,
    )
    return WantedSeed(
        pool=policy.seed_pool(spec), name=policy.seed_volume_name(name), content=content, vm=name
    )


def _refuse_unusable_pool_paths(plans: list, pools: list[WantedResource]) -> None:
    """On a local host, a dir pool whose path is a file would fail to build: say so now."""
    for plan, pool in zip(plans, pools, strict=False):
        path = pool.config.target.path
        if (
            pool.config.type in ("dir", "netfs")
            and os.path.exists(path)
            and not os.path.isdir(path)
        ):
            plan.action, plan.reason = (
                Action.REFUSE,
                f"its path {path} exists and is not a directory",
            )


def _keep_pools_holding_volumes(deletions: list, live_volumes: dict, options: Options) -> None:
    for plan in deletions:
        held = live_volumes.get(plan.name, {})
        if plan.kind == Kind.POOL and held and not options.delete_volumes:
            plan.action, plan.reason = Action.NONE, None
            plan.notes.append(
                f"no spec names it, but it holds {len(held)} volume(s): kept (add --delete-volumes)"
            )
