"""``<interface>``: the VM's NICs, one spec shape per interface type (formatdomain
"Network interfaces"): ``bridge``, ``network``, ``direct`` (macvtap), ``user``
(QEMU's own user-mode networking), ``ethernet`` (a tap device of its own),
``vhostuser`` (a user-space switch's socket), ``hostdev`` (an SR-IOV function given to
the guest as its NIC), ``vdpa`` (a vDPA device of the host's), and QEMU's sockets
between guests: ``server`` and ``client`` (TCP), ``mcast`` (a multicast group) and
``udp``. What every type may carry besides (virtualport, VLANs, bandwidth, ROM...) is
``nic_options.py``'s.

The MACs the spec leaves out are derived from the VM's uuid (vmspec/lower/identity.py),
so that two compiles are byte-identical and import writes only the MACs it must.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterator
from typing import ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import ON_OFF, YES_NO, attr, child, children, config_class
from vmspec.families import nic_options, virtio_options
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.families.hostdev import (
    ACPI_INDEX,
    MANAGED_BY_DEFAULT,
    MANAGED_REASON,
    TRANSIENT_TEAMING,
    USER_ALIAS,
    AcpiIndex,
    BootOrder,
    Rom,
    Teaming,
    lifted_teaming,
    pci_address,
    pci_address_problem,
    pci_address_text,
    transient_teaming,
)
from vmspec.families.nic_options import (
    Bandwidth,
    Coalesce,
    GuestOffloads,
    HostOffloads,
    InterfaceBackend,
    InterfaceTune,
    IpAddress,
    LinkState,
    Mtu,
    PortOptions,
    Route,
    VirtualPort,
    Vlan,
)
from vmspec.problems import FieldPath, Finding


@config_class
class MacAddress:
    TAG: ClassVar[str] = "mac"
    address: str | None = attr("address")


@config_class
class SocketEnd:
    """``<source><local>``: a udp interface's own end of the socket."""

    TAG: ClassVar[str] = "local"
    address: str | None = attr("address")
    port: int | None = attr("port")


@config_class
class PciFunction:
    """``<source><address type='pci'>``: the host's SR-IOV function of a hostdev NIC."""

    TAG: ClassVar[str] = "address"
    type: str | None = attr("type")
    domain: str | None = attr("domain")
    bus: str | None = attr("bus")
    slot: str | None = attr("slot")
    function: str | None = attr("function")


@config_class
class Reconnect:
    """``<source><reconnect>``: a vhost-user client connects again, every ``timeout``
    seconds, after the switch closed its socket (a restart of Open vSwitch)."""

    TAG: ClassVar[str] = "reconnect"
    enabled: bool | None = attr("enabled")
    timeout: int | None = attr("timeout")


@config_class
class InterfaceSource:
    """One class for every type's source: libvirt tells them apart by the interface's
    type, and the mapping engine picks a child's class by the child's own attributes."""

    TAG: ClassVar[str] = "source"
    type: str | None = attr("type")  # vhostuser: unix, the only kind of socket
    path: str | None = attr("path")
    bridge: str | None = attr("bridge")
    network: str | None = attr("network")
    portgroup: str | None = attr("portgroup")
    dev: str | None = attr("dev")
    mode: str | None = attr("mode")
    address: str | None = attr("address")  # server, client, mcast, udp
    port: int | None = attr("port")
    local: SocketEnd | None = child()
    function: PciFunction | None = child()  # hostdev
    ips: tuple[IpAddress, ...] = children()  # ethernet: the host side's
    routes: tuple[Route, ...] = children()
    reconnect: Reconnect | None = child()  # vhostuser


@config_class
class InterfaceScript:
    TAG: ClassVar[str] = "script"
    path: str | None = attr("path")


@config_class
class InterfaceTarget:
    """The host side's tap device; libvirt names it (vnetN) unless the spec does."""

    TAG: ClassVar[str] = "target"
    dev: str | None = attr("dev")
    managed: bool | None = attr("managed", codec=YES_NO)


@config_class
class InterfaceModel:
    TAG: ClassVar[str] = "model"
    type: str | None = attr("type")


@config_class
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
    host: HostOffloads | None = child()
    guest: GuestOffloads | None = child()


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


