"""``<interface>``: the VM's NICs, one spec shape per interface type (formatdomain
"Network interfaces"): ``bridge``, ``network``, ``direct`` (macvtap) and ``user``
(QEMU's own user-mode networking).

The MACs the spec leaves out are derived from the VM's uuid (vmspec/lower/identity.py),
so that two compiles are byte-identical and import writes only the MACs it must.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import FieldPath, Finding


@dataclass(**CONFIG)
class MacAddress:
    TAG: ClassVar[str] = "mac"
    address: str | None = attr("address")


@dataclass(**CONFIG)
class InterfaceSource:
    TAG: ClassVar[str] = "source"
    bridge: str | None = attr("bridge")
    network: str | None = attr("network")
    dev: str | None = attr("dev")
    mode: str | None = attr("mode")


@dataclass(**CONFIG)
class InterfaceModel:
    TAG: ClassVar[str] = "model"
    type: str | None = attr("type")


@dataclass(**CONFIG)
class Interface:
    TAG: ClassVar[str] = "interface"
    IDENTITY: ClassVar[tuple[str, ...]] = ("mac/@address",)
    HOTPLUG: ClassVar[bool] = True
    type: str | None = attr("type")
    mac: MacAddress | None = child()
    source: InterfaceSource | None = child()
    model: InterfaceModel | None = child()


# --- policy ---------------------------------------------------------------------------


def model(interface: Spec) -> str:
    # virtio-net: paravirtual and fastest; e1000 only for guests without drivers.
    return interface.get("model", "virtio")


# --- the spec -------------------------------------------------------------------------

TYPES = ("bridge", "network", "direct", "user")
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
        "model": {
            "enum": ["virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"],
            "description": "the NIC the guest sees; default: virtio",
        },
        "mac": _MAC,
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
    return None


def cannot_say(interfaces: tuple[Interface, ...]) -> tuple[str, ...]:
    known = ", ".join(TYPES[:-1]) + f" and {TYPES[-1]}"
    return tuple(
        f"/domain/devices/interface[{index + 1}]/@type: {item.type} (the spec knows {known})"
        for index, item in enumerate(interfaces)
        if _variant(item) is None
    )


FAMILY = Family(
    spec_field="interfaces",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="interfaces",
    lower=lower,
    lift=lift,
    checks=(_one_type, _unicast_distinct_macs),
    cannot_say=cannot_say,
)
