"""``<interface>``: the VM's NICs, one spec shape per interface type (formatdomain
"Network interfaces"): ``bridge``, ``network``, ``direct`` (macvtap), ``user``
(QEMU's own user-mode networking), ``ethernet`` (a tap device of its own) and
``vhostuser`` (a user-space switch's socket).

The MACs the spec leaves out are derived from the VM's uuid (vmspec/lower/identity.py),
so that two compiles are byte-identical and import writes only the MACs it must.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, ON_OFF, YES_NO, attr, child
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import FieldPath, Finding


@dataclass(**CONFIG)
class MacAddress:
    TAG: ClassVar[str] = "mac"
    address: str | None = attr("address")


@dataclass(**CONFIG)
class InterfaceSource:
    TAG: ClassVar[str] = "source"
    type: str | None = attr("type")  # vhostuser: unix, the only kind of socket
    path: str | None = attr("path")
    bridge: str | None = attr("bridge")
    network: str | None = attr("network")
    dev: str | None = attr("dev")
    mode: str | None = attr("mode")


@dataclass(**CONFIG)
class InterfaceScript:
    TAG: ClassVar[str] = "script"
    path: str | None = attr("path")


@dataclass(**CONFIG)
class InterfaceTarget:
    """The host side's tap device; libvirt names it (vnetN) unless the spec does."""

    TAG: ClassVar[str] = "target"
    dev: str | None = attr("dev")
    managed: bool | None = attr("managed", codec=YES_NO)


@dataclass(**CONFIG)
class InterfaceModel:
    TAG: ClassVar[str] = "model"
    type: str | None = attr("type")


@dataclass(**CONFIG)
class InterfaceDriver:
    """virtio-net's backend and queues (formatdomain "Setting NIC driver-specific options")."""

    TAG: ClassVar[str] = "driver"
    name: str | None = attr("name")
    txmode: str | None = attr("txmode")
    ioeventfd: bool | None = attr("ioeventfd", codec=ON_OFF)
    event_idx: bool | None = attr("event_idx", codec=ON_OFF)
    queues: int | None = attr("queues")
    rx_queue_size: int | None = attr("rx_queue_size")
    tx_queue_size: int | None = attr("tx_queue_size")
    rss: bool | None = attr("rss", codec=ON_OFF)
    rss_hash_report: bool | None = attr("rss_hash_report", codec=ON_OFF)
    iommu: bool | None = attr("iommu", codec=ON_OFF)
    ats: bool | None = attr("ats", codec=ON_OFF)
    packed: bool | None = attr("packed", codec=ON_OFF)
    page_per_vq: bool | None = attr("page_per_vq", codec=ON_OFF)


# The spec's name of each driver attribute (the config field's, in camelCase).
DRIVER_FIELDS = {
    "name": "name",
    "txmode": "txmode",
    "ioeventfd": "ioeventfd",
    "eventIdx": "event_idx",
    "queues": "queues",
    "rxQueueSize": "rx_queue_size",
    "txQueueSize": "tx_queue_size",
    "rss": "rss",
    "rssHashReport": "rss_hash_report",
    "iommu": "iommu",
    "ats": "ats",
    "packed": "packed",
    "pagePerVq": "page_per_vq",
}


@dataclass(**CONFIG)
class Interface:
    TAG: ClassVar[str] = "interface"
    IDENTITY: ClassVar[tuple[str, ...]] = ("mac/@address",)
    HOTPLUG: ClassVar[bool] = True
    type: str | None = attr("type")
    mac: MacAddress | None = child()
    source: InterfaceSource | None = child()
    script: InterfaceScript | None = child()
    target: InterfaceTarget | None = child()
    model: InterfaceModel | None = child()
    driver: InterfaceDriver | None = child()


# --- policy ---------------------------------------------------------------------------


def model(interface: Spec) -> str:
    # virtio-net: paravirtual and fastest; e1000 only for guests without drivers.
    return interface.get("model", "virtio")


# --- the spec -------------------------------------------------------------------------

TYPES = ("bridge", "network", "direct", "user", "ethernet", "vhostuser")
"""The interface types the spec speaks, each the key of its own shape."""

_MAC = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$",
    "description": "a MAC address such as 52:54:00:aa:bb:cc",
}

