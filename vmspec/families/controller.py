"""``<controller>``: the buses disks and devices hang on (formatdomain: "Controllers").

libvirt adds the ones a machine needs by itself (its PCI topology, the default USB,
SATA, SCSI and virtio-serial controllers); a spec names only those it chooses, such
as virtio-scsi for a Windows boot disk, which libvirt's default lsilogic would not
boot. A type the spec names is all the spec's: libvirt's of that type are replaced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.arches import DEFAULT_ARCH, X86_ARCHES, spec_arch
from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import ON_OFF, attr, child, config_class, text, text_child
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding
from vmspec.units import format_kib, size_in_kib, with_size_in_kib


@config_class
class ControllerDriver:
    """virtio-scsi's queues and request limits, and the virtio options of virtio-scsi and
    virtio-serial, in libvirt's order."""

    TAG: ClassVar[str] = "driver"
    queues: int | None = attr("queues")
    cmd_per_lun: int | None = attr("cmd_per_lun")
    max_sectors: int | None = attr("max_sectors")
    ioeventfd: bool | None = attr("ioeventfd", codec=ON_OFF)
    # The spec has no word for it yet (import reports it); parsed so that apply keeps it
    # on a controller of a type the spec does not name (vmspec/host/preserve.py).
    iothread: int | None = attr("iothread")
    iommu: bool | None = attr("iommu", codec=ON_OFF)
    ats: bool | None = attr("ats", codec=ON_OFF)
    packed: bool | None = attr("packed", codec=ON_OFF)
    page_per_vq: bool | None = attr("page_per_vq", codec=ON_OFF)


@config_class
class PciHole64:
    """A PCI root's window for 64-bit BARs (formatdomain "PCI controllers"): large GPU or
    NVMe BARs need more than QEMU's default. vmspec writes KiB, libvirt's own unit."""

    TAG: ClassVar[str] = "pcihole64"
    unit: str | None = attr("unit")
    value: int | None = text()


@config_class
class ControllerMaster:
    """A USB 1 companion's first port on its USB 2 (EHCI) master."""

    TAG: ClassVar[str] = "master"
    startport: int | None = attr("startport")


@config_class
class PciModelName:
    """``<model name>``: the QEMU device behind a PCI controller's model (pcie-root-port
    is ioh3420 or pcie-root-port), which libvirt picks and keeps."""

    TAG: ClassVar[str] = "model"
    name: str | None = attr("name")


@config_class
class PciControllerTarget:
    """A PCI controller's place in the guest's topology (formatdomain "PCI controllers"):
    chassis and port of a root port, the bus number of an expander bus and its NUMA node,
    whether it takes hotplug. libvirt picks them for the controllers it adds; apply keeps
    them (vmspec/host/preserve.py) so that a redefine changes none."""

    TAG: ClassVar[str] = "target"
    chassis_nr: int | None = attr("chassisNr")
    chassis: int | None = attr("chassis")
    port: str | None = attr("port")  # in hex, as libvirt writes it
    bus_nr: int | None = attr("busNr")
    index: int | None = attr("index")
    hotplug: bool | None = attr("hotplug", codec=ON_OFF)
    node: int | None = text_child("node")


@config_class
class Controller:
    """In libvirt's formatting order: a PCI controller's model name and target, the
    driver, the alias, a USB companion's master, the address, a PCI root's pcihole64."""

    TAG: ClassVar[str] = "controller"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@type", "@index")
    type: str | None = attr("type")
    index: int | None = attr("index")
    model: str | None = attr("model")
    ports: int | None = attr("ports")
    vectors: int | None = attr("vectors")
    pci_model: PciModelName | None = child("model")
    target: PciControllerTarget | None = child()
    driver: ControllerDriver | None = child()
    alias: DeviceAlias | None = child()
    master: ControllerMaster | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)
    pcihole64: PciHole64 | None = child()


def default_index(kind: str, companion: bool, earlier: list[Controller]) -> int:
    """The index libvirt gives a controller written without one: the next of its type;
    a USB companion (one with a master) shares its master's, the last one before it."""
    own_type = [item for item in earlier if item.type == kind and item.master is None]
    if companion and own_type:
        return own_type[-1].index or 0
    return len(own_type)


