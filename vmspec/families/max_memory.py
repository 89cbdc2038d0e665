"""``<maxMemory slots>``: memory hotplug, how far the guest may grow while it runs and in
how many DIMM slots (formatdomain "Memory Allocation"). QEMU plugs DIMMs into guest
NUMA nodes, so libvirt refuses maxMemory without ``<cpu><numa>`` (see numa.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vmspec.arches import PPC64_ARCHES, spec_arch
from vmspec.config.memory import MaxMemory
from vmspec.families.current_memory import memory_kib
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding
from vmspec.units import format_kib, size_in_kib, with_size_in_kib

SCHEMA = {
    "type": "object",
    "description": "memory hotplug: the most memory the guest may reach while it runs, as DIMMs plugged into its slots (needs numa cells)",
    "properties": {
        "size": {
            "$ref": "#/$defs/size",
            "description": "the most memory the guest may have, memory included",
        },
        "slots": {
            "type": "integer",
            "minimum": 1,
            # QEMU's ACPI memory hotplug has 256 slots on x86 (ACPI_MAX_RAM_SLOTS).
            "maximum": 256,
            "description": "how many DIMMs may be plugged in",
        },
    },
    "required": ["size", "slots"],
    "additionalProperties": False,
    "examples": [{"size": "4GiB", "slots": 4}],
}


def lower(spec: Spec, identity: Identity) -> MaxMemory | None:
    wanted = spec.get("maxMemory")
    if wanted is None:
        return None
    return MaxMemory(slots=wanted["slots"], unit="KiB", value=size_in_kib(wanted["size"]))


def lift(maximum: MaxMemory | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    maximum = in_kib(maximum, None)
    if maximum is None or maximum.value is None:
        return None
    return {"size": format_kib(maximum.value), "slots": maximum.slots}


def in_kib(maximum: MaxMemory | None, wanted: Any) -> MaxMemory | None:
    """libvirt stores KiB; a definition written by hand may say 16 GiB: the same size."""
    return with_size_in_kib(maximum)


def _with_numa_above_memory(spec: Spec) -> Iterator[Finding]:
    if "maxMemory" not in spec:
        return
    where = ("spec", "maxMemory")
    if not spec.get("numa") and spec_arch(spec) not in PPC64_ARCHES:
        # libvirt at define: "At least one numa node has to be configured when enabling
        # memory hotplug" (not on ppc64, whose pseries machine plugs DIMMs without cells:
        # libvirt's own memory-hotplug-ppc64-nonuma test).
        yield Finding(where, "memory hotplug needs guest NUMA cells: add numa")
    try:
        size = size_in_kib(spec["maxMemory"]["size"])
    except ValueError as error:
        yield Finding((*where, "size"), str(error))
        return
    memory = memory_kib(spec)
    if memory is not None and size < memory:
        # libvirt: "maximum memory size must be equal or greater than the actual memory size".
        message = (
            f"{spec['maxMemory']['size']} is less than memory ({spec['memory']}): at least memory"
        )
        yield Finding((*where, "size"), message)


FAMILY = Family(
    spec_field="maxMemory",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="max_memory",
    lower=lower,
    lift=lift,
    checks=(_with_numa_above_memory,),
    libvirt_fills_in=in_kib,
)
