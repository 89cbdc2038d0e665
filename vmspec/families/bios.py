"""``<os><bios>``: SeaBIOS's own settings (formatdomain "BIOS bootloader"): its output on
the serial port, and what it does when no boot device boots.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, config_class
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@config_class
class Bios:
    TAG: ClassVar[str] = "bios"
    useserial: bool | None = attr("useserial")
    reboot_timeout: int | None = attr("rebootTimeout")  # milliseconds; -1: never


SCHEMA = {
    "type": "object",
    "description": "SeaBIOS's settings (the BIOS firmware of x86 machines)",
    "properties": {
        "useSerial": {
            "type": "boolean",
            "description": "the BIOS's screen also on the first serial port (sgabios), for headless guests; needs a serial port",
        },
        "rebootTimeout": {
            "type": "integer",
            "minimum": -1,
            "maximum": 32767,  # libvirt's RNG: a short
            "description": "milliseconds before the guest tries to boot again when nothing booted; -1: never (QEMU's default)",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [{"rebootTimeout": 5000}, {"useSerial": True}],
}

_SETTINGS = (("useSerial", "useserial"), ("rebootTimeout", "reboot_timeout"))


def _serial_for_the_screen(spec: Spec) -> Iterator[Finding]:
    # libvirt: "need at least one serial port to use SGABIOS".
    if spec.get("bios", {}).get("useSerial") and not spec.get("serials"):
        yield Finding(
            ("spec", "bios", "useSerial"),
            "the BIOS writes its screen to the first serial port: add one to serials",
        )


def lower(spec: Spec, identity: Identity) -> Bios | None:
    bios = spec.get("bios")
    if not bios:
        return None
    return Bios(**{field: bios.get(key) for key, field in _SETTINGS})


def lift(bios: Bios | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if bios is None:
        return None
    lifted = {key: getattr(bios, field) for key, field in _SETTINGS}
    return {key: value for key, value in lifted.items() if value is not None} or None


FAMILY = Family(
    spec_field="bios",
    schema=SCHEMA,
    place=Place.OS,
    config_field="bios",
    lower=lower,
    lift=lift,
    checks=(_serial_for_the_screen,),
)