# The models libvirt 9.0's schema takes for each type a spec may name (domaincommon.rng);
# sata has none.
MODELS: dict[str, tuple[str, ...]] = {
    "usb": (
        "piix3-uhci", "piix4-uhci", "ehci", "ich9-ehci1", "ich9-uhci1", "ich9-uhci2",
        "ich9-uhci3", "vt82c686b-uhci", "pci-ohci", "nec-xhci", "qusb1", "qusb2",
        "qemu-xhci", "none",
    ),
    "scsi": (
        "auto", "buslogic", "lsilogic", "lsisas1068", "vmpvscsi", "ibmvscsi", "virtio-scsi",
        "lsisas1078", "virtio-transitional", "virtio-non-transitional", "ncr53c90", "dc390",
        "am53c974",
    ),
    "virtio-serial": ("virtio", "virtio-transitional", "virtio-non-transitional"),
    "ide": ("piix3", "piix4", "ich6"),
    "sata": (),
    "ccid": (),  # a USB smartcard reader's bus (the smartcards' CCID), no model
    # Only the root: a spec names it for its pcihole64; the rest of the PCI topology
    # (root ports, bridges) stays libvirt's.
    "pci": ("pci-root", "pcie-root"),
}  # fmt: skip


PCI_ROOT_REASON = "the root libvirt gives the machine, written out: q35's is PCI Express"
INDEX_REASON = (
    "libvirt numbers the controllers of a type from 0 (a USB companion shares its "
    "master's); vmspec writes the same"
)
USB_REASON = (
    "USB redirection needs a USB controller: the one libvirt's qemu driver adds by itself "
    "for this machine and arch, written out so that its test driver, which adds none, "
    "takes the same XML"
)


def pci_root_model(machine: str | None) -> str:
    """The root libvirt gives an x86 machine (PCI_ROOT_REASON)."""
    return "pcie-root" if machine and "q35" in machine else "pci-root"


# The spec's name of each driver attribute, and the controller models that take it
# (libvirt refuses virtio options elsewhere; the request limits are virtio-scsi's).
DRIVER_FIELDS = {
    "queues": "queues",
    "cmdPerLun": "cmd_per_lun",
    "maxSectors": "max_sectors",
    "ioeventfd": "ioeventfd",
    "iommu": "iommu",
    "ats": "ats",
    "packed": "packed",
    "pagePerVq": "page_per_vq",
}
_VIRTIO_SCSI_ONLY = ("queues", "cmdPerLun", "maxSectors", "ioeventfd")
VIRTIO_MODELS = ("virtio-scsi", "virtio", "virtio-transitional", "virtio-non-transitional")

# --- policy: what vmspec writes where the spec says nothing, and why ----------------------


def default_usb_model(machine: str | None, arch: str | None = DEFAULT_ARCH) -> str:
    """The USB controller libvirt's qemu driver adds to a definition that names none."""
    if arch not in (None, *X86_ARCHES) or (machine and "q35" in machine):
        return "qemu-xhci"
    return "piix3-uhci"


def usb_controller(spec: Spec) -> dict[str, Any] | None:
    """The USB controller USB redirection needs where the spec names none (USB_REASON:
    libvirt's test driver refuses the redirdevs without one, "USB is disabled")."""
    named = any(controller["type"] == "usb" for controller in spec.get("controllers", []))
    if not spec.get("usbRedirection") or named:
        return None
    return {"type": "usb", "model": default_usb_model(spec.get("machine"), spec.get("arch"))}


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    controllers = spec.get("controllers", [])
    lowered = lower(spec, identity)
    for index, controller in enumerate(controllers):
        if "index" not in controller:
            path = ("spec", "controllers", index, "index")
            yield PolicyDefault(path, lowered[index].index, INDEX_REASON)
        if controller["type"] == "pci" and "model" not in controller:
            model = pci_root_model(spec.get("machine"))
            yield PolicyDefault(("spec", "controllers", index, "model"), model, PCI_ROOT_REASON)
    usb = usb_controller(spec)
    if usb is not None:
        yield PolicyDefault(("spec", "controllers", len(controllers)), usb, USB_REASON)


