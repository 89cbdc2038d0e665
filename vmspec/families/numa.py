"""``<cpu><numa>``: the guest's NUMA cells, each with its vCPUs and its share of memory
(formatdomain "CPU model and topology", NUMA topology).

A guest whose vCPUs and memory span host NUMA nodes runs faster when it sees the same
split, so that its scheduler and allocator keep a thread near its memory; numatune
(numatune.py) says which host node backs each cell. Memory hotplug (max_memory.py)
needs at least one cell: QEMU plugs DIMMs into cells.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, child, children, config_class
from vmspec.cpulist import PATTERN, as_written, parse_cpu_list
from vmspec.families.current_memory import memory_kib
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.families.memory_device import device_kib
from vmspec.problems import Finding
from vmspec.units import format_kib, libvirt_size_in_kib, size_in_kib


@config_class
class Sibling:
    TAG: ClassVar[str] = "sibling"
    id: int | None = attr("id")
    value: int | None = attr("value")


@config_class
class Distances:
    """A row of the guest's ACPI SLIT: how far this cell's memory is from each cell."""

    TAG: ClassVar[str] = "distances"
    siblings: tuple[Sibling, ...] = children()


@config_class
class NumaCell:
    TAG: ClassVar[str] = "cell"
    id: int | None = attr("id")
    cpus: str | None = attr("cpus")
    memory: int | None = attr("memory")
    unit: str | None = attr("unit")
    mem_access: str | None = attr("memAccess")
    discard: bool | None = attr("discard")
    distances: Distances | None = child()


@config_class
class Numa:
    TAG: ClassVar[str] = "numa"
    cells: tuple[NumaCell, ...] = children()


SCHEMA = {
    "type": "array",
    "description": "the guest's NUMA cells, in order (cell 0 first): each with its vCPUs and its share of memory; together they hold every vCPU once and all of memory",
    "minItems": 1,
    # QEMU's limit of NUMA nodes (MAX_NODES).
    "maxItems": 128,
    "items": {
        "type": "object",
        "properties": {
            "cpus": {
                "type": "string",
                "pattern": PATTERN,
                "maxLength": 1024,
                "description": "the cell's vCPUs, as libvirt writes CPU lists: 0-3,^2,8 (leave out for a cell of memory only)",
            },
            "memory": {"$ref": "#/$defs/size", "description": "the cell's share of memory"},
            "memAccess": {
                "enum": ["shared", "private"],
                "description": "shared: other processes (virtiofsd, vhost-user) may map this cell's memory",
            },
            "discard": {
                "type": "boolean",
                "description": "give the cell's memory back to the host when the guest stops",
            },
            "distances": {
                "type": "array",
                "minItems": 1,
                "maxItems": 128,
                # ACPI SLIT values: 10 is a cell's own memory, 11 to 255 farther.
                "items": {"type": "integer", "minimum": 10, "maximum": 255},
                "description": "how far this cell is from each cell, in numa's order (the guest's ACPI SLIT row): 10 for itself, 11 to 255 for the others; all cells say it, or none",
            },
        },
        "required": ["memory"],
        "additionalProperties": False,
    },
    "examples": [
        [{"cpus": "0", "memory": "512MiB"}, {"cpus": "1", "memory": "512MiB"}],
        [
            {"cpus": "0-1", "memory": "768MiB", "memAccess": "shared"},
            {"memory": "256MiB", "discard": True},
        ],
        [
            {"cpus": "0", "memory": "512MiB", "distances": [10, 21]},
            {"cpus": "1", "memory": "512MiB", "distances": [21, 10]},
        ],
    ],
}


def lower(spec: Spec, identity: Identity) -> Numa | None:
    cells = spec.get("numa")
    if not cells:
        return None
    return Numa(cells=tuple(_cell(index, cell) for index, cell in enumerate(cells)))


def _cell(index: int, cell: dict[str, Any]) -> NumaCell:
    return NumaCell(
        id=index,
        cpus=cell.get("cpus"),
        memory=size_in_kib(cell["memory"]),
        unit="KiB",
        mem_access=cell.get("memAccess"),
        discard=cell.get("discard"),
        distances=(
            Distances(
                siblings=tuple(
                    Sibling(id=sibling, value=value)
                    for sibling, value in enumerate(cell["distances"])
                )
            )
            if "distances" in cell
            else None
        ),
    )


def lift(numa: Numa | None, spec: Spec, identity: Identity) -> list[dict[str, Any]] | None:
    numa = as_libvirt_stores_it(numa, None)
    if numa is None or _out_of_order(numa):
        return None
    lifted = []
    for cell in numa.cells:
        entry: dict[str, Any] = {}
        if cell.cpus is not None:
            entry["cpus"] = cell.cpus
        entry["memory"] = format_kib(cell.memory or 0)
        if cell.mem_access is not None:
            entry["memAccess"] = cell.mem_access
        if cell.discard is not None:
            entry["discard"] = cell.discard
        row = _row(cell, len(numa.cells))
        if row is not None:
            entry["distances"] = row
        lifted.append(entry)
    return lifted


def _row(cell: NumaCell, cells: int) -> list[int] | None:
    """The cell's distances to cells 0 to N-1, where it names each once (as libvirt
    stores them: it completes a partial matrix at define); else None, which the
    self-check reports."""
    if cell.distances is None:
        return None
    values = {sibling.id: sibling.value for sibling in cell.distances.siblings}
    if sorted(values) != list(range(cells)) or len(values) != len(cell.distances.siblings):
        return None
    return [values[number] for number in range(cells)]


def _out_of_order(numa: Numa) -> bool:
    return [cell.id for cell in numa.cells] != list(range(len(numa.cells)))


def cannot_say(numa: Numa | None) -> tuple[str, ...]:
    numa = as_libvirt_stores_it(numa, None)
    if numa is None or not _out_of_order(numa):
        return ()
    ids = ",".join(str(cell.id) for cell in numa.cells)
    # libvirt refuses it at define: "Exactly one 'cell' element per guest NUMA cell
    # allowed, non-contiguous ranges or ranges not starting from 0 are not allowed".
    return (f"/domain/cpu/numa/cell/@id: {ids} (cells are numbered 0 to N-1, each once)",)


def as_libvirt_stores_it(numa: Numa | None, wanted: Any) -> Numa | None:
    """libvirt numbers cells without an id in order, keeps them in id order, stores
    memory in KiB and CPU lists
    in its own form (0,1 as 0-1; said back in the spec's words): the same cells (seen
    with libvirt 9.0: define, dumpxml --inactive)."""
    if numa is None:
        return None
    numbered = [
        dataclasses.replace(cell, id=index if cell.id is None else cell.id)
        for index, cell in enumerate(numa.cells)
    ]
    if sorted(cell.id for cell in numbered) == list(range(len(numbered))):
        # libvirt keeps cells by id: 0, 2, 1 is stored 0, 1, 2 (seen with libvirt 9.0).
        numbered.sort(key=lambda cell: cell.id)
    wanted_cells = wanted.cells if isinstance(wanted, Numa) else ()
    cells = tuple(
        _stored(index, cell, wanted_cells[index] if index < len(wanted_cells) else None)
        for index, cell in enumerate(numbered)
    )
    return dataclasses.replace(numa, cells=cells)


def _stored(index: int, cell: NumaCell, wanted: NumaCell | None) -> NumaCell:
    kib = None if cell.memory is None else libvirt_size_in_kib(cell.memory, cell.unit)
    return dataclasses.replace(
        cell,
        id=index if cell.id is None else cell.id,
        cpus=as_written(cell.cpus, wanted.cpus if wanted else None),
        memory=cell.memory if kib is None else kib,
        unit=cell.unit if kib is None else "KiB",
    )


def _every_vcpu_once(spec: Spec) -> Iterator[Finding]:
    cells = spec.get("numa")
    if not cells:
        return
    vcpus = spec["vcpus"]
    owner: dict[int, int] = {}
    for index, cell in enumerate(cells):
        if "cpus" not in cell:
            continue
        where = ("spec", "numa", index, "cpus")
        numbers, problems = parse_cpu_list(cell["cpus"], "vCPUs")
        for problem in problems:
            yield Finding(where, problem)
        beyond = sorted(number for number in numbers if number >= vcpus)
        if beyond:
            # libvirt at define: "Number of CPUs in <numa> exceeds the <vcpu> count".
            message = f"vCPU {beyond[0]} is beyond the guest's vCPUs 0 to {vcpus - 1}"
            yield Finding(where, message)
        for number in sorted(numbers):
            if number in owner:
                # libvirt at define: "NUMA cells 1 and 0 have overlapping vCPU ids".
                yield Finding(where, f"vCPU {number} is in cell {owner[number]} already")
                break
        owner.update({number: index for number in numbers if number not in owner})
    missing = sorted(set(range(vcpus)) - set(owner))
    if missing:
        # libvirt puts a vCPU no cell names into cell 0 on QEMU's command line, which
        # the definition never says (seen with libvirt 9.0).
        message = f"vCPU {missing[0]} is in no cell: every vCPU belongs to one cell"
        yield Finding(("spec", "numa"), message)


def _distances(spec: Spec) -> Iterator[Finding]:
    cells = spec.get("numa") or []
    saying = [index for index, cell in enumerate(cells) if "distances" in cell]
    if saying and len(saying) < len(cells):
        silent = next(index for index in range(len(cells)) if index not in saying)
        # libvirt fills in the rest from the others' rows, which a spec would not show.
        message = f"cell {saying[0]} says its distances, cell {silent} does not: all cells or none"
        yield Finding(("spec", "numa", silent), message)
    for index in saying:
        where = ("spec", "numa", index, "distances")
        row = cells[index]["distances"]
        if len(row) != len(cells):
            message = (
                f"{len(row)} distances for {len(cells)} cells: one for each cell, in numa's order"
            )
            yield Finding(where, message)
            continue
        if row[index] != 10:
            # libvirt at define: "'value 15' is invalid" (a cell's own distance is 10).
            yield Finding(
                (*where, index), f"{row[index]} for the cell itself: a cell's own distance is 10"
            )
        for other, value in enumerate(row):
            if other != index and value == 10:
                # libvirt at define: "'value 10' is invalid for 'sibling id 1'".
                yield Finding(
                    (*where, other), "10 is a cell's own distance: another cell is 11 or more"
                )


def _memory_adds_up(spec: Spec) -> Iterator[Finding]:
    cells = spec.get("numa")
    memory = memory_kib(spec)
    if not cells or memory is None:
        return
    total = 0
    for index, cell in enumerate(cells):
        try:
            total += size_in_kib(cell["memory"])
        except ValueError as error:
            yield Finding(("spec", "numa", index, "memory"), str(error))
            return
    devices = device_kib(spec)
    if total + devices != memory:
        # libvirt's qemu driver sets memory to the cells and the memory devices together
        # at define, without a word (seen with libvirt 9.0).
        held = f"the cells hold {format_kib(total)}"
        if devices:
            held += f" and the memory devices {format_kib(devices)}"
        message = f"{held} together, memory is {spec['memory']}: they must be equal"
        yield Finding(("spec", "numa"), message)


FAMILY = Family(
    spec_field="numa",
    schema=SCHEMA,
    place=Place.CPU,
    config_field="numa",
    lower=lower,
    lift=lift,
    cannot_say=cannot_say,
    checks=(_every_vcpu_once, _distances, _memory_adds_up),
    libvirt_fills_in=as_libvirt_stores_it,
)
