"""Plan and apply across an inventory: every host reached in parallel through libvirt's
own transports, one plan per host, and the moves placement asks for.

A host that does not answer (refused, silent past the connect timeout, authentication
failed) is reported by name with libvirt's reason; the others are still planned and
applied. libvirt-python releases the GIL during calls, so threads suffice: hosts are
waited for together, not one after the other.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import libvirt
from lxml import etree

from vmspec.compare.model import Action, Kind, LiveDomain, Options, Plan, ResourcePlan
from vmspec.fleet.inventory import Inventory, InventoryHost, Reach
from vmspec.fleet.placement import HostView, Move, Skipped, place
from vmspec.host.connection import Host
from vmspec.host.destroy import plan_destroy
from vmspec.host.errors import HostError
from vmspec.host.move import VolumeFacts
from vmspec.host.session import plan_documents
from vmspec.load import SourceDocument
from vmspec.lower.storage import wanted_volumes


@dataclass(slots=True)
class HostPlan:
    """One host of the inventory: its plan, or why there is none."""

    host: InventoryHost
    plan: Plan | None = None
    error: str | None = None  # unreachable, or the plan failed
    connection: Host | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.host.name,
            "uri": self.host.uri,
            "reachable": self.error is None,
            "error": self.error,
            "plan": self.plan.to_json() if self.plan else None,
        }


@dataclass(frozen=True, slots=True)
class VolumeToMove:
    pool: str
    name: str
    allocation: int  # bytes the file takes: what a sparse copy sends, about
    format: str | None
    path: str  # on the source; a backing file has to be at this path on the target too
    backing_of: str | None = None  # the volume (POOL/NAME) whose backing file this is


@dataclass(slots=True)
class MovePlan:
    """A VM to move from ``source`` to ``target``: its volumes, and what defines it there."""

    name: str
    source: str
    target: str
    volumes: list[VolumeToMove] = field(default_factory=list)
    running: bool = False
    source_live: LiveDomain | None = None
    target_plan: ResourcePlan | None = None  # the VM as the target host would define it
    reason: str | None = None  # why it cannot move (refused)

    @property
    def bytes(self) -> int:
        return sum(volume.allocation for volume in self.volumes)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "from": self.source,
            "to": self.target,
            "bytes": self.bytes,
            "volumes": [f"{volume.pool}/{volume.name}" for volume in self.volumes],
            "running": self.running,
            "refused": self.reason,
        }


@dataclass(slots=True)
class FleetPlan:
    inventory: Inventory
    hosts: list[HostPlan]  # in the inventory's order
    moves: list[MovePlan]
    skipped: list[Skipped]
    chosen: dict[str, str]  # VM name → where placement put it, and why

    @property
    def has_changes(self) -> bool:
        return bool(self.moves) or any(
            h.plan is not None and h.plan.has_changes for h in self.hosts
        )

    @property
    def failed(self) -> bool:
        """Anything that keeps this run from converging: a host without a plan, a refused
        resource or move, a spec that could not be placed."""
        return (
            any(h.plan is None or h.plan.refused for h in self.hosts)
            or any(move.reason for move in self.moves)
            or bool(self.skipped)
        )

    def close(self) -> None:
        for host_plan in self.hosts:
            if host_plan.connection is not None:
                host_plan.connection.close()

    def to_json(self) -> dict[str, Any]:
        return {
            "formatVersion": 1,
            "inventory": self.inventory.file,
            "changes": self.has_changes,
            "hosts": [host_plan.to_json() for host_plan in self.hosts],
            "moves": [move.to_json() for move in self.moves],
            "notPlaced": [
                {"name": s.name, "kind": s.kind, "reason": s.reason} for s in self.skipped
            ],
            "placement": self.chosen,
        }


def plan_fleet(
    inventory: Inventory,
    documents: list[SourceDocument],
    options: Options,
    reach: Reach,
) -> tuple[FleetPlan, list]:
    """The plan of every host --limit keeps, and the problems of placements that name no
    host (located in their specs). Connections stay open in the plan, for apply."""
    host_plans = [HostPlan(host) for host in inventory.limited(reach.limit).hosts]
    with ThreadPoolExecutor(max_workers=reach.parallel) as pool:
        views = dict(
            zip(
                (h.host.name for h in host_plans),
                pool.map(lambda h: _connect(h, reach.connect_timeout), host_plans),
                strict=True,
            )
        )
        reached = {name: view for name, view in views.items() if view is not None}
        placement = place(documents, inventory, reached, {h.host.name for h in host_plans})
        by_name = {h.host.name: h for h in host_plans}
        moves = [_start_move(move, by_name) for move in placement.moves]
        arriving: dict[str, set[str]] = {}
        for move, move_plan in zip(placement.moves, moves, strict=True):
            # Both ends keep the VM's volumes named (no --prune takes them), and the
            # target expects the volumes the move copies.
            for end in (move.source, move.target):
                placement.documents[end].append(move.document)
            arriving.setdefault(move.target, set()).update(
                f"{volume.pool}/{volume.name}" for volume in move_plan.volumes
            )
        list(
            pool.map(
                lambda h: _plan_host(
                    h,
                    placement.documents[h.host.name],
                    options,
                    frozenset(arriving.get(h.host.name, ())),
                ),
                [h for h in host_plans if h.connection is not None],
            )
        )
    for move, move_plan in zip(placement.moves, moves, strict=True):
        _finish_move_plan(move_plan, move, by_name, options)
    fleet = FleetPlan(inventory, host_plans, moves, placement.skipped, placement.chosen)
    return fleet, placement.problems


def plan_fleet_destroy(
    inventory: Inventory,
    documents: list[SourceDocument],
    options: Options,
    reach: Reach,
) -> FleetPlan:
    """What destroy removes on every host --limit keeps: the specs' VMs wherever they are
    defined (placement aside: a VM is removed from the host it is on), and pools and
    networks where named with --target."""
    host_plans = [HostPlan(host) for host in inventory.limited(reach.limit).hosts]

    def plan_one(host_plan: HostPlan) -> None:
        if _connect(host_plan, reach.connect_timeout) is None:
            return
        try:
            host_plan.plan = plan_destroy(host_plan.connection, documents, options)
        except HostError as error:
            host_plan.error = str(error)

    with ThreadPoolExecutor(max_workers=reach.parallel) as pool:
        list(pool.map(plan_one, host_plans))
    return FleetPlan(inventory, host_plans, [], [], {})


def _connect(host_plan: HostPlan, timeout: float) -> HostView | None:
    try:
        host_plan.connection = Host(host_plan.host.uri, timeout=timeout)
        connection = host_plan.connection
        names = connection.call(
            "listing domains", None, lambda c: [d.name() for d in c.listAllDomains(0)]
        )
        free = connection.call("reading free memory", None, _free_memory)
    except HostError as error:
        host_plan.error = str(error)
        host_plan.connection = None
        return None
    return HostView(host_plan.host.name, free, frozenset(names))


def _free_memory(connection: libvirt.virConnect) -> int:
    """Free memory in bytes. From the node's memory stats: libvirt 9.0's session daemon
    (an unprivileged user's) exits on virNodeGetFreeMemory. The test driver has no stats;
    its node files give no free memory, only a total, which then stands in for it."""
    try:
        return connection.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)["free"] * 1024
    except libvirt.libvirtError as error:
        if error.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            raise
    return connection.getFreeMemory() or connection.getInfo()[1] * 2**20


def _plan_host(
    host_plan: HostPlan,
    documents: list[SourceDocument],
    options: Options,
    arriving: frozenset[str],
) -> None:
    try:
        host_plan.plan = plan_documents(host_plan.connection, documents, options, arriving)
    except HostError as error:
        host_plan.error = str(error)


def _start_move(move: Move, hosts: dict[str, HostPlan]) -> MovePlan:
    """A move's volumes, read on the source before the hosts are planned: the target's
    plan expects them."""
    plan = MovePlan(move.name, move.source, move.target)
    source, target = hosts[move.source].connection, hosts[move.target].connection
    try:
        xml = source.call(
            "reading the definition",
            move.name,
            lambda c: c.lookupByName(move.name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
        )
        plan.volumes = _volumes_of(source, xml, move)
        _check_target_pools(target, plan.volumes, move.target)
        _check_backing_paths(target, plan.volumes, move)
    except HostError as error:
        plan.reason = error.message
    return plan


def _finish_move_plan(
    plan: MovePlan, move: Move, hosts: dict[str, HostPlan], options: Options
) -> None:
    """Takes the VM's domain (and the volumes it creates) out of both hosts' plans: the
    move takes care of them. Says whether it may go."""
    source, target = hosts[move.source], hosts[move.target]
    if source.plan is None or target.plan is None:
        plan.reason = (
            plan.reason or f"{move.source if source.plan is None else move.target} has no plan"
        )
        return
    owned = {f"{volume.pool}/{volume.name}" for _, volume in wanted_volumes(move.document.data)}
    for end in (source, target):
        mine = [
            resource
            for resource in end.plan.resources
            if (resource.kind == Kind.DOMAIN and resource.name == move.name)
            or (resource.kind == Kind.VOLUME and resource.name in owned)
        ]
        for resource in mine:
            end.plan.resources.remove(resource)
        domain = next((r for r in mine if r.kind == Kind.DOMAIN), None)
        if end is source:
            plan.source_live = domain.live if domain else None
        else:
            plan.target_plan = domain
    if plan.reason:
        return
    if plan.source_live is None or plan.target_plan is None:
        plan.reason = "the VM could not be planned on both hosts"
    elif plan.target_plan.action in (Action.REFUSE, Action.BLOCKED):
        plan.reason = f"on {move.target}: {plan.target_plan.reason}"
    else:
        plan.running = plan.source_live.active


def _volumes_of(host: Host, xml: str, move: Move) -> list[VolumeToMove]:
    """The libvirt volumes behind the VM's disks (cdroms and empty drives aside)."""
    found = []
    for disk in etree.fromstring(xml.encode()).iterfind("devices/disk"):
        if disk.get("device") in ("cdrom", "floppy"):
            continue
        source = disk.find("source")
        path = source.get("file") or source.get("dev") if source is not None else None
        if source is not None and source.get("pool"):
            pool_name, volume_name = source.get("pool"), source.get("volume")
            volume = host.call(
                "finding a volume",
                move.name,
                lambda c, p=pool_name, v=volume_name: c.storagePoolLookupByName(
                    p
                ).storageVolLookupByName(v),
            )
        elif path:
            try:
                volume = host.connection.storageVolLookupByPath(path)
            except libvirt.libvirtError:
                raise HostError(
                    "planning the move",
                    f"the disk {path} is in no libvirt pool on {move.source}: "
                    "vmspec moves pool volumes only",
                    move.name,
                ) from None
        else:
            continue
        chain = [_volume_to_move(volume)]
        while (backing := VolumeFacts.of(volume).backing) is not None:
            volume = _backing_volume(host, backing, chain[-1], move)
            chain.append(_volume_to_move(volume, backing_of=chain[-1]))
        found.extend(reversed(chain))  # a backing file goes before the image it backs
    once: dict[tuple[str, str], VolumeToMove] = {}
    for volume in found:  # two overlays of one base: the base once, first
        once.setdefault((volume.pool, volume.name), volume)
    return list(once.values())


def _backing_volume(host: Host, path: str, image: VolumeToMove, move: Move) -> Any:
    """A backing file is copied too, to the same path: the image names it by path, and
    vmspec does not rewrite images (no rebase). So it must be a volume of a pool."""
    try:
        return host.connection.storageVolLookupByPath(path)
    except libvirt.libvirtError:
        raise HostError(
            "planning the move",
            f"the backing file {path} of {image.pool}/{image.name} is in no libvirt pool on "
            f"{move.source}: vmspec moves pool volumes only",
            move.name,
        ) from None


def _volume_to_move(volume: Any, backing_of: VolumeToMove | None = None) -> VolumeToMove:
    facts = VolumeFacts.of(volume)
    return VolumeToMove(
        volume.storagePoolLookupByVolume().name(),
        volume.name(),
        facts.allocation,
        facts.format,
        volume.path(),
        f"{backing_of.pool}/{backing_of.name}" if backing_of else None,
    )


def _check_target_pools(host: Host, volumes: list[VolumeToMove], host_name: str) -> None:
    for pool_name in sorted({volume.pool for volume in volumes}):
        try:
            pool = host.connection.storagePoolLookupByName(pool_name)
        except libvirt.libvirtError:
            raise HostError(
                "planning the move",
                f"{host_name} has no pool {pool_name!r} to copy its volumes into",
            ) from None
        if not pool.isActive():
            raise HostError(
                "planning the move", f"the pool {pool_name!r} on {host_name} is not running"
            )


def _check_backing_paths(target: Host, volumes: list[VolumeToMove], move: Move) -> None:
    """A backing file must be at the path its image names on the target: there already
    (apply checks that it holds the same data), or copied into a same-named pool that is
    at the same path there."""
    for volume in volumes:
        if volume.backing_of is None:
            continue
        try:
            target.connection.storageVolLookupByPath(volume.path)
            continue
        except libvirt.libvirtError:
            pass
        pool_path = etree.fromstring(
            target.connection.storagePoolLookupByName(volume.pool).XMLDesc(0)
        ).findtext("target/path")
        if f"{pool_path}/{volume.name}" != volume.path:
            raise HostError(
                "planning the move",
                f"{volume.backing_of} is backed by {volume.path}, which {move.target} lacks, "
                f"and the pool {volume.pool!r} is at {pool_path} there: put {volume.path} on "
                f"{move.target} first (vmspec does not rewrite the backing paths images name)",
            )