INTERFACE_SCHEMA = {
    "type": "object",
    "description": "one NIC: exactly one of the interface types, and what all of them take",
    "properties": {
        "bridge": {
            "$ref": "#/$defs/interfaceName",
            "description": "a host bridge the NIC is plugged into (type='bridge')",
        },
        "network": {
            "$ref": "#/$defs/name",
            "description": "a libvirt network, of the specs or of the host (type='network')",
        },
        "direct": {
            "type": "object",
            "description": "macvtap on a host NIC (type='direct'); in bridge mode unless said",
            "properties": {
                "dev": {"$ref": "#/$defs/interfaceName"},
                "mode": {"enum": ["bridge", "vepa", "private", "passthrough"]},
            },
            "additionalProperties": False,
            "required": ["dev"],
        },
        "user": {
            "type": "object",
            "properties": {},
            "additionalProperties": False,
            "description": "QEMU's user-mode networking (type='user', SLIRP): the guest reaches out through the host's own connections, with no bridge and no root; nothing reaches in",
        },
        "ethernet": {
            "type": "object",
            "description": "a tap device of its own (type='ethernet'), which no bridge or network of libvirt's joins: libvirt makes it (named target, or vnetN), or with managed: false the guest uses the existing tap target; script sets it up",
            "properties": {
                "target": {"$ref": "#/$defs/interfaceName"},
                "managed": {
                    "type": "boolean",
                    "description": "false: the tap device target exists already, and libvirt neither makes nor removes it",
                },
                "script": {"$ref": "#/$defs/absolutePath"},
            },
            "additionalProperties": False,
            "examples": [{"target": "tap-router", "managed": False}],
        },
        "vhostuser": {
            "type": "object",
            "description": "the socket of a user-space switch such as Open vSwitch with DPDK (type='vhostuser'); needs the virtio model, and to start, the guest's memory shared with the switch",
            "properties": {
                "path": {"$ref": "#/$defs/absolutePath"},
                "mode": {
                    "enum": ["client", "server"],
                    "description": "QEMU's side: client connects to the switch's socket, server makes the socket",
                },
            },
            "required": ["path", "mode"],
            "additionalProperties": False,
        },
        "model": {
            "enum": ["virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"],
            "description": "the NIC the guest sees; default: virtio",
        },
        "mac": _MAC,
        "driver": {
            "type": "object",
            "description": "virtio-net's options, each left to QEMU unless given",
            "properties": {
                "name": {
                    "enum": ["qemu", "vhost"],
                    "description": "the backend: vhost (in the host kernel, faster) or qemu (in user space)",
                },
                "txmode": {
                    "enum": ["iothread", "timer"],
                    "description": "how the qemu backend sends packets (leave it out)",
                },
                "ioeventfd": {"type": "boolean"},
                "eventIdx": {"type": "boolean"},
                "queues": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 256,
                    "description": "multiqueue: as many as the VM has vCPUs, to spread the NIC's load over them",
                },
                "rxQueueSize": {"enum": [256, 512, 1024], "description": "virtqueue entries"},
                "txQueueSize": {"enum": [256, 512, 1024], "description": "virtqueue entries"},
                "rss": {"type": "boolean", "description": "receive-side scaling in QEMU"},
                "rssHashReport": {"type": "boolean"},
                "iommu": {"type": "boolean"},
                "ats": {"type": "boolean"},
                "packed": {"type": "boolean", "description": "packed virtqueues"},
                "pagePerVq": {"type": "boolean"},
            },
            "additionalProperties": False,
            "examples": [{"name": "vhost", "queues": 4}],
        },
    },
    "additionalProperties": False,
}

SCHEMA = {
    "type": "array",
    "maxItems": 32,
    "description": "the VM's NICs, in the order the guest sees them; their MACs are derived from the VM's uuid unless given",
    "items": INTERFACE_SCHEMA,
    "examples": [
        [{"network": "default"}],
        [{"bridge": "br0", "model": "e1000e", "mac": "52:54:00:12:34:56"}],
        [{"direct": {"dev": "eth0", "mode": "vepa"}}],
        [{"user": {}}],
        [{"ethernet": {"target": "tap-router", "managed": False}}],
        [{"ethernet": {"script": "/etc/qemu-ifup", "target": "tap7"}, "model": "e1000"}],
        [{"vhostuser": {"path": "/run/openvswitch/vhu0.sock", "mode": "client"}}],
        [{"network": "default", "driver": {"name": "vhost", "queues": 4, "rxQueueSize": 1024}}],
    ],
}


def _one_type(spec: Spec) -> Iterator[Finding]:
    listed = ", ".join(TYPES[:-1]) + f" or {TYPES[-1]}"
    for index, interface in enumerate(spec.get("interfaces", [])):
        where: FieldPath = ("spec", "interfaces", index)
        types = [name for name in TYPES if name in interface]
        if not types:
            yield Finding(where, f"an interface needs exactly one of {listed}")
        elif len(types) > 1:
            message = (
                f"an interface has exactly one of {listed}, but sets {types[0]} and {types[1]}"
            )
            yield Finding((*where, types[1]), message)


