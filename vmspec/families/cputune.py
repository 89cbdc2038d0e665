"""``<cputune>``: which host CPUs each vCPU, and QEMU's own emulator threads, run on
(formatdomain "CPU Tuning").

``spec.cpuset`` lets all vCPUs float over a set of host CPUs; pinning gives each vCPU a
host CPU of its own (a latency-bound database, a guest whose NUMA cells should stay on
their host nodes), and keeps the emulator's threads (I/O, the monitor) off them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, child, children, config_class, text_child
from vmspec.cpulist import PATTERN, as_written, host_list_problems, parse_cpu_list
from vmspec.families import iothreads
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@config_class
class Vcpupin:
    TAG: ClassVar[str] = "vcpupin"
    vcpu: int | None = attr("vcpu")
    cpuset: str | None = attr("cpuset")


@config_class
class Emulatorpin:
    TAG: ClassVar[str] = "emulatorpin"
    cpuset: str | None = attr("cpuset")


@config_class
class Iothreadpin:
    TAG: ClassVar[str] = "iothreadpin"
    iothread: int | None = attr("iothread")
    cpuset: str | None = attr("cpuset")


@config_class
class Vcpusched:
    """libvirt stores one per vCPU (``vcpus='0-1'`` becomes two), in vCPU order."""

    TAG: ClassVar[str] = "vcpusched"
    vcpus: str | None = attr("vcpus")
    scheduler: str | None = attr("scheduler")
    priority: int | None = attr("priority")


@config_class
class Iothreadsched:
    """One per I/O thread, as for vCPUs, in the order of the guest's I/O threads."""

    TAG: ClassVar[str] = "iothreadsched"
    iothreads: str | None = attr("iothreads")
    scheduler: str | None = attr("scheduler")
    priority: int | None = attr("priority")


@config_class
class Emulatorsched:
    TAG: ClassVar[str] = "emulatorsched"
    scheduler: str | None = attr("scheduler")
    priority: int | None = attr("priority")


@config_class
class Cputune:
    """In libvirt's formatting order (seen with libvirt 9.0's test driver)."""

    TAG: ClassVar[str] = "cputune"
    shares: int | None = text_child("shares")
    period: int | None = text_child("period")
    quota: int | None = text_child("quota")
    global_period: int | None = text_child("global_period")
    global_quota: int | None = text_child("global_quota")
    emulator_period: int | None = text_child("emulator_period")
    emulator_quota: int | None = text_child("emulator_quota")
    iothread_period: int | None = text_child("iothread_period")
    iothread_quota: int | None = text_child("iothread_quota")
    vcpupins: tuple[Vcpupin, ...] = children()
    emulatorpin: Emulatorpin | None = child()
    iothreadpins: tuple[Iothreadpin, ...] = children()
    emulatorsched: Emulatorsched | None = child()
    vcpuscheds: tuple[Vcpusched, ...] = children()
    iothreadscheds: tuple[Iothreadsched, ...] = children()


# The CFS bandwidth settings, by the spec's name (libvirt's, in camelCase): the period
# in µs and the quota of it the threads may run (-1: no limit), for each vCPU, the
# whole guest, the emulator threads or each I/O thread.
_BANDWIDTH = {
    "period": "period",
    "quota": "quota",
    "globalPeriod": "global_period",
    "globalQuota": "global_quota",
    "emulatorPeriod": "emulator_period",
    "emulatorQuota": "emulator_quota",
    "iothreadPeriod": "iothread_period",
    "iothreadQuota": "iothread_quota",
}
_WHOSE = {
    "": "each vCPU's",
    "global": "the whole guest's",
    "emulator": "the emulator threads'",
    "iothread": "each I/O thread's",
}

_CPUSET = {
    "type": "string",
    "pattern": PATTERN,
    "maxLength": 1024,
    "description": "host CPUs, as libvirt writes lists: 2, 2-3, 0-7,^4",
    "examples": ["2", "2-3", "0-7,^4"],
}

# Real-time schedulers take a priority (1 to 99 on Linux); batch and idle none.
_SCHEDULER = {
    "type": "object",
    "properties": {
        "scheduler": {
            "enum": ["batch", "idle", "fifo", "rr"],
            "description": "the host scheduler policy: fifo and rr are real-time (with a priority), batch and idle run behind other work",
        },
        "priority": {
            "type": "integer",
            "minimum": 1,
            "maximum": 99,
            "description": "the real-time priority (fifo, rr)",
            "examples": [1, 50],
        },
    },
    "required": ["scheduler"],
}
_REAL_TIME = ("fifo", "rr")


