"""``<serial>``: the guest's serial ports, in order (formatdomain "Guest interface",
"Serial port"): ttyS0 is the first. Each port's host side is one of the chardev
types (chardev.py); libvirt mirrors the first port as the console (console.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from vmspec.arches import default_serial_target_type, spec_arch
from vmspec.families import chardev
from vmspec.families.chardev import AnyChardev, ChardevTarget
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding

# libvirt 9.0's serial target types: the UART the guest sees. isa-serial is x86's
# built-in one, pci-serial and usb-serial are cards, spapr-vio-serial pseries',
# system-serial the board's own (Arm's PL011), sclp-serial s390's.
TARGETS = (
    "isa-serial",
    "usb-serial",
    "pci-serial",
    "spapr-vio-serial",
    "system-serial",
    "sclp-serial",
    "isa-debug",
)

SERIAL_SCHEMA = {
    "type": "object",
    "properties": {
        **chardev.SOURCE_PROPERTIES,
        "target": {
            "enum": list(TARGETS),
            "description": "the port the guest sees; default: the machine's own (isa-serial on x86, spapr-vio-serial on pseries, system-serial on Arm's virt, sclp-serial on s390x)",
        },
    },
    "additionalProperties": False,
    "required": ["type"],
}

SCHEMA = {
    "type": "array",
    "maxItems": 4,
    "description": "serial ports in order (ttyS0 first); the first is also the VM's console",
    "items": SERIAL_SCHEMA,
    "examples": [
        [{"type": "pty"}],
        [{"type": "file", "path": "/var/log/vmspec-serial0.log", "append": True}],
        [{"type": "pty", "log": {"file": "/var/log/vmspec-serial0.log"}}, {"type": "null"}],
        [{"type": "tcp", "host": "127.0.0.1", "port": 4555, "protocol": "telnet"}],
        [
            {
                "type": "udp",
                "host": "127.0.0.1",
                "port": 4556,
                "bindHost": "0.0.0.0",
                "bindPort": 4557,
            }
        ],
        [{"type": "unix", "path": "/run/vmspec-serial0.sock"}],
        [{"type": "pty", "target": "pci-serial"}, {"type": "pty", "target": "usb-serial"}],
    ],
}


def _serial_problems(spec: Spec) -> Iterator[Finding]:
    for index, serial in enumerate(spec.get("serials", [])):
        where = ("spec", "serials", index)
        yield from chardev.host_problems(serial, where, "serial console")
        yield from chardev.spice_problems(serial, where, "serial console", spec)
        if serial["type"] == "unix" and "path" not in serial:
            # libvirt picks a socket only for a virtio channel.
            yield Finding(where, "a unix serial console needs a path")


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, serial in enumerate(spec.get("serials", [])):
        yield from chardev.host_defaults(serial, ("spec", "serials", index))


def lower(spec: Spec, identity: Identity) -> tuple[AnyChardev, ...]:
    return tuple(
        chardev.lower_host(serial, ChardevTarget(type=serial.get("target"), port=port))
        for port, serial in enumerate(spec.get("serials", []))
    )


def lift(serials: tuple[AnyChardev, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    builtin = default_serial_target_type(spec_arch(spec), spec.get("machine"))
    lifted = []
    for serial in serials:
        entry = chardev.lift_host(serial)
        if entry is None:
            continue  # the self-check names it
        target = serial.target.type if serial.target else None
        if target is not None and target != builtin:
            entry["target"] = target
        lifted.append(entry)
    return lifted or None


def _file_paths(serials: tuple[AnyChardev, ...]) -> list[tuple[str, str]]:
    """A host device a port is wired to must be there when the guest starts."""
    return [
        (f"serial {index}", serial.source.path)
        for index, serial in enumerate(serials)
        if serial.type == "dev" and serial.source and serial.source.path
    ]


def with_builtin_target(
    serials: tuple[Any, ...], wanted: tuple[Any, ...], arch: str, machine: str | None
) -> tuple[Any, ...]:
    """libvirt names the machine's own serial target type (isa-serial on x86) when the
    definition leaves it out; any other type (pci-serial, isa-debug...) is a choice."""
    builtin = default_serial_target_type(arch, machine)
    return tuple(
        dataclasses.replace(s, target=dataclasses.replace(s.target, type=None))
        if s.target
        and s.target.type == builtin
        and index < len(wanted)
        and wanted[index].target
        and wanted[index].target.type is None
        else s
        for index, s in enumerate(serials)
    )


FAMILY = Family(
    spec_field="serials",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="serials",
    lower=lower,
    lift=lift,
    checks=(_serial_problems,),
    policy_defaults=policy_defaults,
    libvirt_fills_in=chardev.as_stored_in_order,
    libvirt_resolves_at_start=chardev.each_against_wanted,
    host_paths=_file_paths,
)