@config_class
class Interface:
    TAG: ClassVar[str] = "interface"
    # A virtio-net failover pair shares one MAC: its teaming role tells the two apart.
    IDENTITY: ClassVar[tuple[str, ...]] = ("mac/@address", "teaming/@type")
    HOTPLUG: ClassVar[bool] = True
    # A user alias (ua-...) is the spec's, which NIC teaming names: compared like any setting
    # (libvirt's own, net0, libvirt_fills_in below drops).
    SPEC_NAMES_ALIAS: ClassVar[bool] = True
    type: str | None = attr("type")
    managed: bool | None = attr("managed")  # hostdev: libvirt detaches the function
    trust_guest_rx_filters: bool | None = attr("trustGuestRxFilters")
    mac: MacAddress | None = child()
    source: InterfaceSource | None = child()
    vlan: Vlan | None = child()
    virtualport: VirtualPort | None = child()
    bandwidth: Bandwidth | None = child()
    port: PortOptions | None = child()
    ips: tuple[IpAddress, ...] = children()  # user: the guest's
    script: InterfaceScript | None = child()
    downscript: InterfaceScript | None = child("downscript")
    target: InterfaceTarget | None = child()
    model: InterfaceModel | None = child()
    driver: InterfaceDriver | None = child()
    backend: InterfaceBackend | None = child()
    tune: InterfaceTune | None = child()
    link: LinkState | None = child()
    mtu: Mtu | None = child()
    teaming: Teaming | None = child()
    coalesce: Coalesce | None = child()
    boot: BootOrder | None = child()
    alias: DeviceAlias | None = child()
    acpi: AcpiIndex | None = child()
    rom: Rom | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


# --- policy ---------------------------------------------------------------------------


# virtio-net, and its two PCI flavours for old guests (transitional: legacy and modern
# virtio at once) and for new ones only (non-transitional): libvirt's virtio models.
VIRTIO_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional")


MODEL_REASON = "virtio-net: paravirtual and fastest; e1000 only for guests without drivers"


DIRECT_MODE = "bridge"
DIRECT_MODE_REASON = (
    "macvtap in bridge mode lets guests on one host talk to each other; vepa (libvirt's "
    "default) would not"
)


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    from vmspec.lower.identity import MAC_REASON, interface_macs  # as in lower, below

    interfaces = spec.get("interfaces", [])
    macs = interface_macs(identity.uuid, [interface.get("mac") for interface in interfaces])
    for index, (interface, mac) in enumerate(zip(interfaces, macs, strict=True)):
        where = ("spec", "interfaces", index)
        if "mac" not in interface:
            yield PolicyDefault((*where, "mac"), mac, MAC_REASON)
        if "model" not in interface:
            yield PolicyDefault((*where, "model"), model(interface), MODEL_REASON)
        yield from nic_options.option_defaults(interface, where)
        direct, hostdev = interface.get("direct"), interface.get("hostdev")
        if direct is not None and "mode" not in direct:
            yield PolicyDefault((*where, "direct", "mode"), DIRECT_MODE, DIRECT_MODE_REASON)
        if hostdev is not None and "managed" not in hostdev:
            managed = MANAGED_BY_DEFAULT["pci"]
            yield PolicyDefault((*where, "hostdev", "managed"), managed, MANAGED_REASON[managed])


def model(interface: Spec) -> str:
    # MODEL_REASON
    return interface.get("model", "virtio")


# --- the spec -------------------------------------------------------------------------

TYPES = (
    "bridge",
    "network",
    "direct",
    "user",
    "ethernet",
    "vhostuser",
    "hostdev",
    "vdpa",
    "server",
    "client",
    "mcast",
    "udp",
)
"""The interface types the spec speaks, each the key of its own shape. libvirt 9.0's
others are not QEMU's (internal, vds) or start no NIC at all (null)."""

# The types whose host side is a device libvirt makes and names (a tap, a macvtap), so
# that the spec may name it (ethernet says its own in ethernet.target).
NAMED_TARGET_TYPES = ("bridge", "network", "direct")

# QEMU's socket netdevs: one guest listens (server) and others connect (client); or they
# all join a multicast group (mcast); or two exchange UDP datagrams (udp).
SOCKET_TYPES = ("server", "client", "mcast", "udp")
_PORT = {
    "type": "integer",
    "minimum": 1,
    "maximum": 65535,
    "description": "the UDP or TCP port of that address",
    "examples": [5558, 5559],
}


def _socket(description: str, *, address_required: bool = True, local: bool = False) -> Spec:
    properties: Spec = {"address": {"$ref": "#/$defs/ipv4"}, "port": _PORT}
    if local:
        properties["local"] = {
            "type": "object",
            "description": "this guest's own end: the address and port it sends from",
            "properties": {"address": {"$ref": "#/$defs/ipv4"}, "port": _PORT},
            "required": ["address", "port"],
            "additionalProperties": False,
        }
    required = ["address", "port"] if address_required else ["port"]
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": [*required, "local"] if local else required,
        "additionalProperties": False,
    }