def _bandwidth_schema(field: str) -> dict[str, Any]:
    threads, _, setting = field.rpartition("_")
    whose = _WHOSE[threads]
    if setting == "period":
        # libvirt's RNG: 1000 to 1000000 µs.
        return {
            "type": "integer",
            "minimum": 1000,
            "maximum": 1000000,
            "description": f"the period of {whose} CPU bandwidth, in µs",
        }
    return {
        "type": "integer",
        "minimum": -1,
        "maximum": 17592186044415,
        "description": f"the µs of each period {whose} threads may run (-1: no limit)",
    }


def _scheduled(what: str, key: str) -> dict[str, Any]:
    return {
        "type": "array",
        "minItems": 1,
        "items": {
            **_SCHEDULER,
            "properties": {
                key: {
                    "type": "string",
                    "pattern": PATTERN,
                    "maxLength": 1024,
                    "description": f"the {what}, as libvirt writes lists: 0-1",
                    "examples": ["0-1", "2"],
                },
                **_SCHEDULER["properties"],
            },
            "required": [key, "scheduler"],
            "additionalProperties": False,
        },
        "description": f"the host scheduler policy of some {what}",
    }


SCHEMA = {
    "type": "object",
    "description": "the host CPUs and CPU time the guest's threads get: pinning (vcpupins, emulatorpin, iothreadpins), cgroup shares and bandwidth, scheduler policies",
    "properties": {
        "shares": {
            "type": "integer",
            "minimum": 0,
            "maximum": 262144,
            "description": "the guest's weight against other guests when host CPUs are busy (cgroup v2 cpu.weight scaled; 1024 is one default share)",
        },
        **{key: _bandwidth_schema(field) for key, field in _BANDWIDTH.items()},
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
        "iothreadpins": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "iothread": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "the I/O thread's id (iothreads, iothreadids)",
                        "examples": [1, 2],
                    },
                    "cpuset": _CPUSET,
                },
                "required": ["iothread", "cpuset"],
                "additionalProperties": False,
            },
            "description": "the host CPUs of one I/O thread each",
        },
        "emulatorsched": {
            **_SCHEDULER,
            "additionalProperties": False,
            "description": "the host scheduler policy of QEMU's emulator threads",
        },
        "vcpuscheds": _scheduled("vCPUs", "vcpus"),
        "iothreadscheds": _scheduled("I/O threads", "iothreads"),
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"vcpupins": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "0"},
        {"emulatorpin": "0-1"},
        {
            "shares": 2048,
            "period": 100000,
            "quota": -1,
            "globalPeriod": 100000,
            "globalQuota": 50000,
        },
        {
            "emulatorPeriod": 100000,
            "emulatorQuota": 20000,
            "iothreadPeriod": 100000,
            "iothreadQuota": -1,
        },
        {
            "vcpuscheds": [{"vcpus": "0", "scheduler": "batch"}],
            "emulatorsched": {"scheduler": "idle"},
        },
    ],
}


def lower(spec: Spec, identity: Identity) -> Cputune | None:
    cputune = spec.get("cputune")
    if not cputune:
        return None
    pins = sorted(cputune.get("vcpupins", ()), key=lambda pin: pin["vcpu"])  # libvirt's order
    emulatorpin = cputune.get("emulatorpin")
    emulatorsched = cputune.get("emulatorsched")
    return Cputune(
        shares=cputune.get("shares"),
        **{field: cputune.get(key) for key, field in _BANDWIDTH.items()},
        vcpupins=tuple(Vcpupin(vcpu=pin["vcpu"], cpuset=pin["cpuset"]) for pin in pins),
        emulatorpin=Emulatorpin(cpuset=emulatorpin) if emulatorpin else None,
        iothreadpins=tuple(
            Iothreadpin(iothread=pin["iothread"], cpuset=pin["cpuset"])
            for pin in _in_thread_order(cputune.get("iothreadpins", ()), spec, "iothread")
        ),
        emulatorsched=(
            Emulatorsched(
                scheduler=emulatorsched["scheduler"], priority=emulatorsched.get("priority")
            )
            if emulatorsched
            else None
        ),
        vcpuscheds=tuple(
            Vcpusched(
                vcpus=str(number), scheduler=entry["scheduler"], priority=entry.get("priority")
            )
            for number, entry in _one_each(
                cputune.get("vcpuscheds", ()), "vcpus", range(spec["vcpus"])
            )
        ),
        iothreadscheds=tuple(
            Iothreadsched(
                iothreads=str(number), scheduler=entry["scheduler"], priority=entry.get("priority")
            )
            for number, entry in _one_each(
                cputune.get("iothreadscheds", ()), "iothreads", iothreads.ids(spec)
            )
        ),
    )


