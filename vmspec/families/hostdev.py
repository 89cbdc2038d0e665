"""``<hostdev>``: a device of the host's given to the guest (formatdomain "Host device
assignment"): a PCI function (VFIO), a USB device, a mediated device (a slice of a
vGPU, created on the host beforehand), a SCSI LUN, or a vhost-scsi target of the host's
kernel (``type='scsi_host'``). The device's place in the boot order is ``boot``, as it
is for disks and NICs (``boot_order_findings`` checks them together).

The spec is a tagged union, one key per source (``pci``, ``usb``, ``mdev``, ``scsi``,
``scsiHost``). The config side is one class for all: libvirt tells them apart by the
hostdev's ``type``, and
the mapping engine binds one config class per child tag, so it cannot yet pick the
class of ``<source>`` by an attribute of its parent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, ClassVar

from vmspec.arches import spec_arch
from vmspec.config.allocation import USER_ALIAS_PREFIX, Address, DeviceAlias
from vmspec.config.xmlmap import ON_OFF, attr, child, config_class, flag
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding
from vmspec.yaml_text import HexInt


@config_class
class HostdevAddress:
    """``<source><address>``: PCI ``domain bus slot function``, USB ``bus device``, a
    SCSI LUN's ``bus target unit``, or a mediated device's ``uuid``."""

    TAG: ClassVar[str] = "address"
    domain: str | None = attr("domain")
    bus: str | None = attr("bus")
    slot: str | None = attr("slot")
    function: str | None = attr("function")
    device: str | None = attr("device")
    target: str | None = attr("target")
    unit: str | None = attr("unit")
    uuid: str | None = attr("uuid")


@config_class
class UsbId:
    """``<vendor id=.../>`` or ``<product id=.../>``."""

    TAG: ClassVar[str] = "vendor"
    id: str | None = attr("id")


@config_class
class ScsiAdapter:
    """``<source><adapter name='scsi_hostN'/>``: the host's SCSI host bus adapter."""

    TAG: ClassVar[str] = "adapter"
    name: str | None = attr("name")


@config_class
class HostdevSource:
    TAG: ClassVar[str] = "source"
    protocol: str | None = attr("protocol")  # scsi_host: vhost, the only one
    wwpn: str | None = attr("wwpn")
    startup_policy: str | None = attr("startupPolicy")  # usb
    guest_reset: str | None = attr("guestReset")  # usb
    vendor: UsbId | None = child("vendor")
    product: UsbId | None = child("product")
    adapter: ScsiAdapter | None = child()
    address: HostdevAddress | None = child()


@config_class
class HostdevDriver:
    TAG: ClassVar[str] = "driver"
    name: str | None = attr("name")


@config_class
class Rom:
    TAG: ClassVar[str] = "rom"
    enabled: bool | None = attr("enabled")
    bar: bool | None = attr("bar", codec=ON_OFF)
    file: str | None = attr("file")


@config_class
class BootOrder:
    """``<boot order='N'/>`` of one device (formatdomain "Specifying boot order"):
    the firmware tries the devices by it, and libvirt refuses it with ``<os><boot>``."""

    TAG: ClassVar[str] = "boot"
    order: int | None = attr("order")


@config_class
class Teaming:
    """``<teaming>``: virtio-net failover (formatdomain "Teaming a virtio/hostdev NIC
    pair"): the guest uses the transient device (an SR-IOV function) while it can, and
    the persistent virtio NIC of the same MAC while the guest migrates."""

    TAG: ClassVar[str] = "teaming"
    type: str | None = attr("type")
    persistent: str | None = attr("persistent")  # the persistent NIC's alias


@config_class
class AcpiIndex:
    """``<acpi index='N'/>``: the PCI device's index in the ACPI tables, which names a
    Linux guest's NIC (eno1 for index 1) whatever slot it sits in."""

    TAG: ClassVar[str] = "acpi"
    index: int | None = attr("index")


# QEMU's acpi-index property: 1 to 16383, one per device of the guest's.
ACPI_INDEX = {
    "type": "integer",
    "minimum": 1,
    "maximum": 16383,
    "description": "the PCI device's index in the ACPI tables: a Linux guest names the NIC eno<index> whatever slot it sits in; unique in the VM",
    "examples": [1, 2],
}

