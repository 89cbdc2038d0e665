"""``<channel>``: named virtio ports between host and guest (formatdomain "Channel"):
the QEMU guest agent's (org.qemu.guest_agent.0, ``guestAgent: true``), the SPICE
agent's (com.redhat.spice.0, ``spiceAgent: true``), and any other a guest service
opens by name (org.linux-kvm.port.*); or a guestfwd channel, an address and port of
QEMU's user network that reach the host side; each with a chardev host side (chardev.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vmspec.families import chardev
from vmspec.families.chardev import AnyChardev, ChardevTarget, SpicevmcChardev, UnixChardev
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding

DEFAULT_TYPE = "unix"
TYPE_REASON = (
    "a unix socket, a virtio port's usual host side (libvirt picks its path where none is given)"
)

GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"
SPICE_AGENT_CHANNEL = "com.redhat.spice.0"
_VIRTIO = "virtio"
_GUESTFWD = "guestfwd"

# The agents' channels, as their shorthands lower them: the guest agent's socket where
# libvirt chooses (it connects to it itself), the SPICE agent through the SPICE client.
GUEST_AGENT = UnixChardev(target=ChardevTarget(type=_VIRTIO, name=GUEST_AGENT_CHANNEL))
SPICE_AGENT = SpicevmcChardev(target=ChardevTarget(type=_VIRTIO, name=SPICE_AGENT_CHANNEL))

CHANNEL_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.-]+$",
            "maxLength": 100,
            "description": "the virtio port's name the guest opens it by, such as org.linux-kvm.port.0 (under /dev/virtio-ports)",
        },
        "guestfwd": {
            "type": "object",
            "description": "instead of name: the guest's TCP connections to this address and port of QEMU's user network (10.0.2.0/24) reach the host side",
            "properties": {
                "address": {"$ref": "#/$defs/ipv4"},
                "port": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 65535,
                    "description": "the TCP port of that address the guest connects to",
                },
            },
            "required": ["address", "port"],
            "additionalProperties": False,
        },
        **chardev.SOURCE_PROPERTIES,
        "type": {
            **chardev.SOURCE_PROPERTIES["type"],
            "description": "the host side; default: unix (a socket where libvirt chooses, unless path)",
        },
    },
    "additionalProperties": False,
}

SCHEMA = {
    "type": "array",
    "maxItems": 30,
    "description": "virtio channels besides the agents' (guestAgent, spiceAgent): named ports a guest service opens",
    "items": CHANNEL_SCHEMA,
    "examples": [
        [{"name": "org.linux-kvm.port.0"}],
        [{"guestfwd": {"address": "10.0.2.1", "port": 4600}, "type": "pty"}],
        [
            {"name": "org.qemu.guest_agent.0", "path": "/run/vmspec-agent.sock"},
            {"name": "org.linux-kvm.port.1", "type": "pty"},
        ],
        [
            {
                "name": "com.redhat.spice.0",
                "type": "qemu-vdagent",
                "clipboard": True,
                "mouse": "client",
            }
        ],
    ],
}

ALSO_SAYS = {
    "guestAgent": {
        "type": "boolean",
        "description": f"the QEMU guest agent's channel ({GUEST_AGENT_CHANNEL}): shutdown, freeze and guest information through qemu-guest-agent",
        "examples": [True],
    },
    "spiceAgent": {
        "type": "boolean",
        "description": f"the SPICE agent's channel ({SPICE_AGENT_CHANNEL}): clipboard and screen size from the SPICE client; needs a spice display",
        "examples": [True],
    },
}


def _channel_problems(spec: Spec) -> Iterator[Finding]:
    names = {
        **({GUEST_AGENT_CHANNEL: "guestAgent"} if spec.get("guestAgent") else {}),
        **({SPICE_AGENT_CHANNEL: "spiceAgent"} if spec.get("spiceAgent") else {}),
    }
    for index, channel in enumerate(spec.get("channels", [])):
        where = ("spec", "channels", index)
        yield from chardev.host_problems({"type": DEFAULT_TYPE, **channel}, where, "channel")
        virtio = "name" in channel
        what = "channel" if virtio else "guestfwd channel"
        yield from chardev.spice_problems(channel, where, what, spec, virtio_port=virtio)
        if ("name" in channel) == ("guestfwd" in channel):
            yield Finding(where, "a channel has a name (a virtio port) or guestfwd, one of them")
            continue
        if "guestfwd" in channel:
            if channel.get("type", DEFAULT_TYPE) == "unix" and "path" not in channel:
                # libvirt picks a socket only for a virtio channel.
                yield Finding(where, "a unix guestfwd channel needs a path")
            continue
        name = channel["name"]
        if name in names:
            yield Finding((*where, "name"), f"the channel {name} is already {names[name]}'s")
        names.setdefault(name, f"channels[{index}]")


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, channel in enumerate(spec.get("channels", [])):
        where = ("spec", "channels", index)
        yield from chardev.host_defaults(channel, where, (DEFAULT_TYPE, TYPE_REASON))


def lower(spec: Spec, identity: Identity) -> tuple[AnyChardev, ...]:
    agents = (
        *((GUEST_AGENT,) if spec.get("guestAgent") else ()),
        *((SPICE_AGENT,) if spec.get("spiceAgent") else ()),
    )
    return agents + tuple(
        chardev.lower_host({"type": DEFAULT_TYPE, **channel}, _target(channel))
        for channel in spec.get("channels", [])
    )


def _target(channel: Spec) -> ChardevTarget:
    guestfwd = channel.get("guestfwd")
    if guestfwd is None:
        return ChardevTarget(type=_VIRTIO, name=channel["name"])
    return ChardevTarget(type=_GUESTFWD, address=guestfwd["address"], port=guestfwd["port"])


def lift(channels: tuple[AnyChardev, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    """The agents' channels as their shorthands where they come first, as lowering writes
    them; any other order or form is written out in ``channels``."""
    rest = list(channels)
    for shorthand, agent in (("guestAgent", GUEST_AGENT), ("spiceAgent", SPICE_AGENT)):
        # As libvirt stores it: the agent's socket may come as <source mode='bind'/>.
        if rest and chardev.as_libvirt_stores_it(rest[0]) == agent:
            spec[shorthand] = True
            rest.pop(0)
    lifted = []
    for channel in rest:
        said = _lift_target(channel.target)
        entry = chardev.lift_host(channel)
        if said is None or entry is None:
            continue  # named by cannot_say, or by the self-check
        if entry["type"] == "unix":
            del entry["type"]  # the default
        lifted.append({**said, **entry})
    return lifted or None


def _lift_target(target: ChardevTarget | None) -> Spec | None:
    if target is not None and target.type == _VIRTIO and target.name:
        return {"name": target.name}
    if target is not None and target.type == _GUESTFWD and target.address and target.port:
        return {"guestfwd": {"address": target.address, "port": target.port}}
    return None


def cannot_say(channels: tuple[AnyChardev, ...]) -> tuple[str, ...]:
    return tuple(
        f"/domain/devices/channel[{index + 1}]/target/@type: {channel.target.type} "
        "(the spec knows named virtio channels and guestfwd)"
        for index, channel in enumerate(channels)
        if channel.target and channel.target.type not in (None, _VIRTIO, _GUESTFWD)
    )


def resolved_at_start(live: tuple[Any, ...], wanted: tuple[Any, ...]) -> tuple[Any, ...]:
    by_target = {item.target: item for item in wanted if item.target}
    return tuple(
        chardev.without_allocated_path(channel, by_target.get(channel.target)) for channel in live
    )


FAMILY = Family(
    spec_field="channels",
    schema=SCHEMA,
    also_says=ALSO_SAYS,
    place=Place.DEVICES,
    config_field="channels",
    lower=lower,
    lift=lift,
    cannot_say=cannot_say,
    checks=(_channel_problems,),
    policy_defaults=policy_defaults,
    libvirt_fills_in=chardev.as_stored,
    libvirt_resolves_at_start=resolved_at_start,
)