SCHEMA = {
    "type": "array",
    "maxItems": 64,
    "description": "controllers chosen rather than left to libvirt (which adds the PCI topology and default USB, SATA, SCSI and virtio-serial controllers itself); a type named here is all the spec's",
    "items": {
        "type": "object",
        "properties": {
            "type": {"enum": list(MODELS), "description": "the bus it provides"},
            "model": {
                "enum": sorted({model for models in MODELS.values() for model in models}),
                "description": "libvirt's model for the type, e.g. virtio-scsi, qemu-xhci, lsilogic, ich9-ehci1",
                "examples": ["virtio-scsi"],
            },
            "index": {
                "type": "integer",
                "minimum": 0,
                "maximum": 255,
                "description": "default: its place among the controllers of its type",
                "examples": [0, 1],
            },
            "ports": {
                "type": "integer",
                "minimum": 1,
                "maximum": 255,
                "description": "USB and virtio-serial: how many ports",
            },
            "pcihole64": {
                "$ref": "#/$defs/size",
                "description": "pci only (the root, x86): the window for 64-bit PCI BARs, for devices with large ones (GPUs); default: QEMU's",
            },
            "vectors": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2048,
                "description": "virtio-serial: how many MSI-X vectors (QEMU's default: one per port and two)",
            },
            "queues": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1024,
                "description": "virtio-scsi: how many request queues (one per vCPU is usual)",
            },
            "cmdPerLun": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65535,
                "description": "virtio-scsi: how many commands a LUN may have queued (QEMU's default 128)",
            },
            "maxSectors": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65535,
                "description": "virtio-scsi: the largest request, in 512-byte sectors (QEMU's default 65535)",
            },
            "ioeventfd": {
                "type": "boolean",
                "description": "virtio-scsi: let KVM signal requests to an I/O thread of QEMU's own (default on)",
            },
            "iommu": {
                "type": "boolean",
                "description": "virtio only: the device goes through the guest's vIOMMU",
            },
            "ats": {
                "type": "boolean",
                "description": "virtio only: PCIe address translation services",
            },
            "packed": {"type": "boolean", "description": "virtio only: packed virtqueues"},
            "pagePerVq": {
                "type": "boolean",
                "description": "virtio only: one notification page per virtqueue",
            },
            "startport": {
                "type": "integer",
                "minimum": 0,
                "maximum": 255,
                "description": "a USB 1 companion controller's first port on its USB 2 master (ich9-uhci with ich9-ehci1)",
            },
        },
        "required": ["type"],
        "additionalProperties": False,
    },
    "examples": [
        [{"type": "scsi", "model": "virtio-scsi", "queues": 2}],
        [
            {
                "type": "scsi",
                "model": "virtio-scsi",
                "cmdPerLun": 64,
                "maxSectors": 512,
                "ioeventfd": True,
            },
            {"type": "virtio-serial", "vectors": 4, "packed": True, "pagePerVq": True},
            {"type": "ccid"},
        ],
        [{"type": "pci", "pcihole64": "1GiB"}],
        [
            {"type": "usb", "model": "ich9-ehci1"},
            {"type": "usb", "model": "ich9-uhci1", "startport": 0},
            {"type": "virtio-serial", "ports": 8},
        ],
    ],
}


def lower(spec: Spec, identity: Identity) -> tuple[Controller, ...]:
    chosen = [*spec.get("controllers", []), *filter(None, [usb_controller(spec)])]
    lowered: list[Controller] = []
    for controller in chosen:
        kind = controller["type"]
        position = default_index(kind, "startport" in controller, lowered)  # INDEX_REASON
        startport = controller.get("startport")
        model = controller.get("model")
        if kind == "pci":
            model = model or pci_root_model(spec.get("machine"))
        lowered.append(
            Controller(
                type=kind,
                index=controller.get("index", position),
                model=model,
                ports=controller.get("ports"),
                vectors=controller.get("vectors"),
                pcihole64=_hole(controller.get("pcihole64")),
                driver=_driver(controller),
                master=ControllerMaster(startport=startport) if startport is not None else None,
            )
        )
    return tuple(lowered)