def _in_thread_order(pins: Any, spec: Spec, key: str) -> list[dict[str, Any]]:
    # libvirt keeps them in the order of the guest's I/O threads.
    order = {number: place for place, number in enumerate(iothreads.ids(spec))}
    return sorted(pins, key=lambda pin: order.get(pin[key], len(order)))


def _one_each(entries: Any, key: str, order: Any) -> list[tuple[int, dict[str, Any]]]:
    """A policy per thread, as libvirt stores it: one entry each, in the threads' order."""
    policy: dict[int, dict[str, Any]] = {}
    for entry in entries:
        numbers, _ = parse_cpu_list(entry[key], key)
        policy.update(dict.fromkeys(sorted(numbers), entry))
    return [(number, policy[number]) for number in order if number in policy]


def lift(cputune: Cputune | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if cputune is None:
        return None
    lifted: dict[str, Any] = {}
    if cputune.shares is not None:
        lifted["shares"] = cputune.shares
    lifted.update(
        {
            key: getattr(cputune, field)
            for key, field in _BANDWIDTH.items()
            if getattr(cputune, field) is not None
        }
    )
    if cputune.vcpupins:
        lifted["vcpupins"] = [{"vcpu": pin.vcpu, "cpuset": pin.cpuset} for pin in cputune.vcpupins]
    if cputune.emulatorpin and cputune.emulatorpin.cpuset:
        lifted["emulatorpin"] = cputune.emulatorpin.cpuset
    threads = iothreads.ids(spec)  # lifted before cputune: libvirt's order of them
    if cputune.iothreadpins:
        lifted["iothreadpins"] = [
            {"iothread": pin.iothread, "cpuset": pin.cpuset}
            for pin in _ordered(cputune.iothreadpins, "iothread", threads)
        ]
    if cputune.emulatorsched is not None:
        lifted["emulatorsched"] = _policy(cputune.emulatorsched)
    vcpuscheds = _one_per_thread(cputune.vcpuscheds, "vcpus", [])
    if vcpuscheds:
        lifted["vcpuscheds"] = [{"vcpus": entry.vcpus, **_policy(entry)} for entry in vcpuscheds]
    iothreadscheds = _one_per_thread(cputune.iothreadscheds, "iothreads", threads)
    if iothreadscheds:
        lifted["iothreadscheds"] = [
            {"iothreads": entry.iothreads, **_policy(entry)} for entry in iothreadscheds
        ]
    return lifted or None


def _ordered(items: Any, key: str, order: list[int]) -> list[Any]:
    """``items`` in ``order`` of their ``key`` (the rest after, by number), as libvirt
    keeps per-thread settings: vCPUs by number, I/O threads in the guest's order."""
    place = {number: index for index, number in enumerate(order)}
    return sorted(
        items, key=lambda item: (place.get(getattr(item, key), len(place)), getattr(item, key) or 0)
    )


def _one_per_thread(entries: Any, key: str, order: list[int]) -> list[Any]:
    """Scheduler settings one per thread, as libvirt stores them (vcpus='0-1' is two)."""
    split = []
    for entry in entries:
        numbers, problems = parse_cpu_list(getattr(entry, key) or "", key)
        if problems:
            split.append(entry)  # the self-check says what is wrong with it
            continue
        split += [dataclasses.replace(entry, **{key: str(number)}) for number in sorted(numbers)]
    by_number = [entry for entry in split if (getattr(entry, key) or "").isdigit()]
    rest = [entry for entry in split if not (getattr(entry, key) or "").isdigit()]
    place = {number: index for index, number in enumerate(order)}
    by_number.sort(
        key=lambda entry: (
            place.get(int(getattr(entry, key)), len(place)),
            int(getattr(entry, key)),
        )
    )
    return by_number + rest


def _policy(entry: Vcpusched | Iothreadsched | Emulatorsched) -> dict[str, Any]:
    policy: dict[str, Any] = {"scheduler": entry.scheduler}
    if entry.priority is not None:
        policy["priority"] = entry.priority
    return policy


def as_libvirt_stores_it(cputune: Cputune | None, wanted: Any) -> Cputune | None:
    """libvirt keeps vcpupins in vCPU order, CPU lists in its own form (0,1 as 0-1; said
    back in the spec's words) and one scheduler setting per thread: the same tuning (seen
    with libvirt 9.0)."""
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
    wanted_threads = {pin.iothread: pin.cpuset for pin in wanted.iothreadpins}
    # libvirt keeps I/O thread settings in the guest's order of its threads, which the
    # wanted definition has (lowering writes that order).
    threads = list(dict.fromkeys(pin.iothread for pin in wanted.iothreadpins))
    iothreadpins = tuple(
        dataclasses.replace(pin, cpuset=as_written(pin.cpuset, wanted_threads.get(pin.iothread)))
        for pin in _ordered(cputune.iothreadpins, "iothread", threads)
    )
    sched_threads = [
        int(entry.iothreads) for entry in wanted.iothreadscheds if (entry.iothreads or "").isdigit()
    ]
    return dataclasses.replace(
        cputune,
        vcpupins=pins,
        emulatorpin=emulatorpin,
        iothreadpins=iothreadpins,
        vcpuscheds=tuple(_one_per_thread(cputune.vcpuscheds, "vcpus", [])),
        iothreadscheds=tuple(_one_per_thread(cputune.iothreadscheds, "iothreads", sched_threads)),
    )


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
    threads = iothreads.ids(spec)
    pinned = set()
    for index, pin in enumerate(cputune.get("iothreadpins", ())):
        where = ("spec", "cputune", "iothreadpins", index)
        if pin["iothread"] not in threads:
            # libvirt at define: "Cannot find 'iothread' : 3".
            yield Finding((*where, "iothread"), _no_such_thread(pin["iothread"], threads))
        elif pin["iothread"] in pinned:
            # libvirt at define: "Duplicate iothreadpin for same iothread '1'".
            yield Finding((*where, "iothread"), f"I/O thread {pin['iothread']} is pinned already")
        pinned.add(pin["iothread"])
        yield from _host_cpus((*where, "cpuset"), pin["cpuset"])


def _no_such_thread(number: int, threads: list[int]) -> str:
    if not threads:
        return f"I/O thread {number} does not exist: the guest has none (add iothreads)"
    return f"I/O thread {number} does not exist: the guest's are {','.join(map(str, threads))}"


def _schedulers(spec: Spec) -> Iterator[Finding]:
    cputune = spec.get("cputune", {})
    for key, what, existing in (
        ("vcpuscheds", "vcpus", list(range(spec["vcpus"]))),
        ("iothreadscheds", "iothreads", iothreads.ids(spec)),
    ):
        seen: set[int] = set()
        for index, entry in enumerate(cputune.get(key, ())):
            where = ("spec", "cputune", key, index, what)
            numbers, problems = parse_cpu_list(entry[what], what)
            for problem in problems:
                yield Finding(where, problem)
            missing = sorted(set(numbers) - set(existing))
            if key == "vcpuscheds" and missing:
                # libvirt drops the policy of a vCPU the guest lacks (seen with 9.0).
                yield Finding(
                    where, f"vCPU {missing[0]} is beyond the guest's vCPUs 0 to {spec['vcpus'] - 1}"
                )
            elif missing:
                # libvirt at define: "Cannot find 'iothread' : 3".
                yield Finding(where, _no_such_thread(missing[0], existing))
            again = sorted(set(numbers) & seen)
            if again:
                # libvirt at define: "vcpus has overlapping scheduler settings".
                yield Finding(where, f"{again[0]} has a scheduler policy already")
            seen |= set(numbers)


def _priorities_and_quotas(spec: Spec) -> Iterator[Finding]:
    cputune = spec.get("cputune", {})
    policies = [(("spec", "cputune", "emulatorsched"), cputune.get("emulatorsched"))]
    policies += [
        (("spec", "cputune", key, index), entry)
        for key in ("vcpuscheds", "iothreadscheds")
        for index, entry in enumerate(cputune.get(key, ()))
    ]
    for where, policy in policies:
        if policy is None:
            continue
        real_time = policy["scheduler"] in _REAL_TIME
        if real_time and "priority" not in policy:
            # libvirt refuses it at define (no priority); Linux takes 1 to 99.
            message = f"{policy['scheduler']} is a real-time scheduler: add its priority (1 to 99)"
            yield Finding(where, message)
        elif not real_time and "priority" in policy:
            # libvirt 9.0's RNG has no priority for batch and idle.
            message = f"{policy['scheduler']} takes no priority (only fifo and rr do): leave it out"
            yield Finding((*where, "priority"), message)
    for key in _BANDWIDTH:
        if key.lower().endswith("quota") and cputune.get(key) == 0:
            # libvirt reads 0 as "not set" and leaves it out.
            message = "0 would leave the threads no CPU time; libvirt reads it as no quota: use -1 for none"
            yield Finding(("spec", "cputune", key), message)


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
    checks=(_pins, _schedulers, _priorities_and_quotas),
    libvirt_fills_in=as_libvirt_stores_it,
)
