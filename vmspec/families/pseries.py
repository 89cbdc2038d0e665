"""The features of IBM POWER's pseries machines (formatdomain "Hypervisor features"),
part of the features family (features.py): the hashed page table, transactional memory,
nested KVM-HV, and the Spectre mitigations the guest is told about.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.arches import is_pseries, spec_arch
from vmspec.config.memory import MemorySize
from vmspec.config.xmlmap import attr, child, config_class
from vmspec.families.family import Spec
from vmspec.families.hyperv import Switch
from vmspec.problems import Finding
from vmspec.units import format_kib, libvirt_size_in_kib, size_in_kib, with_size_in_kib


@config_class
class Hpt:
    """The hashed page table: whether the guest may resize it, and its largest page."""

    TAG: ClassVar[str] = "hpt"
    resizing: str | None = attr("resizing")
    maxpagesize: MemorySize | None = child("maxpagesize")  # libvirt writes KiB


@config_class
class Mitigation:
    """What the guest is told of a Spectre mitigation (``<cfpc value='fixed'/>``); the tag
    is the field's."""

    TAG: ClassVar[str] = "mitigation"
    value: str | None = attr("value")


# (spec key, config field, what it is)
SWITCHES = (
    ("htm", "htm", "hardware transactional memory (POWER8 and POWER9)"),
    ("nestedHv", "nested_hv", "KVM-HV guests of its own (nested virtualization)"),
    ("ccfAssist", "ccf_assist", "the count cache flush assist (a Spectre v2 mitigation)"),
)
_STATES = ["broken", "workaround", "fixed"]
# (spec key, config field, libvirt's values, what it is)
MITIGATIONS = (
    ("cfpc", "cfpc", _STATES, "cache flush on privilege change (Meltdown)"),
    ("sbbc", "sbbc", _STATES, "speculation barrier bounds checking (Spectre v1)"),
    (
        "ibs",
        "ibs",
        ["broken", "workaround", "fixed-ibs", "fixed-ccd", "fixed-na"],
        "indirect branch speculation (Spectre v2)",
    ),
)

SCHEMA_PROPERTIES: dict[str, Any] = {
    "hpt": {
        "type": "object",
        "description": "the hashed page table (pseries)",
        "properties": {
            "resizing": {
                "enum": ["enabled", "disabled", "required"],
                "description": "whether the guest may resize it (required: refuse to start where it cannot)",
            },
            "maxPageSize": {
                "$ref": "#/$defs/size",
                "description": "the largest page the guest may use, such as 64KiB or 16MiB",
                "examples": ["64KiB", "16MiB"],
            },
        },
        "additionalProperties": False,
        "minProperties": 1,
    },
    **{
        key: {"type": "boolean", "description": f"{what} (pseries): on (true) or off (false)"}
        for key, _, what in SWITCHES
    },
    **{
        key: {"enum": values, "description": f"{what}, as the guest is told it (pseries)"}
        for key, _, values, what in MITIGATIONS
    },
}
_KEYS = tuple(SCHEMA_PROPERTIES)


def pseries_only(spec: Spec) -> Iterator[Finding]:
    features = spec.get("features", {})
    if is_pseries(spec_arch(spec), spec.get("machine")):
        return
    for key in _KEYS:
        if key in features:
            yield Finding(
                ("spec", "features", key),
                f"{key} is a feature of IBM POWER's pseries machines: set arch ppc64 or ppc64le",
            )


def lower(features: dict[str, Any]) -> dict[str, Any]:
    """The Features fields the spec's pseries features fill."""
    hpt = features.get("hpt")
    size = hpt.get("maxPageSize") if hpt else None
    return {
        "hpt": Hpt(
            resizing=hpt.get("resizing"),
            maxpagesize=MemorySize(unit="KiB", value=size_in_kib(size)) if size else None,
        )
        if hpt
        else None,
        **{field: _switch(features.get(key)) for key, field, _ in SWITCHES},
        **{
            field: Mitigation(value=features[key]) if key in features else None
            for key, field, _, _ in MITIGATIONS
        },
    }


def _switch(state: bool | None) -> Switch | None:
    return None if state is None else Switch(state=state)


def lift(features: Any) -> dict[str, Any]:
    lifted: dict[str, Any] = {}
    hpt = features.hpt
    if hpt is not None:
        size = hpt.maxpagesize
        kib = libvirt_size_in_kib(size.value, size.unit) if size and size.value else None
        found = {"resizing": hpt.resizing, "maxPageSize": format_kib(kib) if kib else None}
        if any(found.values()):
            lifted["hpt"] = {key: value for key, value in found.items() if value}
    for key, field, _ in SWITCHES:
        switch = getattr(features, field)
        if switch is not None and switch.state is not None:
            lifted[key] = switch.state
    for key, field, _, _ in MITIGATIONS:
        mitigation = getattr(features, field)
        if mitigation is not None and mitigation.value:
            lifted[key] = mitigation.value
    return lifted


def as_libvirt_stores_it(hpt: Hpt | None) -> Hpt | None:
    """libvirt keeps the largest page in KiB, whatever the unit it was given in."""
    if hpt is None or hpt.maxpagesize is None:
        return hpt
    return Hpt(resizing=hpt.resizing, maxpagesize=with_size_in_kib(hpt.maxpagesize))