_MAC = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$",
    "description": "a MAC address such as 52:54:00:aa:bb:cc",
}

INTERFACE_SCHEMA = {
    "type": "object",
    "description": "one NIC: exactly one of the interface types, and what all of them take",
    "properties": {
        # Spec-only: libvirt's <interface> has no name (its <alias> is a device id with a
        # ua- prefix that hot-plug uses), so the name never reaches the XML.
        "name": {
            "$ref": "#/$defs/name",
            "description": "the NIC's name in the spec only (never in the XML): profiles and the VM's own interfaces with the same name merge into one NIC",
            "examples": ["lan"],
        },
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
                "mode": {
                    "enum": ["bridge", "vepa", "private", "passthrough"],
                    "description": "the macvtap mode: guests on the device reach each other (bridge), only through the external switch (vepa), not at all (private), or the guest has the device alone (passthrough); default: bridge",
                },
            },
            "additionalProperties": False,
            "required": ["dev"],
        },
        "user": {
            "type": "object",
            "properties": {"ips": nic_options.GUEST_IPS},
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
                "downscript": {
                    "$ref": "#/$defs/absolutePath",
                    "description": "run when the tap device goes away",
                    "examples": ["/etc/qemu-ifdown"],
                },
                "ips": nic_options.HOST_IPS,
                "routes": nic_options.HOST_ROUTES,
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
                "reconnect": {
                    "anyOf": [
                        {"type": "integer", "minimum": 1, "maximum": 2**32 - 1},
                        {"const": False},
                    ],
                    "description": "client only: connect again after this many seconds when the switch closes the socket (false: never, QEMU's default)",
                },
            },
            "required": ["path", "mode"],
            "additionalProperties": False,
        },
        "hostdev": {
            "type": "object",
            "description": "an SR-IOV virtual function of the host's, given to the guest as its NIC through VFIO (type='hostdev'): libvirt sets its MAC and VLAN on the host first",
            "properties": {
                "address": {
                    "type": "string",
                    "description": "DOMAIN:BUS:SLOT.FUNCTION in hex, as lspci -D prints it (0000:03:10.2); the domain may be left out",
                },
                "driver": {
                    "enum": ["vfio"],
                    "description": "the host-side driver; libvirt uses VFIO when none is named",
                },
                "managed": {
                    "type": "boolean",
                    "description": "libvirt detaches the function from its host driver and gives it back; default true",
                },
            },
            "required": ["address"],
            "additionalProperties": False,
        },
        "vdpa": {
            "type": "object",
            "description": "a vDPA device of the host's (type='vdpa'): virtio in the NIC's hardware; needs the virtio model",
            "properties": {
                "dev": {
                    "type": "string",
                    "pattern": "^/[A-Za-z0-9_.:/-]+$",
                    "description": "the vhost-vdpa character device, such as /dev/vhost-vdpa-0",
                }
            },
            "required": ["dev"],
            "additionalProperties": False,
        },
        "server": _socket(
            "QEMU listens on a TCP port for one client guest's NIC (type='server'); on every address unless one is given",
            address_required=False,
        ),
        "client": _socket("QEMU connects to a server guest's TCP port (type='client')"),
        "mcast": _socket(
            "QEMU joins a multicast group with the other guests of it (type='mcast'); the address is 224.0.0.0 to 239.255.255.255"
        ),
        "udp": _socket(
            "QEMU sends UDP datagrams to the address and port, and receives them on its local ones (type='udp')",
            local=True,
        ),
        **nic_options.PROPERTIES,
        "acpiIndex": ACPI_INDEX,
        "alias": {
            "type": "string",
            "pattern": USER_ALIAS,
            "description": "the NIC's name of the user's (ua-...), for a transient NIC's teaming to name",
        },
        "teaming": {
            "anyOf": [
                {
                    "const": "persistent",
                    "description": "virtio-net failover: this virtio NIC (give it an alias) carries the traffic while the guest migrates",
                },
                TRANSIENT_TEAMING,
            ],
            "description": "virtio-net failover (<teaming>): persistent, the virtio NIC that carries the traffic while the guest migrates, or {persistent: ALIAS}, the transient device (a VF) that carries it otherwise",
        },
        "target": {
            "$ref": "#/$defs/interfaceName",
            "description": "the name of the host's tap (bridge, network) or macvtap (direct) device; libvirt names it vnetN or macvtapN unless given",
        },
        "model": {
            "enum": [*VIRTIO_MODELS, "e1000", "e1000e", "rtl8139", "vmxnet3"],
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
                "ioeventfd": {
                    "type": "boolean",
                    "description": "the qemu backend handles the guest's notifications in its I/O thread (ioeventfd='on') rather than the vCPU's; default: QEMU's, on",
                },
                "eventIdx": {
                    "type": "boolean",
                    "description": "the virtio event index feature (event_idx), fewer interrupts and exits; default: QEMU's, on",
                },
                "queues": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 256,
                    "description": "multiqueue: as many as the VM has vCPUs, to spread the NIC's load over them",
                },
                "rxQueueSize": {"enum": [256, 512, 1024], "description": "virtqueue entries"},
                "txQueueSize": {"enum": [256, 512, 1024], "description": "virtqueue entries"},
                "rss": {"type": "boolean", "description": "receive-side scaling in QEMU"},
                "rssHashReport": {
                    "type": "boolean",
                    "description": "QEMU gives the guest the hash it computed for each packet (rss_hash_report='on'); with rss",
                },
                **virtio_options.OPTIONS,
                **nic_options.DRIVER_PROPERTIES,
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
        [{"vhostuser": {"path": "/run/openvswitch/vhu0.sock", "mode": "client", "reconnect": 10}}],
        [{"network": "default", "driver": {"name": "vhost", "queues": 4, "rxQueueSize": 1024}}],
        [
            {
                "bridge": "br-ovs",
                "virtualport": {"type": "openvswitch", "profileid": "web"},
                "vlan": {"tags": [42, 48], "native": {"tag": 42, "mode": "untagged"}},
            }
        ],
        [
            {
                "network": "default",
                "target": "tap-nine",
                "alias": "ua-lan",
                "acpiIndex": 9,
                "model": "virtio-non-transitional",
                "port": {"isolated": True},
                "link": "down",
                "mtu": 9000,
                "coalesce": {"rxMaxFrames": 32},
                "sndbuf": 1600,
                "boot": 1,
                "rom": {"bar": False},
            }
        ],
        [
            {
                "network": "default",
                "bandwidth": {
                    "inbound": {"average": 1000, "peak": 4000, "burst": 1024},
                    "outbound": {"average": 128},
                },
            }
        ],
        [
            {"server": {"port": 5558}, "model": "e1000"},
            {
                "udp": {
                    "address": "127.0.0.1",
                    "port": 5555,
                    "local": {"address": "127.0.0.1", "port": 5556},
                }
            },
            {"mcast": {"address": "230.0.0.1", "port": 5560}, "rom": {"enabled": False}},
        ],
        [
            {
                "network": "default",
                "driver": {"host": {"csum": False, "mrgRxbuf": False}, "guest": {"tso4": False}},
                "backend": {"tap": "/dev/net/tun"},
            }
        ],
        [{"hostdev": {"address": "0000:03:10.2", "managed": False}, "vlan": {"tags": [42]}}],
        [{"vdpa": {"dev": "/dev/vhost-vdpa-0"}, "driver": {"queues": 2}}],
        [
            {
                "user": {},
                "alias": "ua-backup0",
                "teaming": "persistent",
                "mac": "52:54:00:aa:bb:01",
            },
            {
                "hostdev": {"address": "0000:03:10.3"},
                "teaming": {"persistent": "ua-backup0"},
                "mac": "52:54:00:aa:bb:01",
            },
        ],
        [
            {"user": {"ips": [{"address": "172.17.2.0", "prefix": 24}]}},
            {
                "ethernet": {
                    "ips": [{"address": "192.168.125.1", "prefix": 24, "peer": "192.168.125.2"}],
                    "routes": [{"address": "10.20.0.0", "prefix": 16, "gateway": "192.168.125.2"}],
                }
            },
        ],
        [
            {
                "network": "default",
                "portgroup": "web",
                "trustGuestRxFilters": True,
                "virtualport": {"interfaceid": "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"},
            }
        ],
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


