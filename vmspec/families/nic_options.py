"""What a NIC carries besides its type (formatdomain "Network interfaces"): the switch
port's profile (``<virtualport>``) and VLANs, bandwidth limits, an isolated port, the
option ROM, link state, MTU, interrupt coalescing, the tap and vhost devices QEMU is
given, the tap's send buffer, and the host and guest offloads of virtio-net.

Each is one config class, one spec key of ``interfaces[N]`` (its schema below), and a
lowering and lifting pair that ``interface.py`` calls for every interface type.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import fields
from typing import Any, ClassVar

from vmspec.config.xmlmap import ON_OFF, attr, child, children, config_class, text_child
from vmspec.families.family import PolicyDefault, Spec
from vmspec.families.hostdev import BootOrder, Rom, rom_findings
from vmspec.problems import FieldPath, Finding

# --- config classes, in libvirt's formatting order -------------------------------------


@config_class
class VlanTag:
    TAG: ClassVar[str] = "tag"
    id: int | None = attr("id")
    native_mode: str | None = attr("nativeMode")


@config_class
class Vlan:
    TAG: ClassVar[str] = "vlan"
    trunk: bool | None = attr("trunk")
    tags: tuple[VlanTag, ...] = children()


@config_class
class VirtualPortParameters:
    TAG: ClassVar[str] = "parameters"
    managerid: int | None = attr("managerid")
    typeid: int | None = attr("typeid")
    typeidversion: int | None = attr("typeidversion")
    instanceid: str | None = attr("instanceid")
    profileid: str | None = attr("profileid")
    interfaceid: str | None = attr("interfaceid")


@config_class
class VirtualPort:
    """The profile of the switch port the NIC is plugged into: an Open vSwitch port, a
    MidoNet port, or an 802.1Qbg/802.1Qbh (VEPA, VN-Tag) port of the physical switch."""

    TAG: ClassVar[str] = "virtualport"
    type: str | None = attr("type")
    parameters: VirtualPortParameters | None = child()


@config_class
class BandwidthRate:
    """``<inbound>`` or ``<outbound>``: KiB/s (average, peak, floor) and KiB (burst)."""

    TAG: ClassVar[str] = "inbound"
    average: int | None = attr("average")
    peak: int | None = attr("peak")
    floor: int | None = attr("floor")
    burst: int | None = attr("burst")


@config_class
class Bandwidth:
    TAG: ClassVar[str] = "bandwidth"
    inbound: BandwidthRate | None = child("inbound")
    outbound: BandwidthRate | None = child("outbound")


@config_class
class PortOptions:
    TAG: ClassVar[str] = "port"
    isolated: bool | None = attr("isolated")


@config_class
class InterfaceBackend:
    """The host devices QEMU opens for the NIC instead of /dev/net/tun and /dev/vhost-net.
    libvirt 9.0's other backend, passt (``type='passt'``), Debian builds without
    (Disable-passt-support.patch): it defines nowhere here, so the spec has no word for it."""

    TAG: ClassVar[str] = "backend"
    tap: str | None = attr("tap")
    vhost: str | None = attr("vhost")


@config_class
class IpAddress:
    """``<ip>``: the guest's address of a user interface, or the host side's of an
    ethernet one (in its ``<source>``)."""

    TAG: ClassVar[str] = "ip"
    address: str | None = attr("address")
    family: str | None = attr("family")
    prefix: int | None = attr("prefix")
    peer: str | None = attr("peer")


@config_class
class Route:
    """``<source><route>``: a host route through an ethernet interface's tap."""

    TAG: ClassVar[str] = "route"
    family: str | None = attr("family")
    address: str | None = attr("address")
    prefix: int | None = attr("prefix")
    gateway: str | None = attr("gateway")
    metric: int | None = attr("metric")


@config_class
class InterfaceTune:
    TAG: ClassVar[str] = "tune"
    sndbuf: int | None = text_child("sndbuf")


@config_class
class LinkState:
    TAG: ClassVar[str] = "link"
    state: str | None = attr("state")


@config_class
class Mtu:
    TAG: ClassVar[str] = "mtu"
    size: int | None = attr("size")


@config_class
class CoalesceFrames:
    TAG: ClassVar[str] = "frames"
    max: int | None = attr("max")


@config_class
class CoalesceRx:
    TAG: ClassVar[str] = "rx"
    frames: CoalesceFrames | None = child()


