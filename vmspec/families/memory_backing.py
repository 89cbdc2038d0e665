"""``<memoryBacking>``: how QEMU backs the guest's RAM on the host: huge pages, shared
or private, from a file, anonymous memory or a memfd, allocated up front or on demand
(formatdomain "Memory Backing").

A guest that shares a folder through virtiofs needs its memory shared with virtiofsd
(see filesystem.py); one that wants huge pages needs them reserved on the host.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.arches import spec_arch
from vmspec.config.xmlmap import attr, child, children, config_class, flag
from vmspec.cpulist import PATTERN, as_written, parse_cpu_list
from vmspec.families.current_memory import memory_kib
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding
from vmspec.units import format_kib, libvirt_size_in_kib, size_in_kib


@config_class
class Page:
    """One huge page size; vmspec always writes it in KiB, the unit libvirt stores."""

    TAG: ClassVar[str] = "page"
    size: int | None = attr("size")
    unit: str | None = attr("unit")
    nodeset: str | None = attr("nodeset")  # guest NUMA cells


@config_class
class Hugepages:
    """``<hugepages/>`` alone: the host's default huge page size."""

    TAG: ClassVar[str] = "hugepages"
    pages: tuple[Page, ...] = children()


@config_class
class MemorySource:
    TAG: ClassVar[str] = "source"
    type: str | None = attr("type")


@config_class
class MemoryAccess:
    TAG: ClassVar[str] = "access"
    mode: str | None = attr("mode")


@config_class
class MemoryAllocation:
    TAG: ClassVar[str] = "allocation"
    mode: str | None = attr("mode")
    threads: int | None = attr("threads")  # QEMU's preallocation threads


@config_class
class MemoryBacking:
    TAG: ClassVar[str] = "memoryBacking"
    hugepages: Hugepages | None = child()
    nosharepages: bool = flag("nosharepages")
    locked: bool = flag("locked")
    source: MemorySource | None = child()
    access: MemoryAccess | None = child()
    allocation: MemoryAllocation | None = child()
    discard: bool = flag("discard")


# The huge page sizes of the host kernels QEMU runs on, by the guest's arch (a KVM guest
# runs on a host of its own arch): x86 has 2 MiB and 1 GiB pages; arm64 with 4 KiB
# pages (Debian's kernels) has 64 KiB, 2 MiB, 32 MiB and 1 GiB ones, with 64 KiB pages
# 2 MiB, 512 MiB and 16 GiB. libvirt takes any size and QEMU fails at start.
HUGE_PAGE_KIB = {
    "x86_64": (2 * 1024, 1024**2),
    "i686": (2 * 1024, 1024**2),
    "aarch64": (64, 2 * 1024, 32 * 1024, 512 * 1024, 1024**2, 16 * 1024**2),
    "armv7l": (2 * 1024,),  # LPAE sections
    # POWER9's radix MMU has 2 MiB and 1 GiB pages, the hash MMU 16 MiB and 16 GiB.
    "ppc64": (2 * 1024, 16 * 1024, 1024**2, 16 * 1024**2),
    "ppc64le": (2 * 1024, 16 * 1024, 1024**2, 16 * 1024**2),
    "s390x": (1024, 2 * 1024**2),  # EDAT-1 segments and EDAT-2 regions
    "riscv64": (2 * 1024, 1024**2),  # Sv39/Sv48 megapages and gigapages
}

_FLAGS = (
    ("nosharepages", "nosharepages", "do not let KSM merge the guest's pages with others'"),
    ("locked", "locked", "keep the guest's memory in host RAM, never swapped out"),
    ("discard", "discard", "give the memory back to the host when the guest stops"),
)

SCHEMA = {
    "type": "object",
    "description": "how the host backs the guest's memory, as in libvirt's <memoryBacking>",
    "properties": {
        "hugepages": {
            "anyOf": [
                {"type": "boolean"},
                {
                    "type": "object",
                    "properties": {
                        "pages": {
                            "type": "array",
                            "minItems": 1,
                            # One size per guest NUMA cell at most (numa's limit).
                            "maxItems": 128,
                            "items": {
                                "type": "object",
                                "properties": {
                                    "size": {
                                        "$ref": "#/$defs/size",
                                        "description": "the huge page size: 2MiB or 1GiB on x86",
                                    },
                                    "nodeset": {
                                        "type": "string",
                                        "pattern": PATTERN,
                                        "maxLength": 1024,
                                        "description": "the guest NUMA cells (their places in numa: 0,2-3) this size backs; leave out for the cells no other size names",
                                    },
                                },
                                "required": ["size"],
                                "additionalProperties": False,
                            },
                            "description": "the huge page sizes: one for all guest memory, or one per set of guest NUMA cells (nodeset)",
                        }
                    },
                    "required": ["pages"],
                    "additionalProperties": False,
                },
            ],
            "description": "back the guest's memory with huge pages reserved on the host: true for the host's default size, or pages: [{size: 1GiB}]",
        },
        **{key: {"type": "boolean", "description": description} for key, _, description in _FLAGS},
        "source": {
            "enum": ["file", "anonymous", "memfd"],
            "description": "where QEMU takes the memory from; memfd with access shared suits virtiofs",
        },
        "access": {
            "enum": ["shared", "private"],
            "description": "shared: other processes (virtiofsd, vhost-user) may map the guest's memory",
        },
        "allocation": {
            "enum": ["immediate", "ondemand"],
            "description": "immediate: allocate all memory at start; ondemand: as the guest touches it",
        },
        "allocationThreads": {
            "type": "integer",
            "minimum": 1,
            "maximum": 4096,
            "description": "how many threads allocate the memory at start (allocation immediate): a large guest starts sooner",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"hugepages": True},
        {
            "hugepages": {"pages": [{"size": "2MiB"}]},
            "locked": True,
            "allocation": "immediate",
            "allocationThreads": 2,
        },
        {"source": "memfd", "access": "shared"},
        {"nosharepages": True, "discard": True, "source": "file", "access": "private"},
        {"hugepages": {"pages": [{"size": "2MiB", "nodeset": "1"}]}},
    ],
}