def _distinct_names(spec: Spec) -> Iterator[Finding]:
    # A name says which NIC a profile's interface merges into: two would be ambiguous.
    seen_names: dict[str, int] = {}
    for index, interface in enumerate(spec.get("interfaces", [])):
        if "name" not in interface:
            continue
        earlier = seen_names.setdefault(interface["name"], index)
        if earlier != index:
            message = f"the name {interface['name']!r} is already used by interfaces[{earlier}]"
            yield Finding(("spec", "interfaces", index, "name"), message)


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
        earlier = seen_macs.get(mac)
        # A failover pair shares its MAC: the guest sees one NIC (formatdomain "Teaming").
        if earlier is not None and not _team(spec["interfaces"][earlier], interface):
            yield Finding(where, f"{mac} is already used by interfaces[{earlier}]")
        seen_macs.setdefault(mac, index)


def _team(first: Spec, second: Spec) -> bool:
    """Whether one of two NICs is the other's transient failover device."""
    return any(
        isinstance(one.get("teaming"), dict)
        and other.get("teaming") == "persistent"
        and one["teaming"].get("persistent") == other.get("alias")
        for one, other in ((first, second), (second, first))
    )


def _teaming(spec: Spec) -> Iterator[Finding]:
    # libvirt (domain_validate.c, qemu_validate.c) and QEMU's failover: the persistent NIC
    # is virtio-net with an alias; a transient one names it, and is an SR-IOV function.
    interfaces = spec.get("interfaces", [])
    persistent = {
        nic.get("alias"): index
        for index, nic in enumerate(interfaces)
        if nic.get("teaming") == "persistent"
    }
    for index, nic in enumerate(interfaces):
        where: FieldPath = ("spec", "interfaces", index)
        kinds = [kind for kind in TYPES if kind in nic]
        if nic.get("teaming") == "persistent":
            if "alias" not in nic:
                yield Finding(
                    (*where, "teaming"),
                    "a persistent NIC needs an alias for its transient one to name",
                )
            if model(nic) not in VIRTIO_MODELS:
                yield Finding((*where, "model"), "a persistent failover NIC is virtio-net")
        elif (
            isinstance(nic.get("teaming"), dict)
            and kinds
            and kinds[0] not in ("hostdev", "network")
        ):
            yield Finding(
                (*where, "teaming"),
                f"a transient failover NIC is a hostdev (or network) one, not {kinds[0]}",
            )
    for field in ("interfaces", "hostdevs"):
        for index, item in enumerate(spec.get(field, [])):
            teaming = item.get("teaming") if isinstance(item, dict) else None
            if not isinstance(teaming, dict) or teaming.get("persistent") in persistent:
                continue
            yield Finding(
                ("spec", field, index, "teaming", "persistent"),
                f"no persistent NIC has the alias {teaming.get('persistent')}: give the virtio NIC "
                "that alias and teaming: persistent",
            )


