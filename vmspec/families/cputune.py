"""``<cputune>``: which host CPUs each vCPU, and QEMU's own emulator threads, run on
(formatdomain "CPU Tuning").

``spec.cpuset`` lets all vCPUs float over a set of host CPUs; pinning gives each vCPU a
host CPU of its own (a latency-bound database, a guest whose NUMA cells should stay on
their host nodes), and keeps the emulator's threads (I/O, the monitor) off them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, children
from vmspec.cpulist import PATTERN, as_written, host_list_problems
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@dataclass(**CONFIG)
class Vcpupin:
    TAG: ClassVar[str] = "vcpupin"
    vcpu: int | None = attr("vcpu")
    cpuset: str | None = attr("cpuset")


@dataclass(**CONFIG)
class Emulatorpin:
    TAG: ClassVar[str] = "emulatorpin"
    cpuset: str | None = attr("cpuset")


@dataclass(**CONFIG)
class Cputune:
    TAG: ClassVar[str] = "cputune"
    vcpupins: tuple[Vcpupin, ...] = children()
    emulatorpin: Emulatorpin | None = child()


_CPUSET = {
    "type": "string",
    "pattern": PATTERN,
    "maxLength": 1024,
    "description": "host CPUs, as libvirt writes lists: 2, 2-3, 0-7,^4",
}

SCHEMA = {
    "type": "object",
    "description": "pinning: the host CPUs each vCPU runs on (vcpupins) and those of QEMU's own emulator threads (emulatorpin)",
    "properties": {
        "vcpupins": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "vcpu": {"type": "integer", "minimum": 0, "description": "the vCPU, from 0"},
                    "cpuset": _CPUSET,
                },
                "required": ["vcpu", "cpuset"],
                "additionalProperties": False,
            },
            "description": "one vCPU each; a vCPU left out runs where cpuset says",
        },
        "emulatorpin": {
            **_CPUSET,
            "description": "the host CPUs of QEMU's emulator threads (I/O, the monitor), kept off the pinned vCPUs",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"vcpupins": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "0"},
        {"emulatorpin": "0-1"},
    ],
}


def lower(spec: Spec, identity: Identity) -> Cputune | None:
    cputune = spec.get("cputune")
    if not cputune:
        return None
    pins = sorted(cputune.get("vcpupins", ()), key=lambda pin: pin["vcpu"])  # libvirt's order
    emulatorpin = cputune.get("emulatorpin")
    return Cputune(
        vcpupins=tuple(Vcpupin(vcpu=pin["vcpu"], cpuset=pin["cpuset"]) for pin in pins),
        emulatorpin=Emulatorpin(cpuset=emulatorpin) if emulatorpin else None,
    )


def lift(cputune: Cputune | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if cputune is None:
        return None
    lifted: dict[str, Any] = {}
    if cputune.vcpupins:
        lifted["vcpupins"] = [{"vcpu": pin.vcpu, "cpuset": pin.cpuset} for pin in cputune.vcpupins]
    if cputune.emulatorpin and cputune.emulatorpin.cpuset:
        lifted["emulatorpin"] = cputune.emulatorpin.cpuset
    return lifted or None


def as_libvirt_stores_it(cputune: Cputune | None, wanted: Any) -> Cputune | None:
    """libvirt keeps vcpupins in vCPU order and CPU lists in its own form (0,1 as 0-1;
    said back in the spec's words): the same pinning (seen with libvirt 9.0)."""
    if cputune is None:
        return None
    wanted = wanted if isinstance(wanted, Cputune) else Cputune()
    wanted_sets = {pin.vcpu: pin.cpuset for pin in wanted.vcpupins}
    pins = tuple(
        dataclasses.replace(pin, cpuset=as_written(pin.cpuset, wanted_sets.get(pin.vcpu)))
        for pin in sorted(cputune.vcpupins, key=lambda pin: pin.vcpu or 0)
    )
    emulatorpin = cputune.emulatorpin
    if emulatorpin is not None and wanted.emulatorpin is not None:
        cpuset = as_written(emulatorpin.cpuset, wanted.emulatorpin.cpuset)
        emulatorpin = Emulatorpin(cpuset=cpuset)
    return Cputune(vcpupins=pins, emulatorpin=emulatorpin)


def _pins(spec: Spec) -> Iterator[Finding]:
    cputune = spec.get("cputune", {})
    vcpus = spec["vcpus"]
    pinned: set[int] = set()
    for index, pin in enumerate(cputune.get("vcpupins", ())):
        where = ("spec", "cputune", "vcpupins", index)
        if pin["vcpu"] >= vcpus:
            # libvirt drops it at define without a word (seen with libvirt 9.0).
            message = f"vCPU {pin['vcpu']} is beyond the guest's vCPUs 0 to {vcpus - 1}"
            yield Finding((*where, "vcpu"), message)
        elif pin["vcpu"] in pinned:
            # libvirt at define: "duplicate vcpupin for vcpu '0'".
            yield Finding((*where, "vcpu"), f"vCPU {pin['vcpu']} is pinned already")
        pinned.add(pin["vcpu"])
        yield from _host_cpus((*where, "cpuset"), pin["cpuset"])
    if "emulatorpin" in cputune:
        yield from _host_cpus(("spec", "cputune", "emulatorpin"), cputune["emulatorpin"])


def _host_cpus(where: tuple[Any, ...], text: str) -> Iterator[Finding]:
    for problem in host_list_problems(text, "host CPUs", "host CPU to run on"):
        yield Finding(where, problem)


FAMILY = Family(
    spec_field="cputune",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="cputune",
    lower=lower,
    lift=lift,
    checks=(_pins,),
    libvirt_fills_in=as_libvirt_stores_it,
)
