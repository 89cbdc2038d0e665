"""``<watchdog>``: a virtual watchdog timer, and what the host does when the guest stops
feeding it (formatdomain: "Watchdog devices")."""

from __future__ import annotations

from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import attr, child, config_class
from vmspec.families.family import Family, Identity, Place, Spec


@config_class
class Watchdog:
    TAG: ClassVar[str] = "watchdog"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    action: str | None = attr("action")
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


SCHEMA = {
    "type": "object",
    "description": "a virtual watchdog: what the host does when the guest stops feeding it",
    "properties": {
        "model": {
            "enum": ["i6300esb", "ib700", "diag288"],
            "description": "libvirt 9.0's models (itco came in 9.1)",
        },
        "action": {
            "enum": ["reset", "shutdown", "poweroff", "pause", "none", "dump", "inject-nmi"],
            "description": "default: reset",
        },
    },
    "required": ["model"],
    "additionalProperties": False,
    "examples": [{"model": "i6300esb", "action": "reset"}],
}


def lower(spec: Spec, identity: Identity) -> tuple[Watchdog, ...]:
    return (Watchdog(**spec["watchdog"]),) if "watchdog" in spec else ()


def lift(watchdogs: tuple[Watchdog, ...], spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if not watchdogs:
        return None  # a second watchdog is left for the self-check to name
    first = watchdogs[0]
    return {
        key: value
        for key, value in (("model", first.model), ("action", first.action))
        if value is not None
    }


FAMILY = Family(
    spec_field="watchdog",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="watchdogs",
    lower=lower,
    lift=lift,
)