@config_class
class Coalesce:
    TAG: ClassVar[str] = "coalesce"
    rx: CoalesceRx | None = child()


@config_class
class HostOffloads:
    """``<driver><host>``: what the host side of virtio-net offloads (checksums, TSO...)."""

    TAG: ClassVar[str] = "host"
    csum: bool | None = attr("csum", codec=ON_OFF)
    gso: bool | None = attr("gso", codec=ON_OFF)
    tso4: bool | None = attr("tso4", codec=ON_OFF)
    tso6: bool | None = attr("tso6", codec=ON_OFF)
    ecn: bool | None = attr("ecn", codec=ON_OFF)
    ufo: bool | None = attr("ufo", codec=ON_OFF)
    mrg_rxbuf: bool | None = attr("mrg_rxbuf", codec=ON_OFF)


@config_class
class GuestOffloads:
    TAG: ClassVar[str] = "guest"
    csum: bool | None = attr("csum", codec=ON_OFF)
    tso4: bool | None = attr("tso4", codec=ON_OFF)
    tso6: bool | None = attr("tso6", codec=ON_OFF)
    ecn: bool | None = attr("ecn", codec=ON_OFF)
    ufo: bool | None = attr("ufo", codec=ON_OFF)


# The spec's name of each offload (the config field's, in camelCase).
HOST_OFFLOADS = {
    "csum": "csum",
    "gso": "gso",
    "tso4": "tso4",
    "tso6": "tso6",
    "ecn": "ecn",
    "ufo": "ufo",
    "mrgRxbuf": "mrg_rxbuf",
}
GUEST_OFFLOADS = {key: key for key in ("csum", "tso4", "tso6", "ecn", "ufo")}

# --- the spec --------------------------------------------------------------------------

VIRTUALPORT_TYPES = ("openvswitch", "midonet", "802.1Qbg", "802.1Qbh")
# libvirt's virNetDevVPortProfileCheckComplete and CheckNoExtras: what each type needs,
# and what it may carry besides (instanceid and interfaceid libvirt makes up when missing).
VIRTUALPORT_PARAMETERS = {
    "openvswitch": ((), ("interfaceid", "profileid")),
    "midonet": (("interfaceid",), ()),
    "802.1Qbg": (("managerid", "typeid", "typeidversion"), ("instanceid",)),
    "802.1Qbh": (("profileid",), ()),
    None: ((), ("managerid", "typeid", "typeidversion", "instanceid", "profileid", "interfaceid")),
}
# ...of which libvirt generates a random one at define when it is left out.
GENERATED_IDS = {
    "openvswitch": ("interfaceid",),
    "802.1Qbg": ("instanceid",),
    None: ("instanceid", "interfaceid"),
}

_PROFILE_ID = {
    "type": "string",
    "pattern": "^[a-zA-Z0-9\\-_]{1,39}$",
    "description": "a port profile's name of 1 to 39 letters, digits, '-' and '_' (openvswitch: the port's profile; 802.1Qbh: the profile the switch applies)",
}
_BYTE = {"type": "integer", "minimum": 0, "maximum": 255}
_KIB = {"type": "integer", "minimum": 1, "maximum": 2**32 - 1}


def _rate(directions: str, with_floor: bool) -> dict[str, Any]:
    properties = {
        "average": {**_KIB, "description": "KiB/s on average", "examples": [1000]},
        "peak": {**_KIB, "description": "KiB/s at most, for burst KiB", "examples": [4000]},
        "burst": {**_KIB, "description": "KiB sent at peak rate", "examples": [1024]},
    }
    if with_floor:
        properties["floor"] = {
            **_KIB,
            "description": "KiB/s the NIC is guaranteed (type network only; the network needs an inbound limit)",
            "examples": [500],
        }
    return {
        "type": "object",
        "description": f"the rate {directions}",
        "properties": properties,
        "additionalProperties": False,
    }


# What each of virtio-net's offloads is (libvirt's <host> and <guest> attributes).
_OFFLOADS = {
    "csum": "checksum offload",
    "gso": "generic segmentation offload",
    "tso4": "TCP segmentation offload for IPv4",
    "tso6": "TCP segmentation offload for IPv6",
    "ecn": "TCP segmentation with explicit congestion notification",
    "ufo": "UDP fragmentation offload",
    "mrgRxbuf": "mergeable receive buffers",
}


