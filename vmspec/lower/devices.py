"""Lowering of ``spec.disks``, ``spec.interfaces`` and the other devices into ``<devices>``."""

from __future__ import annotations

import dataclasses
from typing import Any

from vmspec.config.disk import (
    BackingStore,
    Disk,
    DiskDriver,
    DiskFormat,
    DiskSource,
    DiskTarget,
    SourceHost,
)
from vmspec.config.domain import Devices
from vmspec.families import Place, lowered_fields
from vmspec.families.family import Identity
from vmspec.lower import disk as disk_extras
from vmspec.lower import policy


def lower_devices(spec: dict[str, Any], identity: Identity) -> Devices:
    disks = tuple(_disk(disk, identity.uuid) for disk in spec.get("disks", []))
    if "cloudInit" in spec:
        disks += (_seed_disk(spec, identity.name),)
    return Devices(
        disks=disks,
        **lowered_fields(Place.DEVICES, spec, identity),
    )


def _disk(disk: dict[str, Any], domain_uuid: str) -> Disk:
    device = disk.get("device", "disk")
    source_type, source = _disk_source(disk)
    if source is not None and ("auth" in disk or "encryption" in disk):
        # In <source>, where formatdomain documents them today.
        source = dataclasses.replace(
            source,
            auth=disk_extras.auth(disk, domain_uuid),
            encryption=disk_extras.encryption(disk, domain_uuid),
        )
    backing = disk.get("backingStore")
    return Disk(
        type=source_type,
        device=device,
        driver=DiskDriver(
            name="qemu",
            type=policy.disk_format(disk),
            cache=disk.get("cache"),
            io=disk.get("io"),
            discard=disk.get("discard"),
        ),
        source=source,
        backing_store=_backing_store(backing) if backing else None,
        target=DiskTarget(dev=disk["target"], bus=policy.disk_bus(disk)),
        iotune=disk_extras.iotune(disk),
        # A cdrom is read-only whatever the spec says; libvirt would add this itself.
        readonly=disk.get("readonly", False) or device == "cdrom",
        serial=disk.get("serial"),
    )


def _seed_disk(spec: dict[str, Any], name: str) -> Disk:
    """The cloud-init NoCloud seed, attached read-only as a cdrom from its pool."""
    return Disk(
        type="volume",
        device="cdrom",
        driver=DiskDriver(name="qemu", type="raw"),
        source=DiskSource(pool=policy.seed_pool(spec), volume=policy.seed_volume_name(name)),
        target=DiskTarget(dev=policy.seed_target(spec), bus="sata"),
        readonly=True,
    )


def _disk_source(disk: dict[str, Any]) -> tuple[str, DiskSource | None]:
    if "file" in disk:
        return "file", DiskSource(file=disk["file"])
    if "block" in disk:
        return "block", DiskSource(dev=disk["block"])
    if "volume" in disk:
        volume = disk["volume"]
        return "volume", DiskSource(pool=volume["pool"], volume=volume["name"])
    if "network" in disk:
        network = disk["network"]
        hosts = tuple(
            SourceHost(name=host["name"], port=host.get("port")) for host in network["hosts"]
        )
        return "network", DiskSource(
            protocol=network["protocol"], name=network["name"], hosts=hosts
        )
    return "file", None  # an empty cdrom tray


def _backing_store(backing: dict[str, Any]) -> BackingStore:
    return BackingStore(
        type="file",
        format=DiskFormat(type=policy.backing_format(backing)),
        source=DiskSource(file=backing["file"]),
    )
