"""``<channel>``: named virtio ports between host and guest (formatdomain "Channel"):
the QEMU guest agent's (org.qemu.guest_agent.0, ``guestAgent: true``), the SPICE
agent's (com.redhat.spice.0, ``spiceAgent: true``), and any other a guest service
opens by name (org.linux-kvm.port.*), each with a chardev host side (chardev.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vmspec.families import chardev
from vmspec.families.chardev import AnyChardev, ChardevTarget, SpicevmcChardev, UnixChardev
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding

GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"
SPICE_AGENT_CHANNEL = "com.redhat.spice.0"
_VIRTIO = "virtio"

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
        **chardev.SOURCE_PROPERTIES,
        "type": {
            **chardev.SOURCE_PROPERTIES["type"],
            "description": "the host side; default: unix (a socket where libvirt chooses, unless path)",
        },
    },
    "additionalProperties": False,
    "required": ["name"],
}

SCHEMA = {
    "type": "array",
    "maxItems": 30,
    "description": "virtio channels besides the agents' (guestAgent, spiceAgent): named ports a guest service opens",
    "items": CHANNEL_SCHEMA,
    "examples": [
        [{"name": "org.linux-kvm.port.0"}],
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
        yield from chardev.host_problems({"type": "unix", **channel}, where, "channel")
        name = channel["name"]
        if name in names:
            yield Finding((*where, "name"), f"the channel {name} is already {names[name]}'s")
        names.setdefault(name, f"channels[{index}]")


def lower(spec: Spec, identity: Identity) -> tuple[AnyChardev, ...]:
    agents = (
        *((GUEST_AGENT,) if spec.get("guestAgent") else ()),
        *((SPICE_AGENT,) if spec.get("spiceAgent") else ()),
    )
    return agents + tuple(
        chardev.lower_host(
            {"type": "unix", **channel}, ChardevTarget(type=_VIRTIO, name=channel["name"])
        )
        for channel in spec.get("channels", [])
    )


def lift(channels: tuple[AnyChardev, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    """The agents' channels as their shorthands where they come first, as lowering writes
    them; any other order or form is written out in ``channels``."""
    rest = [chardev.as_libvirt_stores_it(channel) for channel in channels]
    for shorthand, agent in (("guestAgent", GUEST_AGENT), ("spiceAgent", SPICE_AGENT)):
        if rest[:1] == [agent]:
            spec[shorthand] = True
            rest.pop(0)
    lifted = []
    for channel in rest:
        target = channel.target
        if target is None or target.type != _VIRTIO or not target.name:
            continue  # named by cannot_say
        entry = chardev.lift_host(channel)
        if entry is None:
            continue
        if entry["type"] == "unix":
            del entry["type"]  # the default
        lifted.append({"name": target.name, **entry})
    return lifted or None


def cannot_say(channels: tuple[AnyChardev, ...]) -> tuple[str, ...]:
    return tuple(
        f"/domain/devices/channel[{index + 1}]/target/@type: {channel.target.type} "
        "(the spec knows named virtio channels)"
        for index, channel in enumerate(channels)
        if channel.target and channel.target.type not in (None, _VIRTIO)
    )


def resolved_at_start(live: tuple[Any, ...], wanted: tuple[Any, ...]) -> tuple[Any, ...]:
    by_name = {item.target.name: item for item in wanted if item.target}
    return tuple(
        chardev.without_allocated_path(
            channel, by_name.get(channel.target.name) if channel.target else None
        )
        for channel in live
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
    libvirt_fills_in=chardev.as_stored,
    libvirt_resolves_at_start=resolved_at_start,
)
