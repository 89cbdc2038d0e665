"""``<console>``: the VM's consoles (formatdomain "Console"). The first serial port is
also the console (``virsh console``), which vmspec writes itself, as libvirt would;
``spec.consoles`` adds consoles of their own: virtio (hvc0, any guest kernel has it)
or s390's sclp and sclplm.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from vmspec.arches import spec_arch
from vmspec.families import chardev
from vmspec.families.chardev import AnyChardev, ChardevTarget, PtyChardev
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding

# A console of the first serial port has target serial; these are consoles of their own.
TARGETS = ("virtio", "sclp", "sclplm")
DEFAULT_TARGET = "virtio"
TARGET_REASON = "the paravirtual console (hvc0) every guest kernel has, on every arch"
_SERIAL_TARGET = "serial"
_DEBUG_TARGET = "isa-debug"  # QEMU's debug console port 0x402, which firmware writes to

CONSOLE_SCHEMA = {
    "type": "object",
    "properties": {
        **chardev.SOURCE_PROPERTIES,
        "target": {
            "enum": list(TARGETS),
            "description": f"the console the guest sees: virtio (hvc0), or s390x's sclp and sclplm; default: {DEFAULT_TARGET}",
        },
    },
    "additionalProperties": False,
    "required": ["type"],
}

SCHEMA = {
    "type": "array",
    "maxItems": 8,
    "description": "consoles besides the first serial port's (which is the VM's console without being listed here)",
    "items": CONSOLE_SCHEMA,
    "examples": [
        [{"type": "pty"}],
        [{"type": "pty", "target": "virtio"}, {"type": "file", "path": "/var/log/vmspec-hvc1.log"}],
    ],
}


def _console_problems(spec: Spec) -> Iterator[Finding]:
    for index, console in enumerate(spec.get("consoles", [])):
        where = ("spec", "consoles", index)
        yield from chardev.host_problems(console, where, "console")
        yield from chardev.spice_problems(console, where, "console", spec)
        if console["type"] == "unix" and "path" not in console:
            yield Finding(where, "a unix console needs a path")
        target = console.get("target", DEFAULT_TARGET)
        if target.startswith("sclp") and spec_arch(spec) != "s390x":
            yield Finding((*where, "target"), f"{target} is s390x's console")


def mirror(first_serial: Any) -> Any:
    """The console of the first serial port: its host side, target serial port 0."""
    return dataclasses.replace(first_serial, target=ChardevTarget(type=_SERIAL_TARGET, port=0))


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, console in enumerate(spec.get("consoles", [])):
        where = ("spec", "consoles", index)
        if "target" not in console:
            yield PolicyDefault((*where, "target"), DEFAULT_TARGET, TARGET_REASON)
        yield from chardev.host_defaults(console, where)


def lower(spec: Spec, identity: Identity) -> tuple[AnyChardev, ...]:
    from vmspec.families.serial import lower as lower_serials

    serials = lower_serials(spec, identity)
    # libvirt mirrors the first serial port as the console (not a debug port, which is
    # no terminal); writing it keeps the XML stable.
    first = serials[0] if serials else None
    consoles = [mirror(first)] if first and first.target.type != _DEBUG_TARGET else []
    for console in spec.get("consoles", []):
        target = ChardevTarget(type=console.get("target", DEFAULT_TARGET), port=len(consoles))
        consoles.append(chardev.lower_host(console, target))
    return tuple(consoles)


def lift(consoles: tuple[AnyChardev, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    lifted = []
    for console in consoles:
        target = console.target.type if console.target else None
        if target in (None, _SERIAL_TARGET):
            continue  # the first serial port's: lowering writes it; cannot_say names others
        entry = chardev.lift_host(console)
        if entry is None:
            continue
        if target != DEFAULT_TARGET:
            entry["target"] = target
        lifted.append(entry)
    return lifted or None


def cannot_say(consoles: tuple[AnyChardev, ...]) -> tuple[str, ...]:
    return tuple(
        f"/domain/devices/console[{index + 1}]/target/@type: serial (a serial port's console "
        "other than the first port's own)"
        for index, console in enumerate(consoles)
        if index > 0 and console.target and console.target.type == _SERIAL_TARGET
    )


def is_bare_pty_console(console: Any) -> bool:
    """``<console type='pty'/>`` with no target, or a serial one without a port."""
    target = console.target
    return (
        isinstance(console, PtyChardev)
        and console.source is None
        and console.log is None
        and (target is None or (target.type in (None, "serial") and target.port in (None, 0)))
    )


def as_serial_pair(devices: Any) -> Any:
    """A pty console alone, or a pty serial port alone (virt-install writes either), is to
    libvirt a serial port with its console: define turns it into the pair, which is what
    vmspec writes for a pty serial port (``serials: [{type: pty}]``)."""
    serials, consoles = devices.serials, devices.consoles
    pty = PtyChardev(target=ChardevTarget(port=0))
    console_alone = not serials and consoles[:1] and is_bare_pty_console(consoles[0])
    serial_alone = not consoles and serials[:1] == (PtyChardev(),)
    if not (console_alone or serial_alone):
        return devices
    return dataclasses.replace(
        devices, serials=(pty, *serials[1:]), consoles=(mirror(pty), *consoles[1:])
    )


FAMILY = Family(
    spec_field="consoles",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="consoles",
    lower=lower,
    lift=lift,
    cannot_say=cannot_say,
    checks=(_console_problems,),
    policy_defaults=policy_defaults,
    libvirt_fills_in=chardev.as_stored_in_order,
    libvirt_resolves_at_start=chardev.each_against_wanted,
)