def lower(spec: Spec, identity: Identity) -> MemoryBacking | None:
    backing = spec.get("memoryBacking")
    if not backing:
        return None
    hugepages = backing.get("hugepages", False)
    lowered = MemoryBacking(
        hugepages=_hugepages(hugepages) if hugepages else None,
        **{field: backing.get(key, False) for key, field, _ in _FLAGS},
        source=MemorySource(type=backing["source"]) if "source" in backing else None,
        access=MemoryAccess(mode=backing["access"]) if "access" in backing else None,
        allocation=(
            MemoryAllocation(mode=backing["allocation"], threads=backing.get("allocationThreads"))
            if "allocation" in backing
            else None
        ),
    )
    return None if lowered == MemoryBacking() else lowered  # hugepages: false alone


def _hugepages(hugepages: bool | dict[str, Any]) -> Hugepages:
    if hugepages is True:
        return Hugepages()
    return Hugepages(
        pages=tuple(
            Page(size=size_in_kib(page["size"]), unit="KiB", nodeset=page.get("nodeset"))
            for page in hugepages["pages"]
        )
    )


def lift(backing: MemoryBacking | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    backing = as_libvirt_stores_it(backing, None)
    if backing is None:
        return None
    lifted: dict[str, Any] = {}
    if backing.hugepages is not None:
        pages = [
            {"size": format_kib(page.size), **({"nodeset": page.nodeset} if page.nodeset else {})}
            for page in backing.hugepages.pages
            if page.size
        ]
        lifted["hugepages"] = {"pages": pages} if pages else True
    lifted.update({key: True for key, field, _ in _FLAGS if getattr(backing, field)})
    if backing.source and backing.source.type:
        lifted["source"] = backing.source.type
    if backing.access and backing.access.mode:
        lifted["access"] = backing.access.mode
    if backing.allocation and backing.allocation.mode:
        lifted["allocation"] = backing.allocation.mode
    if backing.allocation and backing.allocation.threads:
        lifted["allocationThreads"] = backing.allocation.threads
    return lifted or None


def as_libvirt_stores_it(backing: MemoryBacking | None, wanted: Any) -> MemoryBacking | None:
    """libvirt stores page sizes in KiB (``size='1' unit='G'`` becomes 1048576 KiB) and
    drops an ``<allocation/>`` without a mode, and then an empty ``<memoryBacking/>``:
    the same guest either way (seen with libvirt 9.0: define, dumpxml --inactive)."""
    if backing is None:
        return None
    if backing.hugepages is not None:
        wanted_pages = (
            wanted.hugepages.pages if isinstance(wanted, MemoryBacking) and wanted.hugepages else ()
        )
        pages = tuple(
            _in_kib(page, wanted_pages[index] if index < len(wanted_pages) else None)
            for index, page in enumerate(backing.hugepages.pages)
        )
        backing = dataclasses.replace(backing, hugepages=Hugepages(pages=pages))
    if backing.allocation is not None and backing.allocation.threads == 0:
        # libvirt drops threads='0' (QEMU's own default).
        backing = dataclasses.replace(
            backing, allocation=MemoryAllocation(mode=backing.allocation.mode)
        )
    if backing.allocation == MemoryAllocation():
        backing = dataclasses.replace(backing, allocation=None)
    return None if backing == MemoryBacking() else backing


def _in_kib(page: Page, wanted: Page | None) -> Page:
    kib = None if page.size is None else libvirt_size_in_kib(page.size, page.unit)
    nodeset = as_written(page.nodeset, wanted.nodeset if wanted else None)
    if kib is None:
        return dataclasses.replace(page, nodeset=nodeset)
    return Page(size=kib, unit="KiB", nodeset=nodeset)


def _page_sizes(spec: Spec) -> Iterator[Finding]:
    hugepages = spec.get("memoryBacking", {}).get("hugepages")
    if not isinstance(hugepages, dict):
        return
    arch = spec_arch(spec)
    sizes = HUGE_PAGE_KIB[arch]
    for index, page in enumerate(hugepages["pages"]):
        where = ("spec", "memoryBacking", "hugepages", "pages", index, "size")
        try:
            kib = size_in_kib(page["size"])
        except ValueError as error:
            yield Finding(where, str(error))
            continue
        if kib not in sizes:
            choices = ", ".join(format_kib(size) for size in sizes)
            message = f"{page['size']} is no huge page size of {arch} hosts: use one of {choices}"
            yield Finding(where, message)
            continue
        memory = memory_kib(spec)
        if memory is not None and memory < kib and "nodeset" not in page:
            # QEMU: "memory size ... must be equal to or larger than page size".
            message = (
                f"memory ({spec['memory']}) is less than one {page['size']} huge page, "
                "which QEMU refuses at start: use smaller pages or more memory"
            )
            yield Finding(where, message)


def _page_nodesets(spec: Spec) -> Iterator[Finding]:
    hugepages = spec.get("memoryBacking", {}).get("hugepages")
    if not isinstance(hugepages, dict):
        return
    cells = len(spec.get("numa", ()))
    owner: dict[int, int] = {}
    masters = []
    for index, page in enumerate(hugepages["pages"]):
        where = ("spec", "memoryBacking", "hugepages", "pages", index, "nodeset")
        if "nodeset" not in page:
            masters.append(index)
            continue
        numbers, problems = parse_cpu_list(page["nodeset"], "guest cells")
        for problem in problems:
            yield Finding(where, problem)
        beyond = sorted(number for number in numbers if number >= cells)
        if not cells:
            yield Finding(where, "a nodeset names guest NUMA cells: add numa")
            continue
        if beyond:
            # libvirt at define: "hugepages: node 2 not found".
            yield Finding(
                where, f"cell {beyond[0]} is no guest cell: numa has cells 0 to {cells - 1}"
            )
        again = sorted(number for number in numbers if number in owner)
        if again:
            # libvirt at define: "nodeset attribute of hugepages of sizes 1048576 and
            # 2048 intersect".
            yield Finding(
                where, f"cell {again[0]} has a page size already (pages[{owner[again[0]]}])"
            )
        owner.update({number: index for number in numbers if number not in owner})
        yield from _cells_hold_a_page(spec, page, sorted(set(numbers) - set(beyond)), where)
    if len(masters) > 1:
        # libvirt at define: "two master hugepages detected: 1048576 and 2048".
        where = ("spec", "memoryBacking", "hugepages", "pages", masters[1])
        yield Finding(
            where, "only one size may leave out nodeset (it backs the cells no other size names)"
        )


def _cells_hold_a_page(
    spec: Spec, page: dict[str, Any], cells: list[int], where: tuple[Any, ...]
) -> Iterator[Finding]:
    try:
        page_kib = size_in_kib(page["size"])
        smallest = min(cells, key=lambda cell: size_in_kib(spec["numa"][cell]["memory"]))
        cell_kib = size_in_kib(spec["numa"][smallest]["memory"])
    except (ValueError, KeyError):
        return  # the size and numa checks say so
    if cell_kib < page_kib:
        # QEMU at start: "memory size ... must be equal to or larger than page size".
        message = (
            f"cell {smallest} holds {spec['numa'][smallest]['memory']}, less than one "
            f"{page['size']} huge page, which QEMU refuses at start"
        )
        yield Finding(where, message)


def _threads_preallocate(spec: Spec) -> Iterator[Finding]:
    backing = spec.get("memoryBacking", {})
    if "allocationThreads" in backing and backing.get("allocation") != "immediate":
        # libvirt takes them and QEMU does nothing with them: only preallocation has threads.
        message = "the threads allocate memory at start: they need allocation immediate"
        yield Finding(("spec", "memoryBacking", "allocationThreads"), message)


def _no_hugepages_from_anonymous_memory(spec: Spec) -> Iterator[Finding]:
    backing = spec.get("memoryBacking", {})
    if backing.get("hugepages") and backing.get("source") == "anonymous":
        # libvirt refuses it at define: "hugepages are not allowed with anonymous memory source".
        message = "huge pages cannot come from anonymous memory: use source file or memfd, or leave source out"
        yield Finding(("spec", "memoryBacking", "source"), message)


def shared_memory(spec: Spec) -> bool:
    """Whether other processes (virtiofsd, vhost-user) may map the guest's memory."""
    return spec.get("memoryBacking", {}).get("access") == "shared"


FAMILY = Family(
    spec_field="memoryBacking",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="memory_backing",
    lower=lower,
    lift=lift,
    checks=(_page_sizes, _page_nodesets, _threads_preallocate, _no_hugepages_from_anonymous_memory),
    libvirt_fills_in=as_libvirt_stores_it,
)