USER_ALIAS = f"^{USER_ALIAS_PREFIX}[A-Za-z0-9_-]+$"
TRANSIENT_TEAMING = {
    "type": "object",
    "description": "virtio-net failover: this device carries the guest's traffic while it can, and the persistent virtio NIC (its alias) while the guest migrates; give both the same MAC",
    "properties": {
        "persistent": {
            "type": "string",
            "pattern": USER_ALIAS,
            "description": "an alias (ua- and letters, digits, '_' or '-'): the persistent virtio NIC's this device teams with (<teaming type='transient' persistent=>)",
            "examples": ["ua-net0"],
        }
    },
    "required": ["persistent"],
    "additionalProperties": False,
}


@config_class
class Hostdev:
    TAG: ClassVar[str] = "hostdev"
    # The host's device names it: two hostdevs cannot take the same one.
    IDENTITY: ClassVar[tuple[str, ...]] = (
        "@type",
        "source/address/@domain",
        "source/address/@bus",
        "source/address/@slot",
        "source/address/@function",
        "source/address/@device",
        "source/address/@uuid",
        "source/vendor/@id",
        "source/product/@id",
        "source/adapter/@name",
        "source/address/@target",
        "source/address/@unit",
        "source/@wwpn",
    )
    mode: str | None = attr("mode")
    type: str | None = attr("type")
    managed: bool | None = attr("managed")
    model: str | None = attr("model")
    display: bool | None = attr("display", codec=ON_OFF)
    ramfb: bool | None = attr("ramfb", codec=ON_OFF)
    driver: HostdevDriver | None = child()
    source: HostdevSource | None = child()
    readonly: bool = flag("readonly")  # scsi
    shareable: bool = flag("shareable")  # scsi
    teaming: Teaming | None = child()
    boot: BootOrder | None = child()
    alias: DeviceAlias | None = child()
    acpi: AcpiIndex | None = child()
    rom: Rom | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


# --- policy ---------------------------------------------------------------------------------

MANAGED_BY_DEFAULT = {"pci": True, "usb": False, "mdev": False, "scsi": False, "scsiHost": False}
MANAGED_REASON = {
    True: "libvirt unbinds the PCI function from its host driver and binds it to vfio-pci "
    "before the guest starts, and gives it back after; without it the guest fails to start "
    "until someone runs virsh nodedev-detach by hand",
    False: "USB, mediated and SCSI devices are bound to no host driver to detach them from: "
    "it means nothing there, and libvirt writes no",
}
MDEV_MODEL = "vfio-pci"
MDEV_MODEL_REASON = "only VFIO assigns mediated devices on x86 (vfio-ccw and vfio-ap are s390x's)"
# ...s390x's own: channel I/O devices (vfio-ccw) and crypto adapters (vfio-ap).
S390X_MDEV_MODELS = ("vfio-ccw", "vfio-ap")

SOURCES = ("pci", "usb", "mdev", "scsi", "scsiHost")
# libvirt's hostdev type of each spec key
HOSTDEV_TYPES = {
    "pci": "pci",
    "usb": "usb",
    "mdev": "mdev",
    "scsi": "scsi",
    "scsiHost": "scsi_host",
}
SPEC_KEYS = {kind: key for key, kind in HOSTDEV_TYPES.items()}
# vhost-scsi's virtio device: QEMU's pick where none is named.
VHOST_SCSI_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional")
SCSI_ADAPTER = re.compile(r"^scsi_host(?P<host>[0-9]+)$")
PCI_ADDRESS = re.compile(
    r"^(?:(?P<domain>[0-9a-fA-F]{4}):)?(?P<bus>[0-9a-fA-F]{2}):(?P<slot>[0-9a-fA-F]{2})\.(?P<function>[0-7])$"
)
_PCI_SLOTS = 32  # device numbers 00-1f

# libvirt refuses a vendor or product id of 0 ("Zero is not permitted"), and its schema
# takes a bus or device number of three digits at most.
_USB_ID = {"type": "integer", "minimum": 1, "maximum": 0xFFFF}
_USB_ADDRESS = {"type": "integer", "minimum": 0, "maximum": 999}
_USB_VENDOR = {
    **_USB_ID,
    "description": "the device's USB vendor ID, as a number (lsusb's 1234 of 1234:beef is 0x1234); with product",
}
_USB_PRODUCT = {
    **_USB_ID,
    "description": "the device's USB product ID, as a number (lsusb's beef of 1234:beef is 0xbeef); with vendor",
}
_USB_BUS = {
    **_USB_ADDRESS,
    "description": "the host's USB bus number the device is on (lsusb's Bus); with device",
}
_USB_DEVICE = {
    **_USB_ADDRESS,
    "description": "the device's number on that bus (lsusb's Device), which changes when it is plugged again; with bus",
}

