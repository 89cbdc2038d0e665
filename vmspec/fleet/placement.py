"""Where each spec goes in an inventory: pure rules over what the hosts said.

A VM goes to one host: the one its ``placement`` names, or among the hosts its
``hostSelector`` matches (any host without placement) the one it is defined on already,
else the one with the most free memory (ties by name). So a plan never moves a VM by
itself: it moves only when the placement no longer matches the host it is on, and then
the plan says so. A pool or network goes to every matching host.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vmspec.fleet.inventory import Inventory, InventoryHost
from vmspec.load import SourceDocument
from vmspec.problems import Finding, Problem

VIRTUAL_MACHINE = "VirtualMachine"


@dataclass(frozen=True, slots=True)
class HostView:
    """What placement needs of a reachable host."""

    name: str
    free_memory: int  # bytes, from the host's node info
    domains: frozenset[str]  # names of the domains defined (or running) there


@dataclass(frozen=True, slots=True)
class Move:
    """A VM defined on ``source`` whose placement now says ``target``."""

    name: str
    document: SourceDocument
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A spec this run cannot place, with the reason (shown in the plan, exit 1)."""

    name: str
    kind: str
    reason: str


@dataclass(slots=True)
class Placement:
    documents: dict[str, list[SourceDocument]]  # host name → what is planned there
    moves: list[Move]
    skipped: list[Skipped]
    problems: list[Problem]  # placements that name no host of the inventory
    chosen: dict[str, str]  # VM name → why it went where it went (for the plan)


def place(
    documents: Iterable[SourceDocument],
    inventory: Inventory,
    reached: dict[str, HostView],
    planned: set[str],
) -> Placement:
    """``reached``: the hosts that answered; ``planned``: the hosts this run plans (all of
    the inventory, or those --limit keeps). A host in neither did not answer."""
    placement = Placement({host.name: [] for host in inventory.hosts}, [], [], [], {})
    for document in documents:
        candidates = _candidates(document, inventory, placement.problems)
        if candidates is None:
            continue
        if document.data["kind"] == VIRTUAL_MACHINE:
            _place_machine(document, candidates, inventory, reached, planned, placement)
        else:
            for host in candidates:
                if host.name in planned:
                    placement.documents[host.name].append(document)
    return placement


def _candidates(
    document: SourceDocument, inventory: Inventory, problems: list[Problem]
) -> list[InventoryHost] | None:
    wanted: dict[str, Any] = document.data["spec"].get("placement", {})
    if "host" in wanted:
        host = inventory.named(wanted["host"])
        if host is None:
            names = [known.name for known in inventory.hosts]
            close = difflib.get_close_matches(wanted["host"], names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (it has {', '.join(names)})"
            message = f"no host {wanted['host']!r} in the inventory {inventory.file}{hint}"
            problems.append(document.problem(Finding(("spec", "placement", "host"), message)))
            return None
        return [host]
    selector = wanted.get("hostSelector", {})
    matching = [host for host in inventory.hosts if host.matches(selector)]
    if not matching:
        labels = ", ".join(f"{label}={value}" for label, value in selector.items())
        message = f"no host in the inventory {inventory.file} has the labels {labels}"
        problems.append(document.problem(Finding(("spec", "placement", "hostSelector"), message)))
        return None
    return matching


def _place_machine(
    document: SourceDocument,
    candidates: list[InventoryHost],
    inventory: Inventory,
    reached: dict[str, HostView],
    planned: set[str],
    placement: Placement,
) -> None:
    name = document.data["metadata"]["name"]
    names = {host.name for host in candidates}
    defined_on = sorted(host for host, view in reached.items() if name in view.domains)
    staying = [host for host in defined_on if host in names]

    def skip(reason: str) -> None:
        placement.skipped.append(Skipped(name, VIRTUAL_MACHINE, reason))

    if len(staying) > 1:
        skip(f"defined on {' and '.join(staying)}: remove the copy that is not the VM")
        return
    if staying:
        here = staying[0]
        moving_from = [host for host in defined_on if host != here]
        if moving_from:  # a move that stopped after defining on the target: finish it
            placement.moves.append(Move(name, document, moving_from[0], here))
        elif here in planned:
            placement.documents[here].append(document)
            placement.chosen[name] = f"stays on {here}, where it is defined"
        return
    if not names & planned and not defined_on:
        return  # its hosts are all outside --limit: not this run's business
    # Defined nowhere this run looked: one of its hosts that did not answer may hold it,
    # and choosing another would make a second VM of the same name. (Hosts it may not go
    # to are not waited for: were it on one, that is a move, found once the host answers.)
    unreached = [host.name for host in candidates if host.name not in reached]
    if len(candidates) == 1 and unreached:
        return  # its one host did not answer: that host's failure says it all
    if unreached and not defined_on:
        why = ", ".join(
            f"{host} ({'left out by --limit' if host not in planned else 'no answer'})"
            for host in unreached
        )
        skip(f"not placed: it may be defined on {why}")
        return
    target = _roomiest([reached[host] for host in sorted(names) if host in reached])
    if target is None:
        skip("not placed: none of its hosts answered")
    elif defined_on:
        placement.moves.append(Move(name, document, defined_on[0], target.name))
    elif target.name in planned:
        placement.documents[target.name].append(document)
        how = "its only host" if len(names) == 1 else "the matching host with the most free memory"
        placement.chosen[name] = f"on {target.name}: {how}"
    else:
        skip(f"not placed: its host would be {target.name}, which --limit leaves out")


def _roomiest(views: list[HostView]) -> HostView | None:
    """The host with the most free memory; ties by name, so the choice is the same each run."""
    return min(views, key=lambda view: (-view.free_memory, view.name), default=None)