# libvirt's virtio options: it refuses them on any other model (e1000, rtl8139); and it
# drops the offloads there, as it writes a <driver> for virtio-net only.
VIRTIO_OPTIONS = ("iommu", "ats", "packed", "pagePerVq", "host", "guest")


def _virtio_options_on_virtio(spec: Spec) -> Iterator[Finding]:
    for index, interface in enumerate(spec.get("interfaces", [])):
        for key in VIRTIO_OPTIONS:
            if key in interface.get("driver", {}) and model(interface) not in VIRTIO_MODELS:
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
        for field, name in (
            (("ethernet", "target"), target),
            (("target",), interface.get("target")),
        ):
            if isinstance(name, str) and name.startswith(LIBVIRTS_OWN_TAP_NAMES):
                yield Finding(
                    (*where, *field),
                    f"{name} is a name libvirt gives its own tap devices and drops from a "
                    "definition: choose another",
                )
        kinds = [kind for kind in TYPES if kind in interface]
        if "target" in interface and kinds and kinds[0] not in NAMED_TARGET_TYPES:
            message = (
                "ethernet.target names an ethernet interface's tap"
                if kinds[0] == "ethernet"
                else f"libvirt makes no tap device of its own for a {kinds[0]} interface"
            )
            yield Finding((*where, "target"), message)
        if ethernet.get("managed") is False and target is None:
            yield Finding(
                (*where, "ethernet", "managed"),
                "managed: false uses an existing tap device: name it in target",
            )
        elif "managed" in ethernet and target is None:
            # libvirt's schema: a <target> has its dev.
            yield Finding(
                (*where, "ethernet", "managed"),
                "managed says whether libvirt makes the tap device target: name it in target",
            )
        if "vhostuser" in interface and model(interface) not in VIRTIO_MODELS:
            # libvirt refuses the definition: QEMU's vhost-user is a virtio-net backend.
            yield Finding((*where, "model"), "a vhostuser interface needs the virtio model")
        vhostuser = interface.get("vhostuser", {})
        if vhostuser.get("reconnect") and vhostuser.get("mode") == "server":
            # domain_validate.c: "'reconnect' attribute unsupported 'server' mode".
            message = "a server makes the socket: only a client reconnects"
            yield Finding((*where, "vhostuser", "reconnect"), message)