def _hole(size: str | None) -> PciHole64 | None:
    return None if size is None else PciHole64(unit="KiB", value=size_in_kib(size))


def _driver(controller: Spec) -> ControllerDriver | None:
    settings = {field: controller[key] for key, field in DRIVER_FIELDS.items() if key in controller}
    return ControllerDriver(**settings) if settings else None


def lift(controllers: tuple[Controller, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    """The controllers libvirt would not add by itself (a virtio-scsi controller, a USB
    controller of another model), and with one of a type all of that type."""
    machine = spec.get("machine")
    controllers = tuple(map(_with_companion_port, controllers))
    chosen = {item.type for item in controllers if not is_libvirts_own(item, machine)}
    lifted: list[Spec] = []
    seen: list[Controller] = []
    for item in controllers:
        if item.type not in chosen or _libvirts_part_of_the_pci_topology(item):
            continue
        entry: dict[str, Any] = {"type": item.type}
        if item.model and not (item.type == "pci" and item.model == pci_root_model(machine)):
            entry["model"] = item.model
        if item.pcihole64 is not None:
            hole = with_size_in_kib(item.pcihole64)
            entry["pcihole64"] = format_kib(hole.value or 0)
        position = default_index(item.type, item.master is not None, seen)
        index = item.index if item.index is not None else position
        seen.append(dataclasses.replace(item, index=index))
        if index != position:
            entry["index"] = index
        if item.ports is not None:
            entry["ports"] = item.ports
        if item.vectors is not None:
            entry["vectors"] = item.vectors
        for key, field in DRIVER_FIELDS.items():
            value = getattr(item.driver, field) if item.driver else None
            if value is not None:
                entry[key] = value
        if item.master and item.master.startport is not None:
            entry["startport"] = item.master.startport
        lifted.append(entry)
    return lifted or None


def as_libvirt_stores_it(
    live: tuple[Controller, ...], wanted: tuple[Controller, ...]
) -> tuple[Controller, ...]:
    """The controllers of a type the spec names are the spec's; the others (the PCI
    topology, the default USB, SATA, SCSI and virtio-serial controllers) libvirt adds
    by itself (see is_libvirts_own)."""
    named = {controller.type for controller in wanted}
    kept: list[Controller] = []
    for item in live:
        if item.type not in named or _libvirts_part_of_the_pci_topology(item):
            continue
        if item.pcihole64 is not None:
            item = dataclasses.replace(item, pcihole64=with_size_in_kib(item.pcihole64))
        item = _with_companion_port(item)
        if item.index is None:
            # Written without an index (virt-install does), libvirt gives it one.
            index = default_index(item.type, item.master is not None, kept)
            item = dataclasses.replace(item, index=index)
        kept.append(item)
    return tuple(kept)


# The first port of each ICH9 USB 1 companion on its ich9-ehci1 master.
_ICH9_COMPANION_PORTS = {"ich9-uhci1": 0, "ich9-uhci2": 2, "ich9-uhci3": 4}


def _with_companion_port(controller: Controller) -> Controller:
    """libvirt gives an ICH9 companion written without <master> its port on the EHCI
    master of its index (qemuxml2xmloutdata/q35-usb2.xml)."""
    port = _ICH9_COMPANION_PORTS.get(controller.model or "")
    if port is None or controller.master is not None:
        return controller
    return dataclasses.replace(controller, master=ControllerMaster(startport=port))


def is_libvirts_own(controller: Controller, machine: str | None) -> bool:
    """Whether libvirt would add this controller by itself to a definition without it:
    then a spec need not name it (lift leaves it out). Seen with libvirt 9.0 / QEMU 7.2."""
    kind, index, model = controller.type, controller.index, controller.model
    plain = controller.ports is None and controller.vectors is None and controller.driver is None
    if kind == "pci":
        # The PCI topology: root, root ports and bridges as devices need them; a root
        # with a pcihole64 is the spec's.
        return controller.pcihole64 is None
    if not plain or index not in (None, 0):
        return False
    return (
        (kind in ("sata", "ide", "fdc", "virtio-serial") and model is None)
        or (kind == "usb" and model in (None, default_usb_model(machine)))
        or (kind == "scsi" and model in (None, "lsilogic"))
    )


def _libvirts_part_of_the_pci_topology(controller: Controller) -> bool:
    """Where a spec names the PCI root (for its pcihole64), the other PCI controllers
    are still libvirt's: it adds them as the devices need them."""
    return controller.type == "pci" and controller.index not in (None, 0)


def _controllers(spec: Spec) -> Iterator[Finding]:
    seen: dict[tuple[str, int], int] = {}
    earlier: list[Controller] = []
    for index, controller in enumerate(spec.get("controllers", [])):
        kind = controller["type"]
        where = ("spec", "controllers", index)
        # Lowering's default index: the controller's place among those of its type; a USB
        # companion shares its master's (its index is the master's, not a second one).
        companion = "startport" in controller
        number = controller.get("index", default_index(kind, companion, earlier))
        master = ControllerMaster(startport=controller["startport"]) if companion else None
        earlier.append(Controller(type=kind, index=number, master=master))
        if (kind, number) in seen and not companion:
            yield Finding(
                where,
                f"controllers[{seen[(kind, number)]}] is already the {kind} controller {number}",
            )
        if not companion:
            seen.setdefault((kind, number), index)
        model = controller.get("model")
        if model is not None and model not in MODELS[kind]:
            # libvirt's schema refuses a model of another type's ("Invalid value for model").
            takes = ", ".join(MODELS[kind]) or "no model"
            yield Finding((*where, "model"), f"{model} is no {kind} controller's model: {takes}")
        if "ports" in controller and kind not in ("usb", "virtio-serial"):
            # libvirt's schema has ports only on USB and virtio-serial controllers.
            yield Finding((*where, "ports"), "ports are for usb and virtio-serial controllers")
        yield from _driver_fields(controller, where)
        if "vectors" in controller and kind != "virtio-serial":
            yield Finding((*where, "vectors"), "vectors are for virtio-serial controllers")
        yield from _pci_root(spec, controller, where)


def _pci_root(spec: Spec, controller: Spec, where: tuple[Any, ...]) -> Iterator[Finding]:
    kind = controller["type"]
    if "pcihole64" in controller and kind != "pci":
        yield Finding((*where, "pcihole64"), "pcihole64 is the pci root's: set type pci")
    if "pcihole64" in controller:
        try:
            size_in_kib(controller["pcihole64"])
        except ValueError as error:  # a fraction of a KiB, which libvirt cannot store
            yield Finding((*where, "pcihole64"), str(error))
    if kind != "pci":
        return
    if "pcihole64" not in controller:
        message = "the pci root is libvirt's but for its pcihole64: add pcihole64, or leave it out"
        yield Finding((*where, "type"), message)
    if controller.get("index", 0) != 0:
        yield Finding((*where, "index"), "a spec names the pci root only (index 0)")
    arch = spec_arch(spec)
    if arch not in X86_ARCHES:
        yield Finding((*where, "pcihole64"), f"pcihole64 is x86's (i440fx and q35), not {arch}'s")
    root = pci_root_model(spec.get("machine"))
    if controller.get("model", root) != root:
        # libvirt: "The PCI controller with index='0' must be model='pcie-root' for this machine type".
        yield Finding((*where, "model"), f"this machine's pci root is {root}")


def _driver_fields(controller: Spec, where: tuple[Any, ...]) -> Iterator[Finding]:
    # virtio-serial's model may be left out: it is virtio then.
    model = controller.get("model", "virtio" if controller["type"] == "virtio-serial" else None)
    for key in DRIVER_FIELDS:
        if key not in controller:
            continue
        if key in _VIRTIO_SCSI_ONLY and model != "virtio-scsi":
            yield Finding((*where, key), f"{key} is for model virtio-scsi")
        elif model not in VIRTIO_MODELS:
            yield Finding(
                (*where, key), f"{key} is a virtio option: set a virtio model, or remove it"
            )


FAMILY = Family(
    spec_field="controllers",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="controllers",
    lower=lower,
    lift=lift,
    checks=(_controllers,),
    policy_defaults=policy_defaults,
    libvirt_fills_in=as_libvirt_stores_it,
)