def _booleans(names: Any, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {
            name: {
                "type": "boolean",
                "description": f"{_OFFLOADS[name]}; false turns it off, default: QEMU's, on",
            }
            for name in names
        },
        "additionalProperties": False,
    }


PROPERTIES: dict[str, Any] = {
    "portgroup": {
        "$ref": "#/$defs/name",
        "description": "the network's port group whose settings (VLAN, bandwidth, virtualport) the NIC takes",
    },
    "trustGuestRxFilters": {
        "type": "boolean",
        "description": "the host follows the guest's MAC and multicast filter changes (macvtap, SR-IOV)",
    },
    "vlan": {
        "type": "object",
        "description": "the VLANs of the NIC's switch port (hostdev, direct passthrough, or Open vSwitch)",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 4095},
                "minItems": 1,
                "uniqueItems": True,
                "description": "the VLAN ids; more than one make a trunk",
            },
            "trunk": {
                "type": "boolean",
                "description": "a single tag carried tagged on a trunk port",
            },
            "native": {
                "type": "object",
                "description": "the trunk's native VLAN: one of the tags, and whether its frames are tagged",
                "properties": {
                    "tag": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 4095,
                        "description": "the native VLAN's id, one of tags",
                    },
                    "mode": {
                        "enum": ["tagged", "untagged"],
                        "description": "whether the native VLAN's frames carry their tag on the trunk (tagged) or not (untagged)",
                    },
                },
                "required": ["tag", "mode"],
                "additionalProperties": False,
            },
        },
        "required": ["tags"],
        "additionalProperties": False,
    },
    "virtualport": {
        "type": "object",
        "description": "the switch port's profile; the type may be left to the network's",
        "properties": {
            "type": {
                "enum": list(VIRTUALPORT_TYPES),
                "description": "the switch the port belongs to: Open vSwitch, MidoNet, or an 802.1Qbg (VEPA) or 802.1Qbh (VN-Tag) physical switch; default: the network's",
            },
            "interfaceid": {"$ref": "#/$defs/uuid"},
            "profileid": _PROFILE_ID,
            "managerid": {
                **_BYTE,
                "description": "802.1Qbg: the VSI manager ID; needed there",
                "examples": [12],
            },
            "typeid": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2**24 - 1,
                "description": "802.1Qbg: the VSI type ID of the port's profile; needed there",
                "examples": [1193047],
            },
            "typeidversion": {
                **_BYTE,
                "description": "802.1Qbg: the version of that VSI type; needed there",
                "examples": [2],
            },
            "instanceid": {"$ref": "#/$defs/uuid"},
        },
        "additionalProperties": False,
        "examples": [{"type": "openvswitch", "profileid": "web"}],
    },
    "bandwidth": {
        "type": "object",
        "description": "rate limits, in the host's view: inbound reaches the guest, outbound leaves it",
        "properties": {
            "inbound": _rate("into the guest", with_floor=True),
            "outbound": _rate("out of the guest", with_floor=False),
        },
        "additionalProperties": False,
    },
    "port": {
        "type": "object",
        "description": "the bridge port's options",
        "properties": {
            "isolated": {
                "type": "boolean",
                "description": "the NIC reaches no other isolated port of its bridge, only the rest",
            }
        },
        "additionalProperties": False,
    },
    "rom": {
        "type": "object",
        "description": "the NIC's option ROM (PXE boot)",
        "properties": {
            "enabled": {"type": "boolean", "description": "false: no ROM at all"},
            "bar": {"type": "boolean", "description": "the ROM is visible in the guest"},
            "file": {
                "$ref": "#/$defs/absolutePath",
                "description": "a file on the host the guest gets as the NIC's ROM instead of QEMU's own",
                "examples": ["/usr/share/ipxe/1af41000.rom"],
            },
        },
        "additionalProperties": False,
    },
    "backend": {
        "type": "object",
        "description": "the host devices QEMU opens instead of /dev/net/tun and /dev/vhost-net",
        "properties": {
            "tap": {"$ref": "#/$defs/absolutePath"},
            "vhost": {
                "$ref": "#/$defs/absolutePath",
                "description": "the vhost-net device QEMU opens instead of /dev/vhost-net",
                "examples": ["/dev/vhost-net"],
            },
        },
        "additionalProperties": False,
    },
    "sndbuf": {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**32 - 1,
        "description": "the tap device's send buffer in bytes (0: unlimited)",
    },
    "link": {"enum": ["up", "down"], "description": "the link the guest sees; default up"},
    "boot": {
        "type": "integer",
        "minimum": 1,
        "description": "the NIC's place in the boot order (PXE; formatdomain 'Specifying boot order'); excludes spec.boot",
    },
    "mtu": {"type": "integer", "minimum": 68, "maximum": 65535, "description": "bytes"},
    "coalesce": {
        "type": "object",
        "description": "interrupt coalescing of the host's tap device",
        "properties": {
            "rxMaxFrames": {
                "type": "integer",
                "minimum": 1,
                "maximum": 2**32 - 1,
                "description": "frames received before an interrupt",
            }
        },
        "required": ["rxMaxFrames"],
        "additionalProperties": False,
    },
}

