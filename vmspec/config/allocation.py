"""What libvirt allocates for a device: its ``<address>`` on a bus, and the ``<alias>``
that names it (formatdomain "Device Addresses", "Devices": alias).

libvirt picks both at the first define (an address) or at start (an alias such as
``net0``); a user may also choose them (``ua-`` aliases, an address written by hand).
vmspec never writes an address, and an alias only where the spec names one (the
interface family's ``ua-`` alias for NIC teaming). The classes are here so that apply
keeps libvirt's choices by changing config objects (vmspec/host/preserve.py), and so
that comparing a spec with a live domain passes over them by rule
(vmspec/compare/normalize.py) instead of by leaving them unparsed.

An address is a tagged union on ``type``, one class per libvirt 9.0 address type
(domaincommon.rng, define ``address``). Every value is kept as libvirt writes it
(``slot='0x07'``, ``port='1.2'``), text for text, so an address carried over is the
same bytes libvirt gave.
"""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.xmlmap import ON_OFF, attr, child, config_class, discriminator

# libvirt keeps an alias in a definition only when it starts so: the user's own names.
USER_ALIAS_PREFIX = "ua-"


@config_class
class DeviceAlias:
    """``<alias name='...'/>``: libvirt's name of a device in a running guest (``net0``,
    ``virtio-disk0``), or a user's (``ua-...``), the only ones it keeps in a definition."""

    TAG: ClassVar[str] = "alias"
    name: str | None = attr("name")


@config_class
class Zpci:
    """An s390 PCI device's zPCI ids (uid and fid, in hex)."""

    TAG: ClassVar[str] = "zpci"
    uid: str | None = attr("uid")
    fid: str | None = attr("fid")


@config_class
class PciAddress:
    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "pci")
    domain: str | None = attr("domain")
    bus: str | None = attr("bus")
    slot: str | None = attr("slot")
    function: str | None = attr("function")
    multifunction: bool | None = attr("multifunction", codec=ON_OFF)
    zpci: Zpci | None = child()


@config_class
class DriveAddress:
    """A disk's place on an IDE, SATA, SCSI or floppy controller."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "drive")
    controller: str | None = attr("controller")
    bus: str | None = attr("bus")
    target: str | None = attr("target")
    unit: str | None = attr("unit")


@config_class
class VirtioSerialAddress:
    """A channel's or console's port on a virtio-serial controller."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "virtio-serial")
    controller: str | None = attr("controller")
    bus: str | None = attr("bus")
    port: str | None = attr("port")


@config_class
class CcidAddress:
    """A smartcard's slot on a CCID controller."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "ccid")
    controller: str | None = attr("controller")
    slot: str | None = attr("slot")


@config_class
class UsbAddress:
    """A USB device's bus and port (``1.2``: port 2 of the hub on port 1)."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "usb")
    bus: str | None = attr("bus")
    port: str | None = attr("port")


@config_class
class SpaprVioAddress:
    """A pSeries VIO device's register (its spapr-vio bus address)."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "spapr-vio")
    reg: str | None = attr("reg")


@config_class
class CcwAddress:
    """An s390 channel device's subchannel set and device number."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "ccw")
    cssid: str | None = attr("cssid")
    ssid: str | None = attr("ssid")
    devno: str | None = attr("devno")


@config_class
class IsaAddress:
    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "isa")
    iobase: str | None = attr("iobase")
    irq: str | None = attr("irq")


@config_class
class VirtioMmioAddress:
    """A virtio device on the memory-mapped transport (ARM and RISC-V ``virt``)."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "virtio-mmio")


@config_class
class DimmAddress:
    """A memory device's DIMM slot and base address."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "dimm")
    slot: str | None = attr("slot")
    base: str | None = attr("base")


@config_class
class UnassignedAddress:
    """A host device given to the guest on no bus at all (kept for later use)."""

    TAG: ClassVar[str] = "address"
    type: str = discriminator("type", "unassigned")


# libvirt 9.0 parses a virtio-s390 address too, but neither formats it nor takes it in its
# schema (s390 uses ccw): it has no class, and parsing reports it as uncovered.
Address = (
    PciAddress
    | DriveAddress
    | VirtioSerialAddress
    | CcidAddress
    | UsbAddress
    | SpaprVioAddress
    | CcwAddress
    | IsaAddress
    | VirtioMmioAddress
    | DimmAddress
    | UnassignedAddress
)


def allocated(cls: type) -> bool:
    """Whether a device class declares libvirt's allocations (``alias`` and ``address``)."""
    fields = getattr(cls, "__config_fields__", ())
    return "alias" in fields and "address" in fields


def is_users_alias(alias: DeviceAlias | None) -> bool:
    """An alias the user chose (``ua-...``), not one libvirt gave a running guest."""
    return bool(alias is not None and alias.name and alias.name.startswith(USER_ALIAS_PREFIX))