def _sources(spec: Spec) -> Iterator[Finding]:
    for index, interface in enumerate(spec.get("interfaces", [])):
        where: FieldPath = ("spec", "interfaces", index)
        hostdev = interface.get("hostdev")
        if isinstance(hostdev, dict) and isinstance(hostdev.get("address"), str):
            problem = pci_address_problem(hostdev["address"])
            if problem:
                yield Finding((*where, "hostdev", "address"), problem)
            driver = interface.get("driver", {})
            if "name" in driver:
                yield Finding(
                    (*where, "driver", "name"),
                    "a hostdev NIC's driver is VFIO's (hostdev.driver): qemu and vhost are virtio-net's backends",
                )
            elif driver:
                # libvirt's schema gives a hostdev NIC's <driver> a name only: the function
                # is the host's hardware, not QEMU's virtio-net.
                yield Finding(
                    (*where, "driver", next(iter(driver))),
                    "a hostdev NIC is the host's hardware: virtio-net's driver options do not apply",
                )
        if "vdpa" in interface and model(interface) != "virtio":
            # libvirt's qemu driver: vDPA devices are virtio-net in hardware.
            yield Finding((*where, "model"), "a vdpa interface needs the virtio model")
        address = interface.get("mcast", {}).get("address")
        if isinstance(address, str) and not ipaddress.IPv4Address(address).is_multicast:
            yield Finding(
                (*where, "mcast", "address"),
                f"{address} is no multicast group: use one of 224.0.0.0 to 239.255.255.255",
            )


def _options(spec: Spec) -> Iterator[Finding]:
    for index, interface in enumerate(spec.get("interfaces", [])):
        kinds = [name for name in TYPES if name in interface]
        if len(kinds) == 1:
            yield from nic_options.findings(interface, kinds[0], ("spec", "interfaces", index))


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
    kind = next(name for name in TYPES if name in interface)
    teaming = interface.get("teaming")
    own = {"type": kind}
    if kind not in ("ethernet", "hostdev"):
        # Given to the one constructor call: dataclasses.replace would build it twice.
        own["source"] = _source(kind, interface)
        own["target"] = InterfaceTarget(dev=interface["target"]) if "target" in interface else None
    base = Interface(
        **own,
        mac=MacAddress(address=mac),
        model=InterfaceModel(type=model(interface)),
        driver=_driver(interface.get("driver")),
        teaming=Teaming(type="persistent")
        if teaming == "persistent"
        else transient_teaming(teaming),
        alias=DeviceAlias(name=interface["alias"]) if "alias" in interface else None,
        acpi=AcpiIndex(index=interface["acpiIndex"]) if "acpiIndex" in interface else None,
        **nic_options.lowered(interface),
    )
    if kind == "ethernet":
        return _ethernet(base, interface["ethernet"])
    if kind == "hostdev":
        return _hostdev(base, interface["hostdev"])
    return base


def _source(kind: str, interface: Spec) -> InterfaceSource | None:
    value = interface[kind]
    if kind == "bridge":
        return InterfaceSource(bridge=value)
    if kind == "network":
        return InterfaceSource(network=value, portgroup=interface.get("portgroup"))
    if kind == "user":
        return None
    if kind == "vhostuser":
        reconnect = value.get("reconnect")
        return InterfaceSource(
            type="unix",
            path=value["path"],
            mode=value["mode"],
            reconnect=None
            if reconnect is None
            else Reconnect(enabled=reconnect is not False, timeout=reconnect or None),
        )
    if kind == "vdpa":
        return InterfaceSource(dev=value["dev"])
    if kind in SOCKET_TYPES:
        local = value.get("local")
        return InterfaceSource(
            address=value.get("address"),
            port=value["port"],
            local=SocketEnd(address=local["address"], port=local["port"]) if local else None,
        )
    return InterfaceSource(dev=value["dev"], mode=value.get("mode", DIRECT_MODE))


def _ethernet(base: Interface, ethernet: Spec) -> Interface:
    script, downscript = ethernet.get("script"), ethernet.get("downscript")
    named = "target" in ethernet or "managed" in ethernet
    ips = tuple(nic_options.ip_addresses(ethernet.get("ips", [])))
    routes = nic_options.routes(ethernet.get("routes", []))
    return dataclasses.replace(
        base,
        source=InterfaceSource(ips=ips, routes=routes) if ips or routes else None,
        script=InterfaceScript(path=script) if script else None,
        downscript=InterfaceScript(path=downscript) if downscript else None,
        target=InterfaceTarget(dev=ethernet.get("target"), managed=ethernet.get("managed"))
        if named
        else None,
    )


