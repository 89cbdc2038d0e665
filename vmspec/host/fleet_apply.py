"""Applying a fleet plan: each host's plan in parallel, then the moves, one at a time.

A move is cold and in this order, so that an apply stopped at any step can be run again
and converges, and no step leaves the VM defined on neither host or loses disk data:
shut the guest down on the source (only with --restart), copy each volume to the
same-named pool on the target through sparse streams and verify it, define (and start)
it on the target, and only then undefine it on the source. Source volumes are kept
unless --delete-volumes. A volume already on the target is used only when its data is
the source's; otherwise it is not overwritten and the move stops, naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager

import libvirt

from vmspec.compare.model import Action, Options, ResourcePlan
from vmspec.host.apply import DomainApplier, ResourceDone, apply_plan, resources_to_apply
from vmspec.host.connection import Host
from vmspec.host.errors import HostError
from vmspec.host.fleet import FleetPlan, HostPlan, MovePlan, VolumeToMove
from vmspec.host.move import CopyFailed, copy_volume, volume_checksum
from vmspec.host.plan import plan_delete

Report = Callable[[str], None]
# What shows a long copy's progress: (what is copied, bytes to send) → a context whose
# value takes the bytes sent so far. The CLI's draws a bar on a terminal only.
CopyProgress = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]
# What shows the hosts' progress: how many resources they apply → a context whose value
# is called with each one done, from the hosts' threads at once.
ResourceProgress = Callable[[int], AbstractContextManager[ResourceDone]]


@contextmanager
def no_progress(_label: str, _total: int) -> Iterator[Callable[[int], None]]:
    yield lambda _sent: None


@contextmanager
def no_resource_progress(_total: int) -> Iterator[ResourceDone]:
    yield lambda _resource_plan: None


def apply_fleet(
    fleet: FleetPlan,
    options: Options,
    report: Report,
    *,
    allow_move: bool,
    parallel: int,
    shutdown_timeout: float,
    progress: CopyProgress = no_progress,
    resource_progress: ResourceProgress = no_resource_progress,
) -> int:
    """Applies every host's plan, then the moves; returns how many things did not converge."""
    total = sum(len(resources_to_apply(h.plan)) for h in fleet.hosts if h.plan is not None)
    with resource_progress(total) as done, ThreadPoolExecutor(max(1, parallel)) as pool:
        outcomes = list(
            pool.map(lambda h: _apply_host(h, options, shutdown_timeout, done), fleet.hosts)
        )
    failures = 0
    for host_plan, (lines, failed) in zip(fleet.hosts, outcomes, strict=True):
        report(f"{host_plan.host.name} ({host_plan.host.uri}):")
        for line in lines:
            report(line)
        failures += failed
    hosts = {h.host.name: h for h in fleet.hosts}
    for move in fleet.moves:
        report(f"move {move.name}: {move.source} → {move.target}")
        if move.reason:
            report(f"  ! refused: {move.reason}")
            failures += 1
            continue
        refusal = _refusal(move, options, allow_move)
        if refusal:
            report(f"  ! refused: {refusal}")
            failures += 1
            continue
        try:
            carry_out_move(
                move, hosts, options, lambda line: report(f"  {line}"), shutdown_timeout, progress
            )
        except (HostError, CopyFailed) as error:
            report(f"  ! {error}")
            failures += 1
    return failures + len(fleet.skipped)


def _refusal(move: MovePlan, options: Options, allow_move: bool) -> str | None:
    if not allow_move:
        return "apply moves VMs between hosts only with --allow-move"
    if move.running and not options.restart:
        return f"it runs on {move.source}: moving it means shutting it down: add --restart"
    return None


def _apply_host(
    host_plan: HostPlan, options: Options, shutdown_timeout: float, done: ResourceDone
) -> tuple[list[str], int]:
    if host_plan.plan is None:
        return [f"! not applied: {host_plan.error}"], 1
    lines: list[str] = []
    plan = host_plan.plan
    if not plan.has_changes and not plan.refused:
        return ["no changes"], 0
    failures = apply_plan(
        host_plan.connection,
        plan,
        options,
        lines.append,
        shutdown_timeout=shutdown_timeout,
        done=done,
    )
    for refused in plan.refused:
        verb = "refused" if refused.action == Action.REFUSE else "blocked"
        lines.append(f"! {refused.name}: {verb}: {refused.reason}")
    return lines, len(failures) + len(plan.refused)


