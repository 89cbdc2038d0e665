"""``<iothreads>`` and ``<iothreadids>``: QEMU's I/O threads, which take a disk's or a
SCSI controller's I/O off the main loop (formatdomain "IOThreads Allocation").

A busy virtio disk served by the main loop competes with the monitor and the other
devices; an I/O thread of its own (the disk's ``iothread``) runs it on a thread that
cputune can pin and schedule. libvirt numbers the threads 1 to N where the definition
names no ids: ``iothreads: N`` says just that; ``iothreadids`` names the ids (and their
worker pools) where they matter. Two families, as libvirt has two elements.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, children, config_class
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding

# QEMU's thread pool sizes are ints; libvirt's RNG takes unsignedInt.
_POOL_SIZE = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


@config_class
class Iothread:
    TAG: ClassVar[str] = "iothread"
    id: int | None = attr("id")
    thread_pool_min: int | None = attr("thread_pool_min")
    thread_pool_max: int | None = attr("thread_pool_max")


@config_class
class Iothreadids:
    TAG: ClassVar[str] = "iothreadids"
    iothreads: tuple[Iothread, ...] = children()


COUNT_SCHEMA = {
    "type": "integer",
    "minimum": 1,
    # QEMU has no limit; libvirt's qemu driver makes one thread per id, and more than
    # the guest could keep busy is a typo.
    "maximum": 1024,
    "description": "how many I/O threads QEMU runs for disks and SCSI controllers (their iothread); libvirt numbers them 1 to N (iothreadids names other ids)",
    "examples": [2],
}

IDS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1024,
    "items": {
        "type": "object",
        "properties": {
            "id": {
                "type": "integer",
                "minimum": 1,
                "maximum": 2**31 - 1,
                "description": "the I/O thread's id, which a disk's iothread names",
            },
            "threadPoolMin": {**_POOL_SIZE, "description": "the fewest worker threads of its pool"},
            "threadPoolMax": {**_POOL_SIZE, "description": "the most worker threads of its pool"},
        },
        "required": ["id"],
        "additionalProperties": False,
    },
    "description": "the I/O threads by id, in order (iothreads then counts them): for ids other than 1 to N, or a worker pool's size",
    "examples": [
        [{"id": 1}, {"id": 4}],
        [{"id": 2, "threadPoolMin": 1, "threadPoolMax": 4}],
    ],
}


def ids(spec: Spec) -> list[int]:
    """The guest's I/O thread ids in libvirt's order: those iothreadids names, then
    libvirt's own numbers from 1 for the rest of the count."""
    named = [entry["id"] for entry in spec.get("iothreadids", ())]
    total = count(spec)
    free = (number for number in range(1, total + len(named) + 1) if number not in named)
    return named + [next(free) for _ in range(total - len(named))]


COUNT_REASON = "as many as iothreadids names: libvirt counts them so"


def count(spec: Spec) -> int:
    return spec.get("iothreads", len(spec.get("iothreadids", ())))  # COUNT_REASON


def count_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    if "iothreads" not in spec and count(spec):
        yield PolicyDefault(("spec", "iothreads"), count(spec), COUNT_REASON)


def lower_count(spec: Spec, identity: Identity) -> int | None:
    return count(spec) or None


def lift_count(count: int | None, spec: Spec, identity: Identity) -> int | None:
    return count or None


def lower_ids(spec: Spec, identity: Identity) -> Iothreadids | None:
    named = {entry["id"]: entry for entry in spec.get("iothreadids", ())}
    if not named:
        return None
    # The ids of the count beyond those named are libvirt's own numbers, written out as
    # libvirt stores them once any id is named.
    return Iothreadids(
        iothreads=tuple(
            Iothread(
                id=number,
                thread_pool_min=named.get(number, {}).get("threadPoolMin"),
                thread_pool_max=named.get(number, {}).get("threadPoolMax"),
            )
            for number in ids(spec)
        )
    )


def lift_ids(
    iothreadids: Iothreadids | None, spec: Spec, identity: Identity
) -> list[dict[str, Any]] | None:
    if iothreadids is None or not iothreadids.iothreads:
        return None
    pools = {thread.id: thread for thread in iothreadids.iothreads}
    # The ids the count adds beyond those named, written out as libvirt stores them; the
    # count itself (lifted just before) then says nothing the ids do not.
    named = {"iothreadids": [{"id": thread.id} for thread in iothreadids.iothreads]}
    every = ids({**named, **({"iothreads": spec["iothreads"]} if "iothreads" in spec else {})})
    if spec.get("iothreads") == len(every):
        del spec["iothreads"]
    lifted = []
    for number in every:
        entry: dict[str, Any] = {"id": number}
        thread = pools.get(number)
        if thread is not None and thread.thread_pool_min is not None:
            entry["threadPoolMin"] = thread.thread_pool_min
        if thread is not None and thread.thread_pool_max is not None:
            entry["threadPoolMax"] = thread.thread_pool_max
        lifted.append(entry)
    return lifted


def _ids_once_within_the_count(spec: Spec) -> Iterator[Finding]:
    named = spec.get("iothreadids", ())
    seen: set[int] = set()
    for index, entry in enumerate(named):
        where = ("spec", "iothreadids", index)
        if entry["id"] in seen:
            # libvirt at define: "Duplicate iothread id '1' found".
            yield Finding((*where, "id"), f"I/O thread {entry['id']} is named already")
        seen.add(entry["id"])
        low, high = entry.get("threadPoolMin"), entry.get("threadPoolMax")
        if low is not None and high is not None and low > high:
            # libvirt at define: "thread_pool_min must be smaller or equal to thread_pool_max".
            yield Finding((*where, "threadPoolMin"), f"{low} is more than threadPoolMax ({high})")
        if high == 0:
            # libvirt at define: "thread_pool_max must be a positive integer".
            yield Finding((*where, "threadPoolMax"), "a pool needs at least one thread")
    if "iothreads" in spec and spec["iothreads"] < len(named):
        # libvirt raises the count to the ids it is given, without a word.
        message = f"{spec['iothreads']} I/O threads, but iothreadids names {len(named)}: at least {len(named)} (or leave iothreads out)"
        yield Finding(("spec", "iothreads"), message)


COUNT_FAMILY = Family(
    spec_field="iothreads",
    schema=COUNT_SCHEMA,
    place=Place.DOMAIN,
    config_field="iothreads",
    lower=lower_count,
    policy_defaults=count_defaults,
    lift=lift_count,
)

IDS_FAMILY = Family(
    spec_field="iothreadids",
    schema=IDS_SCHEMA,
    place=Place.DOMAIN,
    config_field="iothreadids",
    lower=lower_ids,
    lift=lift_ids,
    checks=(_ids_once_within_the_count,),
)