def _hostdev(base: Interface, hostdev: Spec) -> Interface:
    address = pci_address(hostdev["address"])
    driver = hostdev.get("driver")
    if driver is not None:
        base = dataclasses.replace(
            base, driver=dataclasses.replace(base.driver or InterfaceDriver(), name=driver)
        )
    return dataclasses.replace(
        base,
        # as for a PCI hostdev (MANAGED_REASON)
        managed=hostdev.get("managed", MANAGED_BY_DEFAULT["pci"])
        or None,  # libvirt writes yes only
        source=InterfaceSource(
            function=PciFunction(
                type="pci",
                domain=address.domain,
                bus=address.bus,
                slot=address.slot,
                function=address.function,
            )
        ),
    )


def _driver(driver: Spec | None) -> InterfaceDriver | None:
    if driver is None:
        return None
    return InterfaceDriver(
        **{DRIVER_FIELDS[key]: value for key, value in driver.items() if key in DRIVER_FIELDS},
        **nic_options.lowered_offloads(driver),
    )


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
        driver = _lift_driver(interface)
        if driver is not None:
            entry["driver"] = driver
        if interface.source is not None and interface.source.portgroup is not None:
            entry["portgroup"] = interface.source.portgroup
        target = interface.target
        if interface.type in NAMED_TARGET_TYPES and _named_by_hand(target):
            entry["target"] = target.dev
        if interface.alias is not None and _users_alias(interface.alias):
            entry["alias"] = interface.alias.name
        if interface.acpi is not None and interface.acpi.index is not None:
            entry["acpiIndex"] = interface.acpi.index
        teaming = lifted_teaming(interface.teaming) if interface.teaming else None
        if teaming is not None:
            entry["teaming"] = teaming
        entry.update(nic_options.lifted(interface))
        lifted.append(entry)
    return lifted or None


def _lift_driver(interface: Interface) -> Spec | None:
    driver = interface.driver
    if driver is None:
        return None
    lifted = {
        key: getattr(driver, field)
        for key, field in DRIVER_FIELDS.items()
        if getattr(driver, field) is not None
    }
    if interface.type == "hostdev" and lifted.get("name") == "vfio":
        del lifted["name"]  # said by the hostdev's driver
        if not lifted and driver.host is None and driver.guest is None:
            return None
    return lifted | nic_options.lifted_offloads(driver)


def _variant(interface: Interface) -> Spec | None:
    """The spec's shape of the interface's type, or None if the spec has none for it."""
    source, kind = interface.source, interface.type
    if kind == "bridge" and source and source.bridge:
        return {"bridge": source.bridge}
    if kind == "network" and source and source.network:
        return {"network": source.network}
    if kind == "direct" and source and source.dev:
        mode = {"mode": source.mode} if source.mode and source.mode != "bridge" else {}
        return {"direct": {"dev": source.dev, **mode}}
    if kind == "user":
        return _user_spec(interface)
    if kind == "ethernet" and (
        source is None or source == InterfaceSource(ips=source.ips, routes=source.routes)
    ):
        return {"ethernet": _ethernet_spec(interface)}
    if kind == "vhostuser" and source and source.type == "unix" and source.path:
        lifted: Spec = {"path": source.path, "mode": source.mode}
        reconnect = source.reconnect
        if reconnect is not None and reconnect.enabled is False and reconnect.timeout is None:
            lifted["reconnect"] = False
        elif reconnect is not None and reconnect.enabled and reconnect.timeout:
            lifted["reconnect"] = reconnect.timeout
        return {"vhostuser": lifted}
    if kind == "vdpa" and source and source.dev:
        return {"vdpa": {"dev": source.dev}}
    if kind in SOCKET_TYPES and source and source.port is not None:
        return {kind: _socket_spec(source)}
    if kind == "hostdev" and source:
        return _hostdev_spec(interface)
    return None


def _user_spec(interface: Interface) -> Spec | None:
    if interface.source is not None:
        return None  # passt's host interface: no word for passt here (nic_options.py)
    return {"user": {"ips": nic_options.lifted_ips(interface.ips)} if interface.ips else {}}


def _socket_spec(source: InterfaceSource) -> Spec:
    lifted: Spec = {"address": source.address} if source.address else {}
    lifted["port"] = source.port
    if source.local is not None:
        lifted["local"] = {"address": source.local.address, "port": source.local.port}
    return lifted


