"""One plan against one host: read the host's facts and resources once, lower the specs
for that host, compare. What the CLI and the tests call.

Order, so that each step finds what it needs: pools and networks, then volumes,
then domains; deletions (--prune) come last, in the reverse order.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from vmspec.host.connection import Host
from vmspec.host.facts import host_facts
from vmspec.host.inventory import read_live_domains
from vmspec.host.plan import (
    DELETE,
    DOMAIN,
    NETWORK,
    NONE,
    POOL,
    REFUSE,
    Options,
    Plan,
    desired_from_document,
    make_plan,
)
from vmspec.host.resources import (
    WantedResource,
    overlapping_networks,
    plan_resources,
    read_networks,
    read_pools,
)
from vmspec.host.volumes import WantedSeed, plan_volume_prune, plan_volumes, read_volumes
from vmspec.load import SourceDocument
from vmspec.lower import policy
from vmspec.lower.identity import pool_uuid
from vmspec.lower.network import lower_network
from vmspec.lower.storage import lower_storage_pool, wanted_volumes


def plan_documents(host: Host, documents: list[SourceDocument], options: Options) -> Plan:
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

    pools = _wanted(POOL, by_kind["StoragePool"], lower_storage_pool)
    networks = _wanted(NETWORK, by_kind["Network"], lower_network)
    live_pools, live_networks = read_pools(host), read_networks(host)
    pool_plans = plan_resources(pools, live_pools, options)
    _refuse_unusable_pool_paths(pool_plans, pools, uri)
    network_plans = plan_resources(networks, live_networks, options)
    for name, other in overlapping_networks(networks, live_networks):
        for plan in network_plans:
            if plan.name == name and plan.action != REFUSE:
                plan.action, plan.reason = REFUSE, f"its addresses overlap the network {other!r}"

    machines = [d.data for d in by_kind["VirtualMachine"]]
    pool_paths = {name: _pool_path(pool.config) for name, pool in live_pools.items() if pool.config}
    pool_paths.update({pool.name: pool.config.target.path for pool in pools})
    live_volumes = {
        name: read_volumes(host, name) for name, pool in live_pools.items() if pool.active
    }
    wanted = [
        (vm["metadata"]["name"], volume) for vm in machines for _, volume in wanted_volumes(vm)
    ]
    seeds = [_seed(vm) for vm in machines if "cloudInit" in vm["spec"]]
    kinds = {name: pool.config.type for name, pool in live_pools.items() if pool.config}
    kinds.update({pool.name: pool.config.type for pool in pools})
    thick = {name for name, kind in kinds.items() if kind == "logical"}
    volume_plans = plan_volumes(wanted, seeds, pool_paths, live_volumes, host, thick)

    domain_plan = make_plan(
        uri,
        facts,
        [desired_from_document(d.data, d.file, facts) for d in by_kind["VirtualMachine"]],
        read_live_domains(host),
        options,
    )
    creations = [
        plan for plan in (*pool_plans, *network_plans, *volume_plans) if plan.action != DELETE
    ]
    deletions = [plan for plan in (*pool_plans, *network_plans) if plan.action == DELETE]
    volume_deletions: list = []
    if options.prune:
        owned = [
            name
            for name, pool in live_pools.items()
            if pool.uuid.lower() == pool_uuid(name) and pool.active
        ]
        names = {(v.pool, v.name) for _, v in wanted} | {(s.pool, s.name) for s in seeds}
        volume_deletions = plan_volume_prune(owned, names, live_volumes, options.delete_volumes)
        _keep_pools_holding_volumes(deletions, live_volumes, options)
    domains = [plan for plan in domain_plan.resources if plan.kind == DOMAIN]
    _refuse_missing_local_disks(domains, uri)
    ordered = [
        *creations,
        *[p for p in domains if p.action != DELETE],
        *[p for p in domains if p.action == DELETE],
        *volume_deletions,
        *deletions,
    ]
    return Plan(uri, facts, ordered)


def _wanted(kind: str, documents: list[SourceDocument], lower: Any) -> list[WantedResource]:
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


def _refuse_unusable_pool_paths(plans: list, pools: list[WantedResource], uri: str) -> None:
    """On a local host, a dir pool whose path is a file would fail to build: say so now."""
    if urlparse(uri).hostname not in (None, "", "localhost", "127.0.0.1"):
        return
    for plan, pool in zip(plans, pools, strict=False):
        path = pool.config.target.path
        if (
            pool.config.type in ("dir", "netfs")
            and os.path.exists(path)
            and not os.path.isdir(path)
        ):
            plan.action, plan.reason = REFUSE, f"its path {path} exists and is not a directory"


def _keep_pools_holding_volumes(deletions: list, live_volumes: dict, options: Options) -> None:
    for plan in deletions:
        held = live_volumes.get(plan.name, {})
        if plan.kind == POOL and held and not options.delete_volumes:
            plan.action, plan.reason = NONE, None
            plan.notes.append(
                f"no spec names it, but it holds {len(held)} volume(s): kept (add --delete-volumes)"
            )


def _refuse_missing_local_disks(plans: list, uri: str) -> None:
    """On a local host, a guest to be started whose disk file or device is missing would
    fail to start: refuse it now, before anything is defined."""
    if urlparse(uri).hostname not in (None, "", "localhost", "127.0.0.1") or uri.startswith(
        "test:"
    ):
        return
    for plan in plans:
        starting = plan.state is not None and plan.state[1] == "running"
        if (
            plan.action == REFUSE
            or not starting
            or plan.desired is None
            or plan.desired.domain.devices is None
        ):
            continue
        for disk in plan.desired.domain.devices.disks:
            path = disk.source.file or disk.source.dev if disk.source else None
            if path and not os.path.exists(path):
                target = disk.target.dev if disk.target else "?"
                plan.action, plan.reason = (
                    REFUSE,
                    f"disk {target}: {path} does not exist, so it could not start",
                )
                break
