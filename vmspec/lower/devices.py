"""Lowering of ``<devices>``: every device family's own, and the cloud-init seed cdrom
after the disks."""

from __future__ import annotations

from typing import Any

from vmspec.config.domain import Devices
from vmspec.families import Place, lowered_fields
from vmspec.families.disk.config import Disk, DiskDriver, DiskSource, DiskTarget
from vmspec.families.family import Identity
from vmspec.lower import policy


def lower_devices(spec: dict[str, Any], identity: Identity) -> Devices:
    families = lowered_fields(Place.DEVICES, spec, identity)
    if "cloudInit" in spec:
        families["disks"] += (_seed_disk(spec, identity.name),)
    return Devices(**families)


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