SCHEMA = {
    "type": "array",
    "description": "host devices given to the guest (formatdomain 'Host device assignment'): each one exactly one of pci, usb, mdev, scsi or scsiHost",
    "items": {
        "type": "object",
        "properties": {
            "pci": {
                "type": "object",
                "description": "a PCI function of the host's, assigned through VFIO",
                "properties": {
                    "address": {
                        "type": "string",
                        "description": "DOMAIN:BUS:SLOT.FUNCTION in hex, as lspci -D prints it (0000:03:00.0); the domain may be left out",
                    },
                    "driver": {
                        "enum": ["vfio"],
                        "description": "the host-side driver; libvirt uses VFIO when none is named",
                    },
                },
                "required": ["address"],
                "additionalProperties": False,
            },
            "usb": {
                "type": "object",
                "description": "a USB device of the host's: by vendor and product (lsusb's ID 1234:beef), by bus and device number, or both",
                "properties": {
                    "vendor": _USB_VENDOR,
                    "product": _USB_PRODUCT,
                    "bus": _USB_BUS,
                    "device": _USB_DEVICE,
                    "startupPolicy": {
                        "enum": ["mandatory", "requisite", "optional"],
                        "description": "when the device is missing: the guest does not start (mandatory, the default), or starts without it (optional; requisite: but not when it migrates in)",
                    },
                    "guestReset": {
                        "enum": ["off", "uninitialized", "on"],
                        "description": "whether the guest may reset the device: never, only before it has configured it, or always (QEMU's default)",
                    },
                },
                "additionalProperties": False,
            },
            "mdev": {
                "type": "object",
                "description": "a mediated device (a vGPU slice), created on the host beforehand",
                "properties": {
                    "uuid": {"$ref": "#/$defs/uuid"},
                    "model": {
                        "enum": [MDEV_MODEL, *S390X_MDEV_MODELS],
                        "description": f"the VFIO device: {MDEV_MODEL} (a vGPU; the default), or on s390x a channel I/O device (vfio-ccw) or crypto adapter (vfio-ap)",
                    },
                    "display": {
                        "type": "boolean",
                        "description": "show the vGPU's display through the graphics device; default false",
                    },
                    "ramfb": {
                        "type": "boolean",
                        "description": "a boot display before the guest's vGPU driver runs",
                    },
                },
                "required": ["uuid"],
                "additionalProperties": False,
            },
            "scsi": {
                "type": "object",
                "description": "a SCSI LUN of the host's (lsscsi's [HOST:BUS:TARGET:UNIT]), passed through on the guest's SCSI controller",
                "properties": {
                    "adapter": {
                        "type": "string",
                        "pattern": "^scsi_host[0-9]+$",
                        "description": "the host bus adapter: scsi_hostN for lsscsi's host N",
                    },
                    "bus": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 99,
                        "description": "the LUN's bus (channel) on the adapter, lsscsi's BUS",
                    },
                    "target": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 2**32 - 1,
                        "description": "the LUN's target on that bus, lsscsi's TARGET",
                    },
                    "unit": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 2**64 - 1,
                        "description": "the LUN's number on that target, lsscsi's UNIT",
                    },
                    "readonly": {
                        "type": "boolean",
                        "description": "the guest may only read the LUN (<readonly/>); default: false",
                    },
                    "shareable": {
                        "type": "boolean",
                        "description": "other guests may use the LUN at the same time",
                    },
                },
                "required": ["adapter", "bus", "target", "unit"],
                "additionalProperties": False,
            },
            "scsiHost": {
                "type": "object",
                "description": "a vhost-scsi target of the host's kernel (LIO, set up with targetcli), its LUNs given to the guest by a virtio SCSI device of their own",
                "properties": {
                    "wwpn": {
                        "type": "string",
                        "pattern": "^naa\\.[0-9a-fA-F]{16}$",
                        "description": "the target's world wide port name, such as naa.5123456789abcde0",
                    },
                    "model": {
                        "enum": list(VHOST_SCSI_MODELS),
                        "description": "the guest's virtio device: transitional also works with legacy virtio drivers, non-transitional only with virtio 1.0; default: virtio (QEMU picks)",
                    },
                },
                "required": ["wwpn"],
                "additionalProperties": False,
            },
            "managed": {
                "type": "boolean",
                "description": "libvirt detaches a PCI device from its host driver and gives it back; default true for pci, false otherwise",
            },
            "boot": {
                "type": "integer",
                "minimum": 1,
                "description": "the device's place in the boot order (formatdomain 'Specifying boot order'); excludes spec.boot",
            },
            "teaming": TRANSIENT_TEAMING,
            "acpiIndex": ACPI_INDEX,
            "rom": {
                "type": "object",
                "description": "the PCI device's option ROM",
                "properties": {
                    "enabled": {
                        "type": "boolean",
                        "description": "false: the guest gets no option ROM for the device at all (<rom enabled='no'/>)",
                    },
                    "bar": {"type": "boolean", "description": "the ROM is visible in the guest"},
                    "file": {
                        "type": "string",
                        "pattern": "^/",
                        "description": "an absolute path on the host: a file the guest gets as the device's ROM instead of its own, such as a patched GPU firmware",
                        "examples": ["/usr/share/vgabios/gpu-patched.rom"],
                    },
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "maxItems": 64,
    "examples": [
        [{"pci": {"address": "0000:03:00.0"}}],
        [
            {"pci": {"address": "0000:81:00.1", "driver": "vfio"}, "rom": {"bar": False}},
            {"usb": {"vendor": 0x1234, "product": 0xBEEF}},
            {"usb": {"bus": 1, "device": 3}, "managed": True},
            {"mdev": {"uuid": "c2177883-f1bb-47f0-914d-32a22e3a8804", "display": True}},
        ],
        [
            {"scsi": {"adapter": "scsi_host0", "bus": 0, "target": 0, "unit": 1, "readonly": True}},
            {"scsiHost": {"wwpn": "naa.5123456789abcde0"}, "boot": 1},
            {
                "usb": {
                    "bus": 1,
                    "device": 4,
                    "startupPolicy": "optional",
                    "guestReset": "uninitialized",
                }
            },
        ],
    ],
}


# --- lowering -------------------------------------------------------------------------------


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, item in enumerate(spec.get("hostdevs", [])):
        kind = next(name for name in SOURCES if name in item)
        if "managed" not in item:
            managed = MANAGED_BY_DEFAULT[kind]
            path = ("spec", "hostdevs", index, "managed")
            yield PolicyDefault(path, managed, MANAGED_REASON[managed])
        if kind == "mdev" and "model" not in item[kind]:
            path = ("spec", "hostdevs", index, kind, "model")
            yield PolicyDefault(path, MDEV_MODEL, MDEV_MODEL_REASON)


def lower(spec: Spec, identity: Identity) -> tuple[Hostdev, ...]:
    return tuple(_hostdev(item) for item in spec.get("hostdevs", []))


def _hostdev(item: dict[str, Any]) -> Hostdev:
    kind = next(name for name in SOURCES if name in item)
    source = item[kind]
    rom = item.get("rom")
    hostdev = Hostdev(
        mode="subsystem",
        type=HOSTDEV_TYPES[kind],
        managed=item.get("managed", MANAGED_BY_DEFAULT[kind]),
        boot=BootOrder(order=item["boot"]) if "boot" in item else None,
        rom=Rom(**rom) if rom else None,
        teaming=transient_teaming(item.get("teaming")),
        acpi=AcpiIndex(index=item["acpiIndex"]) if "acpiIndex" in item else None,
    )
    if kind == "scsi":
        return replace(
            hostdev,
            source=HostdevSource(
                adapter=ScsiAdapter(name=source["adapter"]),
                address=HostdevAddress(
                    bus=str(source["bus"]), target=str(source["target"]), unit=str(source["unit"])
                ),
            ),
            readonly=source.get("readonly", False),
            shareable=source.get("shareable", False),
        )
    if kind == "scsiHost":
        return replace(
            hostdev,
            model=source.get("model"),
            source=HostdevSource(protocol="vhost", wwpn=source["wwpn"].lower()),
        )
    if kind == "pci":
        driver = source.get("driver")
        return replace(
            hostdev,
            driver=HostdevDriver(name=driver) if driver else None,
            source=HostdevSource(address=pci_address(source["address"])),
        )
    if kind == "usb":
        return replace(hostdev, source=_usb_source(source))
    return replace(
        hostdev,
        model=source.get("model", MDEV_MODEL),
        # display: false is libvirt's default, which it writes itself (display='off'):
        # left to it, the spec and its import compile to the same bytes.
        display=source.get("display") or None,
        ramfb=source.get("ramfb"),
        # libvirt writes a UUID back in lower case
        source=HostdevSource(address=HostdevAddress(uuid=source["uuid"].lower())),
    )


def transient_teaming(teaming: Spec | None) -> Teaming | None:
    if teaming is None:
        return None
    return Teaming(type="transient", persistent=teaming["persistent"])


def lifted_teaming(teaming: Teaming) -> Any:
    """``persistent``, ``{persistent: ALIAS}`` for a transient one, or None where the
    spec has no word for it."""
    if teaming.type == "persistent" and teaming.persistent is None:
        return "persistent"
    if teaming.type == "transient" and teaming.persistent:
        return {"persistent": teaming.persistent}
    return None


def pci_address(text: str) -> HostdevAddress:
    """``0000:03:00.0`` as libvirt writes it back (``0x0000``, ``0x03``, ``0x00``, ``0x0``)."""
    found = PCI_ADDRESS.match(text)
    if found is None:
        raise ValueError(f"{text!r} is no PCI address")
    parts = {name: int(value or "0", 16) for name, value in found.groupdict().items()}
    return HostdevAddress(
        domain=f"0x{parts['domain']:04x}",
        bus=f"0x{parts['bus']:02x}",
        slot=f"0x{parts['slot']:02x}",
        function=f"0x{parts['function']:x}",
    )


def _usb_source(usb: dict[str, Any]) -> HostdevSource:
    # libvirt writes vendor and product as 0x%.4x and the bus and device numbers in decimal.
    def usb_id(key: str) -> UsbId | None:
        return UsbId(id=f"0x{usb[key]:04x}") if key in usb else None

    address = None
    if "bus" in usb or "device" in usb:
        address = HostdevAddress(bus=_decimal(usb.get("bus")), device=_decimal(usb.get("device")))
    return HostdevSource(
        startup_policy=usb.get("startupPolicy"),
        guest_reset=usb.get("guestReset"),
        vendor=usb_id("vendor"),
        product=usb_id("product"),
        address=address,
    )


def _decimal(value: int | None) -> str | None:
    return None if value is None else str(value)


# --- lifting --------------------------------------------------------------------------------


def lift(
    hostdevs: tuple[Hostdev, ...], spec: Spec, identity: Identity
) -> list[dict[str, Any]] | None:
    # What an item cannot say (a SCSI hostdev, an s390x mdev) the self-check names.
    lifted = [item for item in map(_lift_one, hostdevs) if item is not None]
    return lifted or None


def _lift_one(hostdev: Hostdev) -> dict[str, Any] | None:
    kind, source = SPEC_KEYS.get(hostdev.type or ""), hostdev.source
    if kind is None or source is None:
        return None
    if kind == "pci":
        lifted = _lift_pci(hostdev)
    elif kind == "usb":
        lifted = _lift_usb(source)
    elif kind == "scsi":
        lifted = _lift_scsi(hostdev)
    elif kind == "scsiHost":
        lifted = _lift_scsi_host(hostdev)
    else:
        lifted = _lift_mdev(hostdev)
    if lifted is None:
        return None
    item: dict[str, Any] = {kind: lifted}
    managed = bool(hostdev.managed)  # libvirt reads a missing managed as 'no'
    if managed != MANAGED_BY_DEFAULT[kind]:
        item["managed"] = managed
    if hostdev.boot is not None and hostdev.boot.order is not None:
        item["boot"] = hostdev.boot.order
    if hostdev.acpi is not None and hostdev.acpi.index is not None:
        item["acpiIndex"] = hostdev.acpi.index
    if hostdev.teaming is not None:
        teaming = lifted_teaming(hostdev.teaming)
        if teaming is None or teaming == "persistent":
            return None  # only a NIC is a persistent one
        item["teaming"] = teaming
    if hostdev.rom is not None:
        rom = {
            key: value
            for key in ("enabled", "bar", "file")
            if (value := getattr(hostdev.rom, key)) is not None
        }
        if rom:
            item["rom"] = rom
    return item


def _lift_pci(hostdev: Hostdev) -> dict[str, Any] | None:
    address = pci_address_text(hostdev.source.address if hostdev.source else None)
    if address is None:
        return None
    lifted: dict[str, Any] = {"address": address}
    if hostdev.driver is not None and hostdev.driver.name is not None:
        lifted["driver"] = hostdev.driver.name
    return lifted


def pci_address_text(address: Any) -> str | None:
    """An address's ``domain bus slot function`` as the spec writes them (0000:03:00.0),
    or None where they are no PCI address the spec can say."""
    if address is None:
        return None
    try:
        parts = [int(value or "0", 0) for value in (address.domain, address.bus)]
        parts += [int(value or "0", 0) for value in (address.slot, address.function)]
    except ValueError:
        return None
    domain, bus, slot, function = parts
    if not (domain <= 0xFFFF and bus <= 0xFF and slot < _PCI_SLOTS and function <= 7):
        return None
    return f"{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"


def _lift_scsi(hostdev: Hostdev) -> dict[str, Any] | None:
    source = hostdev.source
    address = source.address if source else None
    if source is None or source.protocol or source.adapter is None or address is None:
        return None  # iSCSI, or an adapter by its parent's address: no word for them yet
    try:
        numbers = {key: int(getattr(address, key)) for key in ("bus", "target", "unit")}
    except (TypeError, ValueError):
        return None
    lifted: dict[str, Any] = {"adapter": source.adapter.name, **numbers}
    if hostdev.readonly:
        lifted["readonly"] = True
    if hostdev.shareable:
        lifted["shareable"] = True
    return lifted


def _lift_scsi_host(hostdev: Hostdev) -> dict[str, Any] | None:
    source = hostdev.source
    if source is None or source.protocol != "vhost" or not source.wwpn:
        return None
    lifted: dict[str, Any] = {"wwpn": source.wwpn}
    if hostdev.model:
        lifted["model"] = hostdev.model
    return lifted


def _lift_usb(source: HostdevSource) -> dict[str, Any] | None:
    lifted: dict[str, Any] = {}
    for key in ("vendor", "product"):
        usb_id = getattr(source, key)
        if usb_id is not None and usb_id.id is not None:
            lifted[key] = HexInt(int(usb_id.id, 16))
    if source.address is not None:
        for key in ("bus", "device"):
            value = getattr(source.address, key)
            if value is not None:
                lifted[key] = int(value, 0)
    if not lifted:
        return None
    if source.startup_policy is not None:
        lifted["startupPolicy"] = source.startup_policy
    if source.guest_reset is not None:
        lifted["guestReset"] = source.guest_reset
    return lifted


def _lift_mdev(hostdev: Hostdev) -> dict[str, Any] | None:
    address = hostdev.source.address if hostdev.source else None
    models = (MDEV_MODEL, *S390X_MDEV_MODELS)
    if hostdev.model not in models or address is None or address.uuid is None:
        return None
    lifted: dict[str, Any] = {"uuid": address.uuid}
    if hostdev.model != MDEV_MODEL:
        lifted["model"] = hostdev.model
    if hostdev.display:
        lifted["display"] = True
    if hostdev.ramfb is not None:
        lifted["ramfb"] = hostdev.ramfb
    return lifted


# --- what libvirt fills in ------------------------------------------------------------------


def libvirt_fills_in(live: tuple[Hostdev, ...], wanted: tuple[Hostdev, ...]) -> tuple[Hostdev, ...]:
    """libvirt writes display='off' on a mediated device that says nothing of its display
    (seen with libvirt 9.0): the same device as one without it."""
    return tuple(
        replace(hostdev, display=None)
        if hostdev.type == "mdev" and hostdev.display is False
        else hostdev
        for hostdev in live
    )


# --- semantic checks ------------------------------------------------------------------------


_LISTED = ", ".join(SOURCES[:-1]) + f" or {SOURCES[-1]}"


def _one_source_each(spec: Spec) -> Iterator[Finding]:
    for index, item in enumerate(spec.get("hostdevs", [])):
        where = ("spec", "hostdevs", index)
        named = [name for name in SOURCES if name in item]
        if not named:
            yield Finding(where, f"a hostdev needs exactly one of {_LISTED}")
        elif len(named) > 1:
            yield Finding(
                (*where, named[1]),
                f"a hostdev is exactly one of {_LISTED}, but sets {named[0]} and {named[1]}",
            )
        elif "rom" in item and named[0] != "pci":
            yield Finding((*where, "rom"), "only a PCI device has an option ROM")
        elif "acpiIndex" in item and not _on_pci(item, named[0]):
            # qemu_validate.c: "ACPI index is only supported for PCI devices".
            yield Finding((*where, "acpiIndex"), "only a PCI device has an ACPI index")
        elif "teaming" in item and named[0] != "pci":
            yield Finding((*where, "teaming"), "a transient failover device is a PCI function")


def rom_findings(rom: Any, where: tuple[Any, ...]) -> Iterator[Finding]:
    """libvirt: "ROM tuning is not supported when ROM is disabled"."""
    if isinstance(rom, dict) and rom.get("enabled") is False:
        for key in ("bar", "file"):
            if key in rom:
                yield Finding((*where, key), f"a disabled ROM has no {key}: remove one of them")


def _roms(spec: Spec) -> Iterator[Finding]:
    for index, item in enumerate(spec.get("hostdevs", [])):
        if isinstance(item, dict):
            yield from rom_findings(item.get("rom"), ("spec", "hostdevs", index, "rom"))


def _on_pci(item: Spec, kind: str) -> bool:
    """Whether the guest sees the device on PCI: a PCI function, or a vGPU (vfio-pci)."""
    mdev = item.get("mdev")
    return kind == "pci" or (
        kind == "mdev" and isinstance(mdev, dict) and mdev.get("model", MDEV_MODEL) == MDEV_MODEL
    )


def _pci_addresses(spec: Spec) -> Iterator[Finding]:
    for index, item in enumerate(spec.get("hostdevs", [])):
        address = item.get("pci", {}).get("address")
        problem = pci_address_problem(address) if isinstance(address, str) else None
        if problem:
            yield Finding(("spec", "hostdevs", index, "pci", "address"), problem)


def pci_address_problem(address: str) -> str | None:
    """What is wrong with a host PCI address as the spec writes it, if anything."""
    found = PCI_ADDRESS.match(address)
    if found is None:
        return f"{address!r} is no PCI address: write DOMAIN:BUS:SLOT.FUNCTION in hex, as lspci -D prints it (0000:03:00.0)"
    if int(found["slot"], 16) >= _PCI_SLOTS:
        return f"{address!r}: a PCI slot (device number) is 00 to 1f, not {found['slot']}"
    return None


def _usb_named(spec: Spec) -> Iterator[Finding]:
    # formatdomain: vendor and product together, bus and device together, or both pairs.
    for index, item in enumerate(spec.get("hostdevs", [])):
        usb = item.get("usb")
        if not isinstance(usb, dict):
            continue
        where = ("spec", "hostdevs", index, "usb")
        for first, second in (("vendor", "product"), ("bus", "device")):
            if (first in usb) != (second in usb):
                given, missing = (first, second) if first in usb else (second, first)
                yield Finding(
                    (*where, given), f"a USB device named by its {given} needs its {missing} too"
                )
        if not usb:
            yield Finding(
                where,
                "name the USB device by vendor and product (lsusb's ID 1234:beef), by bus and device, or both",
            )


def _each_device_once(spec: Spec) -> Iterator[Finding]:
    # libvirt refuses a definition that assigns the same host device twice ("Hostdev
    # already exists in the domain configuration", seen with 9.0).
    items = spec.get("hostdevs", [])
    for later_index, later in enumerate(items):
        for earlier_index, earlier in enumerate(items[:later_index]):
            if _same_device(earlier, later):
                yield Finding(
                    ("spec", "hostdevs", later_index),
                    f"this host device is already given to the guest by hostdevs[{earlier_index}]",
                )
                break


def _same_device(earlier: dict[str, Any], later: dict[str, Any]) -> bool:
    """libvirt's virDomainHostdevMatch, which define applies to each pair in order."""
    kinds = [name for name in SOURCES if name in earlier and name in later]
    if len(kinds) != 1 or not all(isinstance(item[kinds[0]], dict) for item in (earlier, later)):
        return False
    first, second = earlier[kinds[0]], later[kinds[0]]
    if kinds[0] == "pci":
        addresses = [PCI_ADDRESS.match(str(item.get("address"))) for item in (first, second)]
        return None not in addresses and len({_pci_numbers(found) for found in addresses}) == 1
    if kinds[0] == "mdev":
        return str(first.get("uuid")).lower() == str(second.get("uuid")).lower()
    if kinds[0] == "scsi":
        keys = ("adapter", "bus", "target", "unit")
        return all(first.get(key) == second.get(key) for key in keys)
    if kinds[0] == "scsiHost":
        return str(first.get("wwpn")).lower() == str(second.get("wwpn")).lower()
    # USB: the earlier one's bus and device where both are set (and not 0), else its
    # vendor and product; what is left out counts as 0.
    keys = ("bus", "device") if first.get("bus") and first.get("device") else ("vendor", "product")
    return all(first.get(key, 0) == second.get(key, 0) for key in keys)


def _pci_numbers(found: re.Match[str]) -> tuple[int, ...]:
    return tuple(int(value or "0", 16) for value in found.groups())


def _mdev_display(spec: Spec) -> Iterator[Finding]:
    # libvirt refuses display='on' without a graphics device to show it (seen with 9.0),
    # and more than one vGPU with ramfb (domain_validate.c).
    ramfb_at = None
    for index, item in enumerate(spec.get("hostdevs", [])):
        mdev = item.get("mdev")
        if not isinstance(mdev, dict):
            continue
        where = ("spec", "hostdevs", index, "mdev")
        model = mdev.get("model", MDEV_MODEL)
        if model in S390X_MDEV_MODELS and spec_arch(spec) != "s390x":
            yield Finding((*where, "model"), f"{model} is s390x's: QEMU has it there only")
        for key in ("display", "ramfb"):
            if key in mdev and model != MDEV_MODEL:
                # domain_validate.c: display and ramfb are a vGPU's, vfio-pci's.
                yield Finding((*where, key), f"a {model} device has no {key}: only a vGPU has")
        if mdev.get("display") and not spec.get("graphics"):
            yield Finding((*where, "display"), "a vGPU display needs a graphics device to show it")
        if mdev.get("ramfb") and ramfb_at is not None:
            yield Finding(
                (*where, "ramfb"),
                f"only one vGPU can have ramfb, and hostdevs[{ramfb_at}] has it already",
            )
        elif mdev.get("ramfb"):
            ramfb_at = index


def boot_order_findings(spec: Spec) -> Iterator[Finding]:
    """A NIC's or a host device's boot order: libvirt refuses one with ``<os><boot>``
    ("per-device boot elements cannot be used together with os/boot elements") and two
    devices with the same order. The disks' own orders are the disk family's to check;
    here they count as taken."""
    taken: dict[int, str] = {
        disk["boot"]: f"disks[{index}]"
        for index, disk in enumerate(spec.get("disks", []))
        if isinstance(disk, dict) and isinstance(disk.get("boot"), int)
    }
    for field in ("interfaces", "hostdevs"):
        for index, item in enumerate(spec.get(field, [])):
            order = item.get("boot") if isinstance(item, dict) else None
            if not isinstance(order, int):
                continue
            where = ("spec", field, index, "boot")
            if "boot" in spec:
                yield Finding(
                    where,
                    "a device's boot order and spec.boot exclude each other (libvirt refuses both): remove one",
                )
            if order in taken:
                yield Finding(where, f"boot order {order} is {taken[order]}'s already")
            taken.setdefault(order, f"{field}[{index}]")


def acpi_index_findings(spec: Spec) -> Iterator[Finding]:
    """QEMU takes each ACPI index once in a VM; NICs and host devices share them."""
    taken: dict[int, str] = {}
    for field in ("interfaces", "hostdevs"):
        for index, item in enumerate(spec.get(field, [])):
            acpi_index = item.get("acpiIndex") if isinstance(item, dict) else None
            if not isinstance(acpi_index, int):
                continue
            if acpi_index in taken:
                yield Finding(
                    ("spec", field, index, "acpiIndex"),
                    f"ACPI index {acpi_index} is {taken[acpi_index]}'s already",
                )
            taken.setdefault(acpi_index, f"{field}[{index}]")


def _host_paths(hostdevs: tuple[Hostdev, ...]) -> list[tuple[str, str]]:
    """What a SCSI LUN or a vhost-scsi target is on the host (PCI, USB and mediated
    devices are looked up in libvirt's node devices, host/references.py)."""
    found = []
    for index, hostdev in enumerate(hostdevs):
        source, what = hostdev.source, f"hostdev {index + 1}"
        address = source.address if source else None
        adapter = (
            SCSI_ADAPTER.match(source.adapter.name or "") if source and source.adapter else None
        )
        if hostdev.type == "scsi" and adapter and address:
            lun = f"{adapter['host']}:{address.bus}:{address.target}:{address.unit}"
            found.append((what, f"/sys/bus/scsi/devices/{lun}"))
        if hostdev.type == "scsi_host" and source and source.wwpn:
            # the LIO target targetcli makes in configfs for the vhost fabric
            found.append((what, f"/sys/kernel/config/target/vhost/{source.wwpn}"))
    return found


FAMILY = Family(
    spec_field="hostdevs",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="hostdevs",
    lower=lower,
    lift=lift,
    checks=(
        _one_source_each,
        _pci_addresses,
        _usb_named,
        _each_device_once,
        _mdev_display,
        boot_order_findings,
        acpi_index_findings,
        _roms,
    ),
    libvirt_fills_in=libvirt_fills_in,
    host_paths=_host_paths,
    policy_defaults=policy_defaults,
)