_IP = {
    "type": "object",
    "properties": {
        "address": {"type": "string", "description": "an IPv4 or IPv6 address"},
        "prefix": {
            "type": "integer",
            "minimum": 0,
            "maximum": 128,
            "description": "the length of the address's network prefix in bits (24 for a /24)",
        },
    },
    "required": ["address"],
    "additionalProperties": False,
}
GUEST_IPS = {
    "type": "array",
    "description": "the guest's network: at most one IPv4 address (prefix 4 to 27) and one IPv6 (prefix 64)",
    "items": _IP,
    "maxItems": 2,
}
HOST_IPS = {
    "type": "array",
    "description": "addresses the host gives its side of the tap",
    "items": {
        **_IP,
        "properties": {
            **_IP["properties"],
            "peer": {"type": "string", "description": "the guest's address across the tap"},
        },
    },
}
HOST_ROUTES = {
    "type": "array",
    "description": "host routes through the tap",
    "items": {
        "type": "object",
        "properties": {
            "address": {
                "type": "string",
                "description": "the destination network's address, IPv4 or IPv6",
            },
            "prefix": {
                "type": "integer",
                "minimum": 0,
                "maximum": 128,
                "description": "the length of the destination's network prefix in bits",
            },
            "gateway": {
                "type": "string",
                "description": "the address the host routes the destination through, such as the guest's across the tap",
            },
            "metric": {
                "type": "integer",
                "minimum": 1,
                "maximum": 2**32 - 1,
                "description": "the route's metric (lower wins); default: the kernel's",
                "examples": [100],
            },
        },
        "required": ["address", "prefix", "gateway"],
        "additionalProperties": False,
    },
}
DRIVER_PROPERTIES: dict[str, Any] = {
    "host": _booleans(HOST_OFFLOADS, "virtio-net's host-side offloads; false turns one off"),
    "guest": _booleans(GUEST_OFFLOADS, "the offloads the guest may use; false turns one off"),
}

# --- lowering --------------------------------------------------------------------------


def lowered(interface: Spec) -> dict[str, Any]:
    """The ``Interface`` fields the spec's options give, by field name."""
    values: dict[str, Any] = {
        "trust_guest_rx_filters": interface.get("trustGuestRxFilters"),
        "vlan": _vlan(interface.get("vlan")),
        "virtualport": _virtualport(interface.get("virtualport")),
        "bandwidth": _bandwidth(interface.get("bandwidth")),
        "port": PortOptions(isolated=interface["port"].get("isolated"))
        if "port" in interface
        else None,
        "boot": BootOrder(order=interface["boot"]) if "boot" in interface else None,
        "rom": Rom(**interface["rom"]) if "rom" in interface else None,
        "backend": InterfaceBackend(**interface["backend"]) if "backend" in interface else None,
        "ips": tuple(ip_addresses(interface.get("user", {}).get("ips", []))),
        "tune": InterfaceTune(sndbuf=interface["sndbuf"]) if "sndbuf" in interface else None,
        "link": LinkState(state=interface["link"]) if "link" in interface else None,
        "mtu": Mtu(size=interface["mtu"]) if "mtu" in interface else None,
        "coalesce": _coalesce(interface.get("coalesce")),
    }
    return {key: value for key, value in values.items() if value is not None}


def ip_addresses(ips: list[Spec]) -> Iterator[IpAddress]:
    # libvirt writes each address's family; writing it too keeps the definition stable.
    for ip in ips:
        yield IpAddress(family=ip_family(ip["address"]), **ip)


def routes(items: list[Spec]) -> tuple[Route, ...]:
    return tuple(Route(family=ip_family(route["address"]), **route) for route in items)


def ip_family(address: str) -> str:
    return "ipv6" if ":" in address else "ipv4"


