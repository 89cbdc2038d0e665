"""Volumes: the disks VMs ask vmspec to create, and cloud-init seeds.

vmspec creates a volume that does not exist, grows one that is smaller than the
spec says, and otherwise leaves it alone: an existing volume is never recreated,
overwritten or shrunk, and deleted only with --prune --delete-volumes. A seed is
vmspec's own: it is rebuilt when its content changes.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

import libvirt
from lxml import etree

from vmspec.compare.model import Action, Kind, ResourcePlan
from vmspec.config.volume import StorageVolume, VolumeFormat, VolumeSize, VolumeTarget
from vmspec.emit import resource_xml
from vmspec.host.connection import Host
from vmspec.host.errors import HostError
from vmspec.lower.storage import WantedVolume

STREAM_CHUNK = 256 * 1024
REFRESH_ATTEMPTS = 20
REFRESH_PAUSE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class LiveVolume:
    name: str
    path: str
    capacity: int
    format: str | None


@dataclass(frozen=True, slots=True)
class WantedSeed:
    pool: str
    name: str
    content: bytes
    vm: str


@dataclass(frozen=True, slots=True)
class PoolView:
    """What a plan knows of a pool that volumes or disks use."""

    name: str
    path: str
    # The volumes libvirt lists now; None when they are known only after apply, because
    # the pool does not exist or run yet (this apply creates or starts it).
    volumes: dict[str, LiveVolume] | None
    thick: bool = False  # allocate in full (LVM)
    # Where its files are: "here" (a plan may look at them), "elsewhere" (a remote host:
    # the plan cannot), "none" (test:///, whose listing is all there is).
    files: str = "none"

    def may_hold(self, name: str) -> bool:
        """Whether a volume libvirt does not list may still be there, as a file copied by
        hand since the pool was last refreshed: apply refreshes the pool and finds it."""
        if self.files == "here":
            return os.path.isfile(os.path.join(self.path, name))
        return self.files == "elsewhere"


def read_volumes(host: Host, pool: str) -> dict[str, LiveVolume]:
    """The volumes an active pool lists now. Never refreshed here: a plan must not change
    the host, and refreshing a pool whose folder is gone stops it."""

    def listing(connection: libvirt.virConnect) -> dict[str, LiveVolume]:
        return _listing(connection.storagePoolLookupByName(pool))

    return host.call("listing volumes", pool, listing)


def volumes_at_apply(host: Host, pool: PoolView) -> dict[str, LiveVolume]:
    """Apply's view of a pool a plan could not fully see. A pool this apply started lists
    its folder already (starting scans it); a running one is refreshed first, so files
    added by hand are volumes too. A refresh is refused while another apply creates
    volumes in the pool ("asynchronous jobs running"): it is tried again shortly."""
    if pool.volumes is None:
        return host.call(
            "listing volumes", pool.name, lambda c: _listing(c.storagePoolLookupByName(pool.name))
        )

    def refreshed(connection: libvirt.virConnect) -> dict[str, LiveVolume]:
        handle = connection.storagePoolLookupByName(pool.name)
        handle.refresh(0)
        return _listing(handle)

    for _ in range(REFRESH_ATTEMPTS - 1):
        try:
            return host.call("refreshing the storage pool", pool.name, refreshed)
        except HostError as error:
            if "asynchronous jobs running" not in error.message:
                raise
            time.sleep(REFRESH_PAUSE_SECONDS)
    return host.call("refreshing the storage pool", pool.name, refreshed)


def _listing(handle: libvirt.virStoragePool) -> dict[str, LiveVolume]:
    if not handle.isActive():
        return {}
    found = {}
    for volume in handle.listAllVolumes(0):
        try:
            xml, capacity = volume.XMLDesc(0), volume.info()[1]
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
            # Listed while another apply still creates (or deleted) it: not there yet. Our
            # own create then finds it exists, which is the goal.
            continue
        target_format = etree.fromstring(xml.encode()).find("target/format")
        found[volume.name()] = LiveVolume(
            name=volume.name(),
            path=volume.path(),
            capacity=capacity,
            format=target_format.get("type") if target_format is not None else None,
        )
    return found


def plan_volumes(
    wanted: list[tuple[str, WantedVolume]],
    seeds: list[WantedSeed],
    pools: dict[str, PoolView],
    host: Host,
) -> list[ResourcePlan]:
    """``wanted``: (VM name, volume); ``pools``: every pool declared or on the host."""
    plans: list[ResourcePlan] = []
    created: set[tuple[str, str]] = set()
    for vm, volume in wanted:
        plan = plan_volume(vm, volume, pools, created)
        if plan.action == Action.CREATE:
            created.add((volume.pool, volume.name))
        plans.append(plan)
    plans.extend(plan_seed(seed, pools, host) for seed in seeds)
    return plans


def plan_volume(
    vm: str,
    volume: WantedVolume,
    pools: dict[str, PoolView],
    created: set[tuple[str, str]],
) -> ResourcePlan:
    plan = ResourcePlan(
        f"{volume.pool}/{volume.name}",
        Action.NONE,
        kind=Kind.VOLUME,
        capacity=volume.capacity_bytes,
        needs=(f"{Kind.POOL}/{volume.pool}",),
    )
    pool = pools.get(volume.pool)
    if pool is None:
        return _refuse(
            plan,
            f"its pool {volume.pool!r} (named by {vm}) is neither in the specs nor on the host",
        )
    plan.recheck = lambda host: _plan_again(host, vm, volume, pool, created)
    if pool.volumes is None:
        plan.action = Action.CREATE
        plan.known_after_apply = (
            f"the pool {volume.pool} does not run yet: its volumes are read once it does"
        )
        return plan
    existing = pool.volumes.get(volume.name)
    if existing is not None:
        if volume.capacity_bytes > existing.capacity:
            plan.action = Action.GROW
            plan.notes.append(f"capacity {existing.capacity} → {volume.capacity_bytes} bytes")
        elif volume.capacity_bytes < existing.capacity:
            return _refuse(
                plan,
                f"the spec asks for {volume.capacity_bytes} bytes but it holds {existing.capacity}: "
                "vmspec never shrinks a volume (data could be lost); raise the spec's capacity",
            )
        if existing.format and existing.format != volume.format:
            plan.notes.append(
                f"it is {existing.format}, not {volume.format}; an existing volume is never recreated"
            )
        return plan
    backing_path = None
    if volume.backing_volume is not None:
        backing = pool.volumes.get(volume.backing_volume)
        if backing is not None:
            backing_path = backing.path
        elif (volume.pool, volume.backing_volume) in created:
            backing_path = f"{pool.path}/{volume.backing_volume}"
        elif pool.may_hold(volume.backing_volume):
            plan.action = Action.CREATE
            plan.known_after_apply = (
                f"its backing volume {volume.backing_volume!r} is a file the pool has not "
                "listed yet: apply refreshes the pool first"
            )
            return plan
        else:
            return _refuse(
                plan,
                f"its backing volume {volume.backing_volume!r} is not in the pool {volume.pool!r}",
            )
    plan.action = Action.CREATE
    plan.xml = resource_xml(volume.config(backing_path, thick=pool.thick))
    return plan


def _plan_again(
    host: Host, vm: str, volume: WantedVolume, pool: PoolView, created: set[tuple[str, str]]
) -> ResourcePlan:
    """At apply, right before this step: the same plan, against the pool as it is now."""
    fresh = dataclasses.replace(pool, volumes=volumes_at_apply(host, pool), files="none")
    return plan_volume(vm, volume, {pool.name: fresh}, created)


def plan_seed(seed: WantedSeed, pools: dict[str, PoolView], host: Host) -> ResourcePlan:
    plan = ResourcePlan(
        f"{seed.pool}/{seed.name}",
        Action.NONE,
        kind=Kind.VOLUME,
        payload=seed.content,
        capacity=len(seed.content),
        needs=(f"{Kind.POOL}/{seed.pool}",),
    )
    pool = pools.get(seed.pool)
    if pool is None:
        return _refuse(
            plan,
            f"its pool {seed.pool!r} (the cloud-init seed of {seed.vm}) is neither in the specs nor on the host",
        )
    plan.xml = resource_xml(_seed_volume(seed))
    if pool.volumes is None:
        plan.action = Action.CREATE
        plan.known_after_apply = (
            f"the pool {seed.pool} does not run yet: its volumes are read once it does"
        )
        plan.recheck = lambda host: plan_seed(
            seed,
            {seed.pool: dataclasses.replace(pool, volumes=volumes_at_apply(host, pool))},
            host,
        )
        return plan
    existing = pool.volumes.get(seed.name)
    if existing is None:
        plan.action = Action.CREATE
    elif _download(host, seed.pool, seed.name) != seed.content:
        plan.action = Action.REPLACE
        plan.notes.append(
            f"the cloud-init data of {seed.vm} changed: the seed is rebuilt (first boot already happened for a running guest)"
        )
    return plan


def _seed_volume(seed: WantedSeed) -> StorageVolume:
    size = VolumeSize(unit="bytes", value=len(seed.content))
    return StorageVolume(
        name=seed.name,
        capacity=size,
        allocation=size,
        target=VolumeTarget(format=VolumeFormat(type="raw")),
    )


def plan_volume_prune(
    owned_pools: list[str],
    wanted: set[tuple[str, str]],
    live: dict[str, dict[str, LiveVolume]],
    delete_volumes: bool,
) -> list[ResourcePlan]:
    """Volumes in vmspec's pools that no spec names: deleted only with --delete-volumes."""
    plans = []
    for pool in owned_pools:
        for name in sorted(live.get(pool, {})):
            if (pool, name) in wanted:
                continue
            if delete_volumes:
                plans.append(
                    ResourcePlan(
                        f"{pool}/{name}", Action.DELETE, kind=Kind.VOLUME, reason="--delete-volumes"
                    )
                )
            else:
                plans.append(
                    ResourcePlan(
                        f"{pool}/{name}",
                        Action.NONE,
                        kind=Kind.VOLUME,
                        notes=["no spec names it; kept (add --delete-volumes to delete)"],
                    )
                )
    return plans


