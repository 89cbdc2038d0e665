"""The disk family's policy: what vmspec writes where a disk's spec says nothing, and why."""

from __future__ import annotations

from vmspec.families.family import Spec

# virtio-blk is the fastest bus every modern guest has drivers for.
DEFAULT_BUS = "virtio"
# A floppy has one bus only, the floppy controller.
FLOPPY_BUS = "fdc"
# libvirt runs every disk through QEMU's block layer; the name is its only driver.
DRIVER_NAME = "qemu"


def disk_format(disk: Spec) -> str:
    """libvirt never probes image formats (a guest could fake a header), so vmspec must say one:
    qcow2 for a ``.qcow2`` file or volume, raw otherwise."""
    if "format" in disk:
        return disk["format"]
    name = disk.get("file") or disk.get("volume", {}).get("name") or ""
    return "qcow2" if name.endswith(".qcow2") else "raw"


def default_bus(disk: Spec) -> str:
    return FLOPPY_BUS if disk.get("device") == "floppy" else DEFAULT_BUS


def backing_format(backing: Spec) -> str:
    # Same reason as disk_format: an unstated backing format would be read as raw.
    return backing.get("format") or (
        "qcow2" if backing.get("file", "").endswith(".qcow2") else "raw"
    )