def lifted_ips(ips: tuple[IpAddress, ...]) -> list[Spec]:
    return [{key: value for key, value in _present(ip).items() if key != "family"} for ip in ips]


def lifted_routes(items: tuple[Route, ...]) -> list[Spec]:
    return [
        {key: value for key, value in _present(route).items() if key != "family"} for route in items
    ]


TRUNK_REASON = "libvirt makes several tags a trunk itself, and writes so"


def is_trunk(vlan: Spec) -> bool:
    return len(vlan["tags"]) > 1 or vlan.get("trunk", False)  # TRUNK_REASON


def option_defaults(interface: Spec, where: FieldPath) -> Iterator[PolicyDefault]:
    """What lowering writes where an interface's options are silent."""
    vlan = interface.get("vlan")
    if vlan is not None and "trunk" not in vlan and is_trunk(vlan):
        yield PolicyDefault((*where, "vlan", "trunk"), True, TRUNK_REASON)


def _vlan(vlan: Spec | None) -> Vlan | None:
    if vlan is None:
        return None
    native = vlan.get("native", {})
    tags = tuple(
        VlanTag(id=tag, native_mode=native.get("mode") if tag == native.get("tag") else None)
        for tag in vlan["tags"]
    )
    return Vlan(trunk=is_trunk(vlan) or None, tags=tags)


def _virtualport(virtualport: Spec | None) -> VirtualPort | None:
    if virtualport is None:
        return None
    parameters = {key: value for key, value in virtualport.items() if key != "type"}
    return VirtualPort(
        type=virtualport.get("type"),
        parameters=VirtualPortParameters(**parameters) if parameters else None,
    )


def _bandwidth(bandwidth: Spec | None) -> Bandwidth | None:
    if bandwidth is None:
        return None
    return Bandwidth(
        inbound=BandwidthRate(**bandwidth["inbound"]) if "inbound" in bandwidth else None,
        outbound=BandwidthRate(**bandwidth["outbound"]) if "outbound" in bandwidth else None,
    )


def _coalesce(coalesce: Spec | None) -> Coalesce | None:
    if coalesce is None:
        return None
    return Coalesce(rx=CoalesceRx(frames=CoalesceFrames(max=coalesce["rxMaxFrames"])))


def lowered_offloads(driver: Spec) -> dict[str, Any]:
    """The ``InterfaceDriver`` children the spec's driver gives."""
    host, guest = driver.get("host"), driver.get("guest")
    return {
        "host": HostOffloads(**{HOST_OFFLOADS[key]: value for key, value in host.items()})
        if host is not None
        else None,
        "guest": GuestOffloads(**guest) if guest is not None else None,
    }


# --- lifting ---------------------------------------------------------------------------


def lifted(interface: Any) -> Spec:
    """The spec's options of an ``Interface``, as lowering reads them."""
    spec: Spec = {}
    if interface.trust_guest_rx_filters is not None:
        spec["trustGuestRxFilters"] = interface.trust_guest_rx_filters
    if interface.vlan is not None and interface.vlan.tags:
        spec["vlan"] = _lift_vlan(interface.vlan)
    if interface.virtualport is not None:
        spec["virtualport"] = _present(interface.virtualport.parameters) | (
            {"type": interface.virtualport.type} if interface.virtualport.type else {}
        )
    if interface.bandwidth is not None:
        bandwidth = {
            key: _present(rate)
            for key in ("inbound", "outbound")
            if (rate := getattr(interface.bandwidth, key)) is not None
        }
        spec["bandwidth"] = bandwidth
    if interface.port is not None:
        spec["port"] = _present(interface.port)
    if interface.boot is not None and interface.boot.order is not None:
        spec["boot"] = interface.boot.order
    if interface.rom is not None:
        spec["rom"] = _present(interface.rom)
    if interface.backend is not None:
        spec["backend"] = _present(interface.backend)
    if interface.tune is not None and interface.tune.sndbuf is not None:
        spec["sndbuf"] = interface.tune.sndbuf
    if interface.link is not None and interface.link.state is not None:
        spec["link"] = interface.link.state
    if interface.mtu is not None and interface.mtu.size is not None:
        spec["mtu"] = interface.mtu.size
    frames = interface.coalesce.rx.frames if interface.coalesce and interface.coalesce.rx else None
    if frames is not None and frames.max is not None:
        spec["coalesce"] = {"rxMaxFrames": frames.max}
    return spec


