"""``<currentMemory>``: the memory a guest starts with when it may be given more later
through its balloon, up to ``<memory>`` (formatdomain "Memory Allocation").

Without ``spec.currentMemory`` the guest has all of ``memory`` from the start, which is
what lowering writes: libvirt itself stores currentMemory = memory then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vmspec.config.memory import MemorySize
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding
from vmspec.units import format_kib, libvirt_size_in_kib, size_in_kib

SCHEMA = {
    "$ref": "#/$defs/size",
    "description": "the memory the guest starts with, below memory; the balloon (memballoon) lets the host give it more up to memory while it runs, without a restart",
    "examples": ["768MiB"],
}


def memory_kib(spec: Spec) -> int | None:
    """spec.memory in KiB, or None where it is malformed (the memory check says so)."""
    try:
        return size_in_kib(spec["memory"])
    except ValueError:
        return None


CURRENT_MEMORY_REASON = (
    "all of memory from the start, as libvirt itself stores it: written out so that a "
    "normalized definition compares equal"
)


def current_memory(spec: Spec) -> str:
    return spec.get("currentMemory", spec["memory"])  # CURRENT_MEMORY_REASON where silent


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    if "currentMemory" not in spec:
        path = ("spec", "currentMemory")
        yield PolicyDefault(path, current_memory(spec), CURRENT_MEMORY_REASON)


def lower(spec: Spec, identity: Identity) -> MemorySize:
    return MemorySize(unit="KiB", value=size_in_kib(current_memory(spec)))


def lift(current: MemorySize | None, spec: Spec, identity: Identity) -> str | None:
    kib = _kib(current)
    if kib is None or kib == size_in_kib(spec["memory"]):
        return None
    return format_kib(kib)


def _kib(size: MemorySize | None) -> int | None:
    if size is None or size.value is None:
        return None
    return libvirt_size_in_kib(size.value, size.unit)


def balloon_at_this_moment(running: MemorySize | None, wanted: MemorySize | None) -> Any:
    """A running guest's currentMemory is the balloon's size at this moment (or all of
    memory without a balloon): not the setting, which the next start applies again."""
    return wanted


def _below_memory_with_a_balloon(spec: Spec) -> Iterator[Finding]:
    if "currentMemory" not in spec:
        return
    where = ("spec", "currentMemory")
    try:
        current = size_in_kib(spec["currentMemory"])
    except ValueError as error:
        yield Finding(where, str(error))
        return
    memory = memory_kib(spec)
    if memory is not None and current > memory:
        # libvirt lowers it to memory at define without a word.
        message = f"{spec['currentMemory']} is more than memory ({spec['memory']}): at most memory"
        yield Finding(where, message)
    elif memory is not None and current < memory and _no_balloon(spec):
        # Without a balloon QEMU gives the guest all of memory at start (seen with
        # libvirt 9.0: a running guest's currentMemory is memory).
        message = "the guest can start below memory only with a balloon: leave memballoon's model virtio, or currentMemory out"
        yield Finding(where, message)


def _no_balloon(spec: Spec) -> bool:
    return spec.get("memballoon", {}).get("model") == "none"


FAMILY = Family(
    spec_field="currentMemory",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="current_memory",
    lower=lower,
    lift=lift,
    checks=(_below_memory_with_a_balloon,),
    policy_defaults=policy_defaults,
    libvirt_resolves_at_start=balloon_at_this_moment,
)
