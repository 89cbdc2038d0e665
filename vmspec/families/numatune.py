"""``<numatune>``: which host NUMA nodes back the guest's memory, for all of it and per
guest cell (formatdomain "NUMA Node Tuning").

A database pinned to one host socket wants its memory from that socket's node only
(strict): memory from the far node costs every access. The guest's own cells are in
numa.py; memnodes name them by their place in ``spec.numa``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, child, children, config_class
from vmspec.cpulist import PATTERN, as_written, host_list_problems
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding

DEFAULT_MODE = "strict"
MODE_REASON = (
    "libvirt's own default, written out so that the definition says what runs: strict "
    "fails an allocation the nodes cannot hold rather than take far memory unnoticed"
)
PLACEMENT_REASON = (
    "libvirt's own rule, written out: numad places the memory where it places the vCPUs "
    "(cpuset auto), unless a nodeset says where it goes"
)
MODES = ["strict", "interleave", "preferred", "restrictive"]


@config_class
class NumatuneMemory:
    TAG: ClassVar[str] = "memory"
    mode: str | None = attr("mode")
    nodeset: str | None = attr("nodeset")
    placement: str | None = attr("placement")


@config_class
class Memnode:
    TAG: ClassVar[str] = "memnode"
    cellid: int | None = attr("cellid")
    mode: str | None = attr("mode")
    nodeset: str | None = attr("nodeset")


@config_class
class Numatune:
    TAG: ClassVar[str] = "numatune"
    memory: NumatuneMemory | None = child()
    memnodes: tuple[Memnode, ...] = children()


_NODESET = {
    "type": "string",
    "pattern": PATTERN,
    "maxLength": 1024,
    "description": "host NUMA nodes, as libvirt writes lists: 0-1,^3 (`virsh capabilities` shows the host's cells)",
}
_MODE = {
    "enum": MODES,
    "description": "strict: only these nodes (the default); preferred: these first; interleave: spread over them; restrictive: only these, set by cgroups so that it can change while the guest runs",
}

SCHEMA = {
    "type": "object",
    "description": "the host NUMA nodes the guest's memory comes from, for all of it (mode, nodeset or placement auto) and per guest cell (memnodes)",
    "properties": {
        "mode": _MODE,
        "nodeset": _NODESET,
        "placement": {
            "const": "auto",
            "description": "auto: numad picks the nodes when the guest starts, instead of a nodeset (needs numad on the host; cpuset auto implies it)",
        },
        "memnodes": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "cellid": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "the guest cell: its place in numa, from 0",
                    },
                    "mode": _MODE,
                    "nodeset": _NODESET,
                },
                "required": ["cellid", "nodeset"],
                "additionalProperties": False,
            },
            "description": "host nodes for one guest cell each (needs numa)",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"nodeset": "0"},
        {"mode": "interleave", "nodeset": "0"},
        {"mode": "preferred", "placement": "auto"},
        {
            "mode": "restrictive",
            "nodeset": "0",
            "memnodes": [{"cellid": 0, "mode": "restrictive", "nodeset": "0"}],
        },
    ],
}


def memory_placement(spec: Spec) -> str | None:
    """auto where numad places the memory (PLACEMENT_REASON), None where a nodeset does."""
    numatune = spec.get("numatune", {})
    if "nodeset" not in numatune and (
        numatune.get("placement") == "auto" or spec.get("cpuset") == "auto"
    ):
        return "auto"
    return None


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    numatune = spec.get("numatune", {})
    said_where = "nodeset" in numatune or memory_placement(spec) is not None
    if "placement" not in numatune and memory_placement(spec) is not None:
        yield PolicyDefault(("spec", "numatune", "placement"), "auto", PLACEMENT_REASON)
    if "mode" not in numatune and said_where:
        yield PolicyDefault(("spec", "numatune", "mode"), DEFAULT_MODE, MODE_REASON)
    for index, memnode in enumerate(numatune.get("memnodes", ())):
        if "mode" not in memnode:
            path = ("spec", "numatune", "memnodes", index, "mode")
            yield PolicyDefault(path, DEFAULT_MODE, MODE_REASON)


def lower(spec: Spec, identity: Identity) -> Numatune | None:
    numatune = spec.get("numatune", {})
    memory = None
    if "nodeset" in numatune:
        memory = NumatuneMemory(
            mode=numatune.get("mode", DEFAULT_MODE), nodeset=numatune["nodeset"]
        )
    elif memory_placement(spec) == "auto":
        memory = NumatuneMemory(mode=numatune.get("mode", DEFAULT_MODE), placement="auto")
    memnodes = tuple(
        Memnode(
            cellid=memnode["cellid"],
            mode=memnode.get("mode", DEFAULT_MODE),
            nodeset=memnode["nodeset"],
        )
        # libvirt keeps them in cell order.
        for memnode in sorted(numatune.get("memnodes", ()), key=lambda memnode: memnode["cellid"])
    )
    lowered = Numatune(memory=memory, memnodes=memnodes)
    return None if lowered == Numatune() else lowered


def lift(numatune: Numatune | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    numatune = as_libvirt_stores_it(numatune, None)
    if numatune is None:
        return None
    lifted: dict[str, Any] = {}
    memory = numatune.memory
    if memory is not None and memory.placement == "auto":
        if memory.mode != DEFAULT_MODE:
            lifted["mode"] = memory.mode
        if spec.get("cpuset") != "auto":
            lifted["placement"] = "auto"
        elif lifted:
            lifted["placement"] = "auto"  # with a mode of its own: said in full
    elif memory is not None and memory.placement in (None, "static"):
        if memory.mode != DEFAULT_MODE:
            lifted["mode"] = memory.mode
        if memory.nodeset is not None:
            lifted["nodeset"] = memory.nodeset
        if not lifted:
            lifted["mode"] = DEFAULT_MODE
    memnodes = []
    for memnode in numatune.memnodes:
        entry: dict[str, Any] = {"cellid": memnode.cellid}
        if memnode.mode != DEFAULT_MODE:
            entry["mode"] = memnode.mode
        entry["nodeset"] = memnode.nodeset
        memnodes.append(entry)
    if memnodes:
        lifted["memnodes"] = memnodes
    return lifted or None


def cannot_say(numatune: Numatune | None) -> tuple[str, ...]:
    memory = numatune.memory if numatune else None
    if memory is None or memory.placement in (None, "static", "auto"):
        return ()
    return (
        f"/domain/numatune/memory/@placement: {memory.placement} (no placement libvirt 9.0 knows)",
    )


def as_libvirt_stores_it(numatune: Numatune | None, wanted: Any) -> Numatune | None:
    """libvirt writes the default mode (strict), its own form of node lists (0,1 as
    0-1), placement static where a nodeset names the nodes and auto where nothing does:
    the same tuning (seen with libvirt 9.0: define, dumpxml --inactive)."""
    if numatune is None:
        return None
    wanted = wanted if isinstance(wanted, Numatune) else Numatune()
    memory = numatune.memory
    if memory is not None:
        memory = dataclasses.replace(
            memory,
            mode=memory.mode or DEFAULT_MODE,
            nodeset=as_written(memory.nodeset, wanted.memory.nodeset if wanted.memory else None),
            placement=_placement(memory),
        )
    wanted_sets = {memnode.cellid: memnode.nodeset for memnode in wanted.memnodes}
    memnodes = tuple(
        dataclasses.replace(
            memnode,
            mode=memnode.mode or DEFAULT_MODE,
            nodeset=as_written(memnode.nodeset, wanted_sets.get(memnode.cellid)),
        )
        for memnode in numatune.memnodes
    )
    return Numatune(memory=memory, memnodes=memnodes)


def _placement(memory: NumatuneMemory) -> str | None:
    if memory.placement == "static" and memory.nodeset:
        return None  # a nodeset says it
    if memory.placement is None and memory.nodeset is None:
        # No nodeset and no placement: libvirt takes the vCPUs' placement, which can
        # only be auto then (static needs a nodeset).
        return "auto"
    return memory.placement


def _nodesets(spec: Spec) -> Iterator[Finding]:
    numatune = spec.get("numatune", {})
    auto = numatune.get("placement") == "auto" or spec.get("cpuset") == "auto"
    if "mode" in numatune and "nodeset" not in numatune and not auto:
        # libvirt at define: "nodeset for NUMA memory tuning must be set if 'placement'
        # is 'static'".
        message = "a mode needs the host nodes it applies to: add nodeset, or placement auto"
        yield Finding(("spec", "numatune", "mode"), message)
    if numatune.get("placement") == "auto" and "nodeset" in numatune:
        # libvirt takes numad's nodes and drops the nodeset at define.
        message = "placement auto lets numad pick the nodes: leave nodeset out, or placement"
        yield Finding(("spec", "numatune", "nodeset"), message)
    places = [(("spec", "numatune", "nodeset"), numatune.get("nodeset"))]
    places += [
        (("spec", "numatune", "memnodes", index, "nodeset"), memnode["nodeset"])
        for index, memnode in enumerate(numatune.get("memnodes", ()))
    ]
    for where, nodeset in places:
        if nodeset is None:
            continue
        for problem in host_list_problems(nodeset, "host nodes", "host node"):
            yield Finding(where, problem)


def _memnodes_name_cells(spec: Spec) -> Iterator[Finding]:
    numatune = spec.get("numatune", {})
    cells = len(spec.get("numa", ()))
    seen: set[int] = set()
    for index, memnode in enumerate(numatune.get("memnodes", ())):
        where = ("spec", "numatune", "memnodes", index, "cellid")
        cellid = memnode["cellid"]
        if not cells:
            yield Finding(where, "memnodes tune guest NUMA cells: add numa")
        elif cellid >= cells:
            # libvirt at define: "Argument 'cellid' in memnode element must correspond
            # to existing guest's NUMA cell".
            yield Finding(where, f"cell {cellid} is no guest cell: numa has cells 0 to {cells - 1}")
        elif cellid in seen:
            # libvirt at define: "Multiple memnode elements with cellid N".
            yield Finding(where, f"cell {cellid} has a memnode already")
        seen.add(cellid)


FAMILY = Family(
    spec_field="numatune",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="numatune",
    lower=lower,
    lift=lift,
    cannot_say=cannot_say,
    checks=(_nodesets, _memnodes_name_cells),
    policy_defaults=policy_defaults,
    libvirt_fills_in=as_libvirt_stores_it,
)