def _refuse(plan: ResourcePlan, reason: str) -> ResourcePlan:
    plan.action = Action.REFUSE
    plan.reason = reason
    return plan


def _download(host: Host, pool: str, name: str) -> bytes:
    """A volume's bytes through libvirt's stream: works on remote hosts too."""

    def download(connection: libvirt.virConnect) -> bytes:
        volume = connection.storagePoolLookupByName(pool).storageVolLookupByName(name)
        stream = connection.newStream(0)
        volume.download(stream, 0, 0, 0)
        chunks = []
        while True:
            chunk = stream.recv(STREAM_CHUNK)
            if not chunk or not isinstance(chunk, bytes):
                break
            chunks.append(chunk)
        stream.finish()
        return b"".join(chunks)

    return host.call("reading the seed", f"{pool}/{name}", download)


def apply_volume(host: Host, plan: ResourcePlan) -> str:
    if plan.known_after_apply and plan.recheck is not None:
        plan = plan.recheck(host)
        if plan.action == Action.REFUSE:
            raise HostError("checking the volume", plan.reason, plan.name)
        if plan.action == Action.NONE:
            return "exists already"
    pool, name = plan.name.split("/", 1)

    def on_pool(action):
        return lambda connection: action(connection, connection.storagePoolLookupByName(pool))

    if plan.action in (Action.REPLACE, Action.DELETE):
        host.call(
            "deleting the volume",
            plan.name,
            on_pool(lambda _c, p: p.storageVolLookupByName(name).delete(0)),
        )
        if plan.action == Action.DELETE:
            return "deleted"
    if plan.action in (Action.CREATE, Action.REPLACE):
        try:
            host.call(
                "creating the volume",
                plan.name,
                on_pool(lambda _c, p: p.createXML(plan.xml.decode(), 0)),
            )
        except HostError as error:
            if error.code != libvirt.VIR_ERR_STORAGE_VOL_EXIST:
                raise
            # Another apply of the same specs made it between our plan and now: the
            # goal is met (a seed's content is checked again by the next plan).
            return "exists already (created meanwhile by another apply)"
        if plan.payload is not None:
            host.call(
                "uploading the seed",
                plan.name,
                on_pool(lambda c, p: _upload(c, p.storageVolLookupByName(name), plan.payload)),
            )
        return "replaced" if plan.action == Action.REPLACE else "created"
    if plan.action == Action.GROW:
        return _grow(host, plan, on_pool(lambda _c, p: p.storageVolLookupByName(name)))
    raise HostError("applying", f"unknown volume action {plan.action}", plan.name)


def _grow(host: Host, plan: ResourcePlan, lookup) -> str:
    """Resize to the spec's capacity. A volume that another apply is still creating looked
    small to the plan: once allocated it may be as large as asked already."""
    for _ in range(REFRESH_ATTEMPTS):
        try:
            capacity = host.call("reading the volume", plan.name, lambda c: lookup(c).info()[1])
            if capacity >= plan.capacity:
                return "as large as asked already (made meanwhile by another apply)"
            host.call("growing the volume", plan.name, lambda c: lookup(c).resize(plan.capacity, 0))
            return "grown"
        except HostError as error:
            if "still being allocated" not in error.message:
                raise
            time.sleep(REFRESH_PAUSE_SECONDS)
    raise HostError("growing the volume", "it is still being allocated", plan.name)


def _upload(connection: libvirt.virConnect, volume: libvirt.virStorageVol, content: bytes) -> None:
    stream = connection.newStream(0)
    volume.upload(stream, 0, len(content), 0)
    for start in range(0, len(content), STREAM_CHUNK):
        stream.send(content[start : start + STREAM_CHUNK])
    stream.finish()