def _lift_vlan(vlan: Vlan) -> Spec:
    lifted_vlan: Spec = {"tags": [tag.id for tag in vlan.tags]}
    if vlan.trunk and len(vlan.tags) == 1:
        lifted_vlan["trunk"] = True
    native = next((tag for tag in vlan.tags if tag.native_mode), None)
    if native is not None:
        lifted_vlan["native"] = {"tag": native.id, "mode": native.native_mode}
    return lifted_vlan


def lifted_offloads(driver: Any) -> Spec:
    spec: Spec = {}
    if driver.host is not None:
        spec["host"] = {
            key: value
            for key, field in HOST_OFFLOADS.items()
            if (value := getattr(driver.host, field)) is not None
        }
    if driver.guest is not None:
        spec["guest"] = _present(driver.guest)
    return spec


def _present(value: Any) -> Spec:
    """A config object's fields that are set, by name (``None`` → nothing)."""
    if value is None:
        return {}
    return {
        field.name: getattr(value, field.name)
        for field in fields(value)
        if getattr(value, field.name) is not None
    }


# --- what libvirt fills in -------------------------------------------------------------


def without_generated_ids(live: VirtualPort | None, wanted: VirtualPort | None) -> Any:
    """The live virtualport without the ids libvirt made up at define (a random
    interfaceid or instanceid) where the wanted one leaves them out."""
    if live is None or live.parameters is None:
        return live
    wanted_parameters = wanted.parameters if wanted else None
    generated = {
        name: None
        for name in GENERATED_IDS.get(live.type, ())
        if wanted_parameters is None or getattr(wanted_parameters, name) is None
    }
    if not generated:
        return live
    from dataclasses import replace

    parameters = replace(live.parameters, **generated)
    return replace(live, parameters=None if parameters == VirtualPortParameters() else parameters)


# --- semantic checks -------------------------------------------------------------------


def findings(interface: Spec, kind: str, where: FieldPath) -> Iterator[Finding]:
    """What libvirt would refuse in one interface of type ``kind``."""
    yield from _virtualport_parameters(interface, kind, where)
    yield from _vlan_rules(interface, kind, where)
    yield from _bandwidth_rules(interface, kind, where)
    if "portgroup" in interface and kind not in ("network",):
        yield Finding(
            (*where, "portgroup"), "a port group is a libvirt network's: use it with network"
        )
    if interface.get("port", {}).get("isolated") and kind not in ("network", "bridge"):
        # domain_validate.c: only a Linux host bridge isolates ports.
        yield Finding(
            (*where, "port", "isolated"),
            f"libvirt isolates the ports of a bridge or a network only, not of a {kind} interface",
        )
    yield from _addresses(interface, kind, where)
    yield from rom_findings(interface.get("rom"), (*where, "rom"))
    for key, kinds, why in _ONLY_ON:
        if key in interface and kind not in kinds:
            listed = ", ".join(kinds[:-1]) + f" or {kinds[-1]}"
            message = f"{key} is for interface types {listed}, not {kind} (libvirt: {why})"
            yield Finding((*where, key), message)


# What QEMU's driver takes on some interface types only (qemu_validate.c, qemu_domain.c's
# qemuDomainNetSupportsMTU, qemu_command.c's tap options): elsewhere libvirt refuses to
# start the guest, or drops the setting.
_TAP_KINDS = ("network", "bridge", "ethernet", "direct")
_ONLY_ON = (
    ("mtu", ("network", "bridge", "ethernet", "vhostuser"), "setting MTU ... is not supported yet"),
    ("coalesce", ("network", "bridge"), "coalesce settings ... are not supported"),
    ("sndbuf", _TAP_KINDS, "it sets a tap device's send buffer"),
    ("backend", _TAP_KINDS, "it opens these for a tap device"),
)


# The types libvirt takes a <virtualport> on (domain_conf.c: virtualport_flags).
_VIRTUALPORT_KINDS = ("network", "bridge", "direct", "hostdev")