def _unicast_distinct_macs(spec: Spec) -> Iterator[Finding]:
    seen_macs: dict[str, int] = {}
    for index, interface in enumerate(spec.get("interfaces", [])):
        mac = interface.get("mac")
        if mac is None:
            continue
        where: FieldPath = ("spec", "interfaces", index, "mac")
        mac = mac.lower()
        if int(mac[:2], 16) & 1:
            yield Finding(
                where, f"{mac} is a multicast address; a NIC needs a unicast one (even first byte)"
            )
        if mac in seen_macs:
            yield Finding(where, f"{mac} is already used by interfaces[{seen_macs[mac]}]")
        seen_macs.setdefault(mac, index)


# libvirt's virtio options: it refuses them on any other model (e1000, rtl8139).
VIRTIO_OPTIONS = ("iommu", "ats", "packed", "pagePerVq")


def _virtio_options_on_virtio(spec: Spec) -> Iterator[Finding]:
    for index, interface in enumerate(spec.get("interfaces", [])):
        for key in VIRTIO_OPTIONS:
            if key in interface.get("driver", {}) and model(interface) != "virtio":
                yield Finding(
                    ("spec", "interfaces", index, "driver", key),
                    f"{key} is a virtio option: libvirt refuses it on the {model(interface)} model",
                )


def _multiqueue_where_libvirt_runs_it(spec: Spec) -> Iterator[Finding]:
    for index, interface in enumerate(spec.get("interfaces", [])):
        queues = interface.get("driver", {}).get("queues", 1)
        if "user" in interface and queues > 1:
            # libvirt 9.0 defines it, then refuses to start the guest.
            yield Finding(
                ("spec", "interfaces", index, "driver", "queues"),
                "libvirt starts no user interface with several queues: leave queues out, "
                "or use another interface type",
            )


# Tap names libvirt gives itself (vnetN, macvtapN): it drops them from a definition, so
# a spec that names one would differ from the host after every apply.
LIBVIRTS_OWN_TAP_NAMES = ("vnet", "macvtap", "macvlan")
# ... and the test driver's (test:///), which names every NIC's tap testnet0.
_GENERATED_TAP_NAMES = (*LIBVIRTS_OWN_TAP_NAMES, "testnet")


def _ethernet_and_vhostuser(spec: Spec) -> Iterator[Finding]:
    for index, interface in enumerate(spec.get("interfaces", [])):
        where: FieldPath = ("spec", "interfaces", index)
        ethernet = interface.get("ethernet", {})
        target = ethernet.get("target")
        if target is not None and target.startswith(LIBVIRTS_OWN_TAP_NAMES):
            yield Finding(
                (*where, "ethernet", "target"),
                f"{target} is a name libvirt gives its own tap devices and drops from a "
                "definition: choose another",
            )
        if ethernet.get("managed") is False and target is None:
            yield Finding(
                (*where, "ethernet", "managed"),
                "managed: false uses an existing tap device: name it in target",
            )
        if "vhostuser" in interface and model(interface) != "virtio":
            # libvirt refuses the definition: QEMU's vhost-user is a virtio-net backend.
            yield Finding((*where, "model"), "a vhostuser interface needs the virtio model")


# --- lowering -------------------------------------------------------------------------


def lower(spec: Spec, identity: Identity) -> tuple[Interface, ...]:
    # Imported here: vmspec.lower imports the config tree, which holds this module.
    from vmspec.lower.identity import interface_macs

    interfaces = spec.get("interfaces", [])
    macs = interface_macs(identity.uuid, [interface.get("mac") for interface in interfaces])
    return tuple(
        _interface(interface, mac) for interface, mac in zip(interfaces, macs, strict=True)
    )


def _interface(interface: Spec, mac: str) -> Interface:
    if "bridge" in interface:
        kind, source = "bridge", InterfaceSource(bridge=interface["bridge"])
    elif "network" in interface:
        kind, source = "network", InterfaceSource(network=interface["network"])
    elif "user" in interface:
        kind, source = "user", None
    elif "ethernet" in interface:
        return _ethernet(interface, mac)
    elif "vhostuser" in interface:
        vhostuser = interface["vhostuser"]
        kind = "vhostuser"
        source = InterfaceSource(type="unix", path=vhostuser["path"], mode=vhostuser["mode"])
    else:
        direct = interface["direct"]
        # macvtap in bridge mode lets guests on one host talk to each other; vepa would not.
        kind, source = (
            "direct",
            InterfaceSource(dev=direct["dev"], mode=direct.get("mode", "bridge")),
        )
    return Interface(
        type=kind,
        mac=MacAddress(address=mac),
        source=source,
        model=InterfaceModel(type=model(interface)),
        driver=_driver(interface.get("driver")),
    )


