"""What one element family declares, so that the generic code can loop over them all.

A family is one libvirt element (``<watchdog>``, ``<tpm>``, ``<memoryBacking>``) and
the spec field that says it. Its module holds everything vmspec knows about it: the
config classes (with their diff identity), the JSON Schema of the spec field, the
semantic checks, lowering and lifting, the policy defaults with their reasons, and
what libvirt fills in by itself. Lowering, lifting, validation, normalization and
the committed JSON Schema read it through ``vmspec.families.FAMILIES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from vmspec.problems import FieldPath, Finding

Spec = dict[str, Any]
Check = Callable[[Spec], Iterator[Finding]]


@dataclass(frozen=True, slots=True)
class PolicyDefault:
    """What lowering writes where the spec is silent, in the spec's words: the field's
    path in the document (``spec.disks[0].bus``), its value and the rule's reason."""

    path: FieldPath
    value: Any
    reason: str


class Place(Enum):
    """Where the family's config value sits: a field of ``Domain`` itself, or of the
    ``Domain`` field named by the value (``Devices``, ``OperatingSystem``, ``Cpu``).

    ``Cpu`` is itself a family's value (the cpu family, at ``DOMAIN``): it is lowered
    before the families at ``CPU``, which go inside it (``lowered_domain_fields``), and
    normalization takes the places in this order, so it comes first there too."""

    DOMAIN = ""
    DEVICES = "devices"
    OS = "os"
    CPU = "cpu"


def _as_is(live: Any, wanted: Any) -> Any:
    return live


def _no_paths(value: Any) -> tuple[tuple[str, str], ...]:
    return ()


def _says_everything(value: Any) -> tuple[str, ...]:
    return ()


def _no_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    return iter(())


@dataclass(frozen=True, slots=True)
class Identity:
    """The VM a family lowers or lifts for, for what is derived from it (NIC MACs come
    from the uuid, so that two compiles of one spec are byte-identical), and the one
    host fact lowering heeds (plan and apply know it; compile does not)."""

    name: str
    uuid: str
    nested_kvm_host: bool = False
    """The host is itself a VM (its CPU has the hypervisor flag): see families/cpu.py."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Family:
    spec_field: str
    """The key under ``spec`` that says this family (``watchdog``)."""
    schema: Mapping[str, Any]
    """The JSON Schema of that key's value, with a description and examples."""
    also_says: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Other keys under ``spec`` the family reads, with their JSON Schema: shorthands for
    a common value (``guestAgent: true`` for the agent's channel). Its lift sets them in
    the spec it is given where they say what it lifts."""
    place: Place
    config_field: str
    """The field of ``Domain`` or ``Devices`` it fills (``watchdogs``)."""
    lower: Callable[[Spec, Identity], Any]
    """The spec → the config field's value (the field's empty value where the spec is silent)."""
    lift: Callable[[Any, Spec, Identity], Any]
    """The config field's value and the spec lifted so far → the spec field's value, or
    None to leave it out. What it cannot say, the lift's self-check reports as dropped."""
    cannot_say: Callable[[Any], tuple[str, ...]] = _says_everything
    """The config field's value → what the spec has no word for, as XPaths with the
    reason (``/domain/devices/interface[2]/@type: hostdev (...)``): a clearer loss than
    the self-check's difference, for what lift leaves out on purpose."""
    checks: tuple[Check, ...] = ()
    """Rules across fields that the schema cannot state, each naming what to change."""
    policy_defaults: Callable[[Spec, Identity], Iterable[PolicyDefault]] = _no_defaults
    """The spec → what ``lower`` writes where the spec is silent, each with its reason
    (``vmspec explain`` shows them). It must read the same functions ``lower`` does, so
    that the two cannot disagree (tests/test_explain_complete.py holds them to it)."""
    libvirt_fills_in: Callable[[Any, Any], Any] = _as_is
    """The live value and the wanted one → the live value without what libvirt adds by
    itself (a default it writes out), so that it is no difference."""
    libvirt_resolves_at_start: Callable[[Any, Any], Any] = _as_is
    """The same for a running guest's value: what libvirt resolves only when it starts the
    guest (and resolves again the same way at the next start)."""
    host_paths: Callable[[Any], Iterable[tuple[str, str]]] = _no_paths
    """The config field's value → the files and folders it needs on the host, as
    (what needs it, path): plan refuses a domain whose path is missing on a local host,
    since the guest would fail only when it starts, maybe weeks after the apply."""
