"""The disk family's policy: what vmspec writes where a disk's spec says nothing, and why
(``policy_defaults``: what ``vmspec explain`` shows, from the functions lowering calls)."""

from __future__ import annotations

from collections.abc import Iterator

from vmspec.families.family import Identity, PolicyDefault, Spec
from vmspec.problems import FieldPath

DEFAULT_DEVICE = "disk"
DEVICE_REASON = (
    "libvirt's own default (a plain disk), written out so that a normalized definition "
    "compares equal"
)
DEFAULT_BUS = "virtio"
BUS_REASON = "virtio-blk is the fastest bus every modern guest has drivers for"
FLOPPY_BUS = "fdc"
FLOPPY_BUS_REASON = "a floppy has one bus only, the floppy controller (fdc)"
# libvirt runs every disk through QEMU's block layer; the name is its only driver.
DRIVER_NAME = "qemu"
_UNPROBED = "libvirt never probes image formats (a guest could fake a header), so vmspec says one"
QCOW2_REASON = f"{_UNPROBED}: qcow2, as the image's name ends in .qcow2"
RAW_REASON = f"{_UNPROBED}: raw, as the image's name does not end in .qcow2"
CDROM_READONLY_REASON = "a cdrom is read-only whatever the spec says; libvirt would add it itself"
CREATE_FORMAT_REASON = "a volume vmspec creates has the format the disk reads it in"


def format_and_reason(name: str) -> tuple[str, str]:
    """The format of an image whose spec names none, by its file or volume name."""
    return ("qcow2", QCOW2_REASON) if name.endswith(".qcow2") else ("raw", RAW_REASON)


def disk_format(disk: Spec) -> str:
    if "format" in disk:
        return disk["format"]
    return format_and_reason(_image_name(disk))[0]


def bus_and_reason(disk: Spec) -> tuple[str, str]:
    if disk.get("device") == "floppy":
        return FLOPPY_BUS, FLOPPY_BUS_REASON
    return DEFAULT_BUS, BUS_REASON


def default_bus(disk: Spec) -> str:
    return bus_and_reason(disk)[0]


def backing_format(backing: Spec) -> str:
    # Same reason as disk_format: an unstated backing format would be read as raw.
    return backing.get("format") or format_and_reason(backing.get("file", ""))[0]


def created_format(disk: Spec) -> str:
    """The format of the volume ``volume.create`` makes (CREATE_FORMAT_REASON)."""
    return disk["volume"]["create"].get("format") or disk_format(disk)


def is_readonly(disk: Spec) -> bool:
    # CDROM_READONLY_REASON
    return disk.get("readonly", False) or disk.get("device") == "cdrom"


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, disk in enumerate(spec.get("disks", [])):
        where: FieldPath = ("spec", "disks", index)
        if "device" not in disk:
            yield PolicyDefault((*where, "device"), DEFAULT_DEVICE, DEVICE_REASON)
        if "bus" not in disk:
            yield PolicyDefault((*where, "bus"), *bus_and_reason(disk))
        if "format" not in disk:
            yield PolicyDefault((*where, "format"), *format_and_reason(_image_name(disk)))
        if "readonly" not in disk and is_readonly(disk):
            yield PolicyDefault((*where, "readonly"), True, CDROM_READONLY_REASON)
        yield from _backing_formats(disk.get("backingStore"), (*where, "backingStore"))
        create = disk.get("volume", {}).get("create")
        if create is not None and "format" not in create:
            path = (*where, "volume", "create", "format")
            yield PolicyDefault(path, created_format(disk), CREATE_FORMAT_REASON)


def _backing_formats(backing: Spec | None, where: FieldPath) -> Iterator[PolicyDefault]:
    while backing and ("file" in backing or "block" in backing):
        if "format" not in backing:
            yield PolicyDefault((*where, "format"), *format_and_reason(backing.get("file", "")))
        backing, where = backing.get("backingStore"), (*where, "backingStore")


def _image_name(disk: Spec) -> str:
    return disk.get("file") or disk.get("volume", {}).get("name") or ""
