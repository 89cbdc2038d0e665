"""The volumes VirtualMachine disks ask to create (StoragePool documents: lower/pool.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmspec.units import size_in_kib

if TYPE_CHECKING:
    from vmspec.config.volume import StorageVolume


@dataclass(frozen=True, slots=True)
class WantedVolume:
    """A volume a VM's disk asks vmspec to create (``volume.create``)."""

    pool: str
    name: str
    capacity_bytes: int
    format: str
    backing_volume: str | None  # the name of a volume in the same pool

    def config(self, backing_path: str | None, *, thick: bool = False) -> StorageVolume:
        """The volume XML; the backing volume's path is the pool's to say (plan looks it up).
        ``thick``: allocate it all up front, for pools where thin means something else (LVM)."""
        # Imported here: the config classes import lxml, which a compile that takes every
        # VM from the compile cache does not otherwise need.
        from vmspec.config.volume import (
            StorageVolume,
            VolumeBackingStore,
            VolumeFormat,
            VolumeSize,
            VolumeTarget,
        )

        backing = None
        if self.backing_volume is not None:
            # qcow2 keeps the backing chain itself; its format is stated, never probed.
            backing = VolumeBackingStore(path=backing_path, format=VolumeFormat(type="qcow2"))
        return StorageVolume(
            name=self.name,
            capacity=VolumeSize(unit="bytes", value=self.capacity_bytes),
            # Thin: allocate nothing up front (qcow2 grows, raw is sparse where the pool allows).
            # In an LVM pool libvirt turns allocation 0 into a snapshot LV with a tiny
            # copy-on-write area that breaks once the guest writes more: allocate it all.
            allocation=VolumeSize(unit="bytes", value=self.capacity_bytes if thick else 0),
            target=VolumeTarget(format=VolumeFormat(type=self.format)),
            backing_store=backing,
        )


def wanted_volumes(document: dict[str, Any]) -> list[tuple[tuple[str | int, ...], WantedVolume]]:
    """(field path, volume) for each disk of a VM with ``volume.create``."""
    found = []
    for index, disk in enumerate(document["spec"].get("disks", [])):
        volume = disk.get("volume")
        if not volume or "create" not in volume:
            continue
        # Imported here, for a disk that creates a volume: it imports every family,
        # which a compile that takes every VM from the compile cache does not otherwise need.
        from vmspec.families.disk.policy import created_format

        create = volume["create"]
        volume_format = created_format(disk)
        found.append(
            (
                ("spec", "disks", index, "volume", "create"),
                WantedVolume(
                    pool=volume["pool"],
                    name=volume["name"],
                    capacity_bytes=size_in_kib(create["capacity"]) * 1024,
                    format=volume_format,
                    backing_volume=create.get("backingStore"),
                ),
            )
        )
    return found
