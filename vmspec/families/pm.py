"""``<pm>``: whether the guest may suspend to RAM (S3) or to disk (S4).

formatdomain "Power Management": each setting is yes or no, and absent means QEMU's
own default, so vmspec writes only the settings a spec states: no policy here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, child, config_class
from vmspec.families.family import Family, Identity, Place, Spec


@config_class
class Suspend:
    """``<suspend-to-mem>`` or ``<suspend-to-disk>``; the tag comes from the field in ``PowerManagement``."""

    TAG: ClassVar[str] = "suspend-to-mem"
    enabled: bool | None = attr("enabled")


@config_class
class PowerManagement:
    TAG: ClassVar[str] = "pm"
    suspend_to_mem: Suspend | None = child("suspend-to-mem")
    suspend_to_disk: Suspend | None = child("suspend-to-disk")


_SETTINGS = (
    ("suspendToMem", "suspend_to_mem", "RAM (ACPI S3)"),
    ("suspendToDisk", "suspend_to_disk", "disk (ACPI S4)"),
)

SCHEMA = {
    "type": "object",
    "properties": {
        key: {
            "type": "boolean",
            "description": f"whether the guest may suspend to {where}; absent: QEMU's own default",
            "examples": [False],
        }
        for key, _, where in _SETTINGS
    },
    "additionalProperties": False,
    "minProperties": 1,
    "description": "power management, as in libvirt's <pm>: which ACPI sleep states the guest sees",
    "examples": [{"suspendToMem": False, "suspendToDisk": False}],
}


def lower(spec: Spec, identity: Identity) -> PowerManagement | None:
    pm = spec.get("pm")
    if not pm:
        return None
    return PowerManagement(
        **{field: _suspend(pm.get(key)) for key, field, _ in _SETTINGS},
    )


def _suspend(enabled: bool | None) -> Suspend | None:
    return None if enabled is None else Suspend(enabled=enabled)


def lift(pm: PowerManagement | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    pm = as_libvirt_stores_it(pm, None)
    if pm is None:
        return None
    return {key: getattr(pm, field).enabled for key, field, _ in _SETTINGS if getattr(pm, field)}


def as_libvirt_stores_it(pm: PowerManagement | None, wanted: Any) -> PowerManagement | None:
    """A setting without ``enabled`` is QEMU's default, and libvirt drops it on define
    (and an empty ``<pm/>`` with it): the same guest as one without them."""
    if pm is None:
        return None
    kept = PowerManagement(
        **{
            field: suspend
            for _, field, _ in _SETTINGS
            if (suspend := getattr(pm, field)) is not None and suspend.enabled is not None
        }
    )
    return None if kept == PowerManagement() else kept


FAMILY = Family(
    spec_field="pm",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="pm",
    lower=lower,
    lift=lift,
    libvirt_fills_in=as_libvirt_stores_it,
)