def _ethernet(interface: Spec, mac: str) -> Interface:
    ethernet = interface["ethernet"]
    script = ethernet.get("script")
    named = "target" in ethernet or "managed" in ethernet
    return Interface(
        type="ethernet",
        mac=MacAddress(address=mac),
        script=InterfaceScript(path=script) if script else None,
        target=InterfaceTarget(dev=ethernet.get("target"), managed=ethernet.get("managed"))
        if named
        else None,
        model=InterfaceModel(type=model(interface)),
        driver=_driver(interface.get("driver")),
    )


def _driver(driver: Spec | None) -> InterfaceDriver | None:
    if driver is None:
        return None
    return InterfaceDriver(**{DRIVER_FIELDS[key]: value for key, value in driver.items()})


# --- lifting --------------------------------------------------------------------------


def lift(interfaces: tuple[Interface, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    from vmspec.lower.identity import interface_macs

    # The MACs lowering derives come from the uuid the spec will have: the domain's own.
    derived = interface_macs(identity.uuid, [None] * len(interfaces))
    lifted = []
    for index, interface in enumerate(interfaces):
        entry = _variant(interface)
        if entry is None:
            continue  # named by cannot_say
        if interface.model and interface.model.type and interface.model.type != model(entry):
            entry["model"] = interface.model.type
        mac = interface.mac.address.lower() if interface.mac and interface.mac.address else None
        if mac and mac != derived[index]:
            entry["mac"] = mac
        if interface.driver is not None:
            entry["driver"] = {
                key: getattr(interface.driver, field)
                for key, field in DRIVER_FIELDS.items()
                if getattr(interface.driver, field) is not None
            }
        lifted.append(entry)
    return lifted or None


def _variant(interface: Interface) -> Spec | None:
    """The spec's shape of the interface's type, or None if the spec has none for it."""
    source = interface.source
    if interface.type == "bridge" and source and source.bridge:
        return {"bridge": source.bridge}
    if interface.type == "network" and source and source.network:
        return {"network": source.network}
    if interface.type == "direct" and source and source.dev:
        mode = {"mode": source.mode} if source.mode and source.mode != "bridge" else {}
        return {"direct": {"dev": source.dev, **mode}}
    if interface.type == "user" and source is None:
        return {"user": {}}
    if interface.type == "ethernet" and source is None:
        return {"ethernet": _ethernet_spec(interface)}
    if interface.type == "vhostuser" and source and source.type == "unix" and source.path:
        return {"vhostuser": {"path": source.path, "mode": source.mode}}
    return None


def _ethernet_spec(interface: Interface) -> Spec:
    lifted: Spec = {}
    target = interface.target
    if target and target.dev and not target.dev.startswith(LIBVIRTS_OWN_TAP_NAMES):
        lifted["target"] = target.dev
    if target and target.managed is not None:
        lifted["managed"] = target.managed
    if interface.script and interface.script.path:
        lifted["script"] = interface.script.path
    return lifted


# --- what libvirt fills in ------------------------------------------------------------


def libvirt_fills_in(
    live: tuple[Interface, ...], wanted: tuple[Interface, ...]
) -> tuple[Interface, ...]:
    """A tap device libvirt named itself (vnet3, when the guest runs) is no difference."""
    return tuple(
        dataclasses.replace(nic, target=None) if _libvirts_own_target(nic.target) else nic
        for nic in live
    )


def _libvirts_own_target(target: InterfaceTarget | None) -> bool:
    return bool(
        target
        and target.managed is None
        and (target.dev is None or target.dev.startswith(_GENERATED_TAP_NAMES))
    )


def cannot_say(interfaces: tuple[Interface, ...]) -> tuple[str, ...]:
    known = ", ".join(TYPES[:-1]) + f" and {TYPES[-1]}"
    return tuple(
        f"/domain/devices/interface[{index + 1}]/@type: {item.type} (the spec knows {known})"
        for index, item in enumerate(interfaces)
        if _variant(item) is None
    )


def _unmanaged_taps(interfaces: tuple[Interface, ...]) -> list[tuple[str, str]]:
    """A tap that libvirt does not make (managed='no') must exist before the guest starts."""
    return [
        (f"interface {index + 1}", f"/sys/class/net/{interface.target.dev}")
        for index, interface in enumerate(interfaces)
        if interface.type == "ethernet"
        and interface.target
        and interface.target.dev
        and interface.target.managed is False
    ]


FAMILY = Family(
    spec_field="interfaces",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="interfaces",
    lower=lower,
    lift=lift,
    checks=(
        _one_type,
        _unicast_distinct_macs,
        _multiqueue_where_libvirt_runs_it,
        _virtio_options_on_virtio,
        _ethernet_and_vhostuser,
    ),
    cannot_say=cannot_say,
    host_paths=_unmanaged_taps,
    libvirt_fills_in=libvirt_fills_in,
)
