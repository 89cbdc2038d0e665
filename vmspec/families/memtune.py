"""``<memtune>``: cgroup limits on the host memory the guest's QEMU may use
(formatdomain "Memory Tuning").

A guest's QEMU uses its RAM and then some (device emulation, caches, the I/O
buffers): a hard limit makes the host's OOM killer end that QEMU rather than let it
take memory from others; a soft limit is what it is pushed back to when the host runs
short. Too low a hard limit kills the guest at random: libvirt's documentation advises
against setting one without measuring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.memory import MemorySize
from vmspec.config.xmlmap import child, config_class
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding
from vmspec.units import format_kib, size_in_kib, with_size_in_kib

# The limits, by the spec's name (libvirt's, in camelCase). libvirt's min_guarantee is
# left out: its qemu driver refuses it ("Parameter 'min_guarantee' not supported by QEMU").
_LIMITS = {"hardLimit": "hard_limit", "softLimit": "soft_limit", "swapHardLimit": "swap_hard_limit"}


@config_class
class Memtune:
    TAG: ClassVar[str] = "memtune"
    hard_limit: MemorySize | None = child("hard_limit")
    soft_limit: MemorySize | None = child("soft_limit")
    swap_hard_limit: MemorySize | None = child("swap_hard_limit")


_DESCRIPTIONS = {
    "hardLimit": "the most host memory the guest's QEMU may use; beyond it the host's OOM killer ends it",
    "softLimit": "what the guest's QEMU is pushed back to when the host runs short of memory",
    "swapHardLimit": "the most memory and swap together the guest's QEMU may use, at least hardLimit",
}

SCHEMA = {
    "type": "object",
    "description": "cgroup limits on the host memory the guest's QEMU may use (hard, soft, with swap)",
    "properties": {
        key: {"$ref": "#/$defs/size", "description": text} for key, text in _DESCRIPTIONS.items()
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"softLimit": "48MiB"},
        {"hardLimit": "2GiB", "softLimit": "1GiB", "swapHardLimit": "3GiB"},
    ],
}


def lower(spec: Spec, identity: Identity) -> Memtune | None:
    memtune = spec.get("memtune")
    if not memtune:
        return None
    return Memtune(
        **{
            field: MemorySize(unit="KiB", value=size_in_kib(memtune[key]))
            for key, field in _LIMITS.items()
            if key in memtune
        }
    )


def lift(memtune: Memtune | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    memtune = in_kib(memtune, None)
    if memtune is None:
        return None
    lifted = {
        key: format_kib(getattr(memtune, field).value)
        for key, field in _LIMITS.items()
        if getattr(memtune, field) is not None and getattr(memtune, field).value is not None
    }
    return lifted or None


def in_kib(memtune: Memtune | None, wanted: Any) -> Memtune | None:
    """libvirt stores the limits in KiB: the same limits."""
    if memtune is None:
        return None
    return dataclasses.replace(
        memtune, **{field: with_size_in_kib(getattr(memtune, field)) for field in _LIMITS.values()}
    )


def _in_order(spec: Spec) -> Iterator[Finding]:
    memtune = spec.get("memtune", {})
    try:
        kib = {key: size_in_kib(memtune[key]) for key in _LIMITS if key in memtune}
    except ValueError as error:
        yield Finding(("spec", "memtune"), str(error))
        return
    if "hardLimit" in kib and "swapHardLimit" in kib and kib["swapHardLimit"] < kib["hardLimit"]:
        # libvirt when it sets them: "Memory hard_limit tuning value must be less than or
        # equal to swap_hard_limit".
        message = f"{memtune['swapHardLimit']} is less than hardLimit ({memtune['hardLimit']}): at least hardLimit"
        yield Finding(("spec", "memtune", "swapHardLimit"), message)


FAMILY = Family(
    spec_field="memtune",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="memtune",
    lower=lower,
    lift=lift,
    checks=(_in_order,),
    libvirt_fills_in=in_kib,
)