def _hostdev_spec(interface: Interface) -> Spec | None:
    address = pci_address_text(interface.source.function if interface.source else None)
    function = interface.source.function if interface.source else None
    if address is None or function is None or function.type != "pci":
        return None  # a USB NIC: no word for it yet
    lifted: Spec = {"address": address}
    if interface.driver is not None and interface.driver.name == "vfio":
        lifted["driver"] = "vfio"
    managed = bool(interface.managed)  # libvirt reads a missing managed as 'no'
    if managed != MANAGED_BY_DEFAULT["pci"]:
        lifted["managed"] = managed
    return {"hostdev": lifted}


def _ethernet_spec(interface: Interface) -> Spec:
    lifted: Spec = {}
    target = interface.target
    if target and target.dev and not target.dev.startswith(LIBVIRTS_OWN_TAP_NAMES):
        lifted["target"] = target.dev
    if target and target.managed is not None:
        lifted["managed"] = target.managed
    for key in ("script", "downscript"):
        script = getattr(interface, key)
        if script and script.path:
            lifted[key] = script.path
    if interface.source is not None and interface.source.ips:
        lifted["ips"] = nic_options.lifted_ips(interface.source.ips)
    if interface.source is not None and interface.source.routes:
        lifted["routes"] = nic_options.lifted_routes(interface.source.routes)
    return lifted


# --- what libvirt fills in ------------------------------------------------------------


def libvirt_fills_in(
    live: tuple[Interface, ...], wanted: tuple[Interface, ...]
) -> tuple[Interface, ...]:
    """A tap device libvirt named itself (vnet3, when the guest runs) is no difference,
    nor the virtualport ids it made up at define where the spec gives none."""
    wanted_by_mac = {_mac_and_role(nic): nic for nic in wanted if nic.mac and nic.mac.address}
    filled = []
    for nic in live:
        if _libvirts_own_target(nic.target):
            nic = dataclasses.replace(nic, target=None)
        if nic.alias is not None and not _users_alias(nic.alias):
            nic = dataclasses.replace(nic, alias=None)  # net0: a running guest's
        counterpart = wanted_by_mac.get(_mac_and_role(nic)) if nic.mac else None
        virtualport = nic_options.without_generated_ids(
            nic.virtualport, counterpart.virtualport if counterpart else None
        )
        filled.append(dataclasses.replace(nic, virtualport=virtualport))
    return tuple(filled)


def _mac_and_role(nic: Interface) -> tuple[str, str | None]:
    """A NIC's MAC and its teaming role: the two NICs of a failover pair share the MAC."""
    return (
        (nic.mac.address or "").lower() if nic.mac else "",
        nic.teaming.type if nic.teaming else None,
    )


def _users_alias(alias: DeviceAlias) -> bool:
    return bool(alias.name and re.match(USER_ALIAS, alias.name))


def _named_by_hand(target: InterfaceTarget | None) -> bool:
    """A tap or macvtap the spec can name: the user's plain name, not one of libvirt's."""
    named = bool(target and target.dev and target.managed is None)
    return named and not _libvirts_own_target(target)


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


def _host_paths(interfaces: tuple[Interface, ...]) -> list[tuple[str, str]]:
    """What must exist before the guest starts: a tap that libvirt does not make
    (managed='no'), a vDPA device, a macvtap's host NIC, the tap and vhost devices of a
    backend, a ROM file."""
    found = []
    for index, interface in enumerate(interfaces):
        what = f"interface {index + 1}"
        target, source = interface.target, interface.source
        if interface.type == "ethernet" and target and target.dev and target.managed is False:
            found.append((what, f"/sys/class/net/{target.dev}"))
        if interface.type == "vdpa" and source and source.dev:
            found.append((what, source.dev))
        if interface.type == "direct" and source and source.dev:
            found.append((what, f"/sys/class/net/{source.dev}"))  # macvtap's host NIC
        backend = interface.backend
        found += [(what, path) for path in (backend.tap, backend.vhost) if path] if backend else []
        if interface.rom is not None and interface.rom.file:
            found.append((what, interface.rom.file))
    return found


FAMILY = Family(
    spec_field="interfaces",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="interfaces",
    lower=lower,
    lift=lift,
    checks=(
        _one_type,
        _distinct_names,
        _unicast_distinct_macs,
        _multiqueue_where_libvirt_runs_it,
        _virtio_options_on_virtio,
        _ethernet_and_vhostuser,
        _sources,
        _options,
        _teaming,
    ),
    cannot_say=cannot_say,
    host_paths=_host_paths,
    libvirt_fills_in=libvirt_fills_in,
    policy_defaults=policy_defaults,
)