def carry_out_move(
    move: MovePlan,
    hosts: dict[str, HostPlan],
    options: Options,
    report: Report,
    shutdown_timeout: float,
    progress: CopyProgress = no_progress,
) -> None:
    source, target = hosts[move.source], hosts[move.target]
    source_host, target_host = source.connection, target.connection
    nested = target.plan.facts.nested if target.plan else False
    if _is_active(source_host, move.name):
        stopping = ResourcePlan(move.name, Action.NONE, live=move.source_live)
        DomainApplier(source_host, stopping, options, report, shutdown_timeout, nested).stop(
            reason=f"the move to {move.target}"
        )
    for volume in move.volumes:
        _copy(source_host, target_host, volume, move, report, progress)
    defining = move.target_plan
    if defining.known_after_apply and defining.recheck is not None:
        defining.recheck(target_host)  # its volumes are there now: check its references again
    if defining.has_changes:
        DomainApplier(target_host, defining, options, report, shutdown_timeout, nested).run()
    deleting = plan_delete(move.source_live, options)
    DomainApplier(source_host, deleting, options, report, shutdown_timeout, nested).run()
    if options.delete_volumes:
        # Its own volumes: a backing file may back other images on the source too.
        for volume in (volume for volume in move.volumes if volume.backing_of is None):
            source_host.call(
                f"deleting the volume {volume.pool}/{volume.name}",
                move.name,
                lambda c, v=volume: _lookup(c, v).delete(0),
            )
            report(f"volume {volume.pool}/{volume.name} deleted on {move.source}")
    report(f"moved to {move.target}")


# Beside a volume while it is being copied: found on a rerun, it says that the volume of
# that name on the target is this move's unfinished copy, which may be replaced.
COPYING_SUFFIX = ".vmspec-copying"


def _copy(
    source: Host,
    target: Host,
    volume: VolumeToMove,
    move: MovePlan,
    report: Report,
    progress: CopyProgress,
) -> None:
    label = f"{volume.pool}/{volume.name}"
    original = source.call(f"finding the volume {label}", move.name, lambda c: _lookup(c, volume))
    pool = target.call(
        f"finding the pool {volume.pool} on {move.target}",
        move.name,
        lambda c: c.storagePoolLookupByName(volume.pool),
    )
    there = (
        _volume_at(target.connection, volume.path)
        if volume.backing_of
        else _volume_named(pool, volume.name)
    )
    marker = _volume_named(pool, volume.name + COPYING_SUFFIX)
    if there is not None and marker is not None:
        report(f"volume {label}: an unfinished copy on {move.target}: copied again")
        target.call(
            f"deleting the unfinished copy of {label}", move.name, lambda c: there.delete(0)
        )
        there = None
    elif there is not None:
        same = target.call(
            f"reading the volume {label} on {move.target}",
            move.name,
            lambda c: volume_checksum(there),
        ) == source.call(
            f"reading the volume {label}", move.name, lambda c: volume_checksum(original)
        )
        if not same:
            raise HostError(
                "copying the volumes",
                f"{move.target} has a volume {label} already, with other data: not overwritten",
                move.name,
            )
        report(f"volume {label}: on {move.target} already, same data")
        return
    if marker is None:
        marker = target.call(
            f"marking the copy of {label}",
            move.name,
            lambda c: pool.createXML(
                f"<volume><name>{volume.name}{COPYING_SUFFIX}</name><capacity>0</capacity></volume>",
                0,
            ),
        )
    with progress(f"{label} → {move.target}", volume.allocation) as advance:
        copied = target.call(
            f"copying the volume {label}",
            move.name,
            lambda c: copy_volume(original, pool, advance),
        )
    target.call(f"marking the copy of {label} done", move.name, lambda c: marker.delete(0))
    rate = copied.sent / copied.seconds / 2**20 if copied.seconds else 0.0
    report(
        f"volume {label}: {copied.sent / 2**20:.1f} MiB sent in {copied.seconds:.2f} s "
        f"({rate:.0f} MiB/s), {copied.target.format or 'file'} of "
        f"{copied.target.capacity / 2**30:g} GiB, checksum verified"
    )


def _volume_at(connection: libvirt.virConnect, path: str):
    try:
        return connection.storageVolLookupByPath(path)
    except libvirt.libvirtError:
        return None


def _volume_named(pool, name: str):
    try:
        return pool.storageVolLookupByName(name)
    except libvirt.libvirtError:
        return None


def _lookup(connection: libvirt.virConnect, volume: VolumeToMove):
    return connection.storagePoolLookupByName(volume.pool).storageVolLookupByName(volume.name)


def _is_active(host: Host, name: str) -> bool:
    return bool(host.call("reading the state", name, lambda c: c.lookupByName(name).isActive()))