def _virtualport_parameters(interface: Spec, kind: str, where: FieldPath) -> Iterator[Finding]:
    virtualport = interface.get("virtualport")
    if virtualport is None:
        return
    where = (*where, "virtualport")
    if kind not in _VIRTUALPORT_KINDS:
        yield Finding(where, f"libvirt takes no virtualport on a {kind} interface")
        return
    port_type = virtualport.get("type")
    if port_type is None and kind != "network":
        # A network may say the type itself; elsewhere libvirt requires it.
        yield Finding(where, f"a virtualport on a {kind} interface needs its type")
        return
    required, optional = VIRTUALPORT_PARAMETERS[port_type]
    for name in required:
        if name not in virtualport and kind != "network":
            yield Finding(where, f"a virtualport of type {port_type} needs {name}")
    for name in virtualport:
        if name != "type" and name not in required + optional:
            yield Finding((*where, name), f"a virtualport of type {port_type} has no {name}")


def _vlan_rules(interface: Spec, kind: str, where: FieldPath) -> Iterator[Finding]:
    vlan = interface.get("vlan")
    if vlan is None:
        return
    where = (*where, "vlan")
    native = vlan.get("native")
    if native is not None and native.get("tag") not in vlan.get("tags", []):
        yield Finding((*where, "native", "tag"), "the native VLAN must be one of the tags")
    if vlan.get("trunk") is False and (len(vlan.get("tags", [])) > 1 or native is not None):
        yield Finding(
            (*where, "trunk"), "several tags or a native VLAN make a trunk: remove trunk: false"
        )
    direct_mode = interface.get("direct", {}).get("mode", "bridge")
    openvswitch = interface.get("virtualport", {}).get("type") == "openvswitch"
    # domain_validate.c: libvirt sets VLANs on SR-IOV functions and Open vSwitch ports
    # only; a network may give the interface one of those.
    if not (
        kind in ("hostdev", "network")
        or (kind == "direct" and direct_mode == "passthrough")
        or (kind == "bridge" and openvswitch)
    ):
        yield Finding(
            where,
            "libvirt tags VLANs only on a hostdev, a direct passthrough, or an Open vSwitch "
            "bridge (virtualport type openvswitch), or through a network",
        )


def _bandwidth_rules(interface: Spec, kind: str, where: FieldPath) -> Iterator[Finding]:
    bandwidth = interface.get("bandwidth")
    if bandwidth is None:
        return
    where = (*where, "bandwidth")
    if kind == "hostdev":
        yield Finding(where, "libvirt limits no hostdev interface's bandwidth")
    for direction, rate in bandwidth.items():
        if "average" not in rate and "floor" not in rate:
            yield Finding((*where, direction), "a rate needs its average (or floor)")
        elif "average" not in rate and ("peak" in rate or "burst" in rate):
            yield Finding((*where, direction), "peak and burst need the average too")
    if "floor" in bandwidth.get("inbound", {}) and kind != "network":
        yield Finding(
            (*where, "inbound", "floor"), "a floor is guaranteed by a libvirt network only"
        )


def _addresses(interface: Spec, kind: str, where: FieldPath) -> Iterator[Finding]:
    """Addresses the schema takes as strings: each must be an IP address, and a user
    interface's are QEMU's slirp network (qemu_validate.c)."""
    value = interface.get(kind)
    if not isinstance(value, dict):
        return
    where = (*where, kind)
    seen: dict[int, int] = {}
    for index, ip in enumerate(value.get("ips", [])):
        address = _ip(ip.get("address"))
        here = (*where, "ips", index)
        if address is None:
            yield Finding((*here, "address"), f"{ip.get('address')!r} is no IP address")
            continue
        if "peer" in ip and _ip(ip["peer"]) is None:
            yield Finding((*here, "peer"), f"{ip['peer']!r} is no IP address")
        if kind != "user":
            continue
        prefix = ip.get("prefix")
        if address.version in seen:
            yield Finding(
                here,
                f"the guest has one IPv{address.version} network: ips[{seen[address.version]}] is it",
            )
        seen.setdefault(address.version, index)
        if prefix is not None and address.version == 4 and not 4 <= prefix <= 27:
            yield Finding((*here, "prefix"), "QEMU's user network takes an IPv4 prefix of 4 to 27")
        if prefix is not None and address.version == 6 and prefix != 64:
            yield Finding((*here, "prefix"), "QEMU's user network takes an IPv6 prefix of 64 only")
    for index, route in enumerate(value.get("routes", [])):
        for key in ("address", "gateway"):
            if _ip(route.get(key)) is None:
                yield Finding(
                    (*where, "routes", index, key), f"{route.get(key)!r} is no IP address"
                )


def _ip(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(text, str) or "%" in text:
        return None  # an IPv6 scope (fe80::1%eth0), which libvirt's schema refuses
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
