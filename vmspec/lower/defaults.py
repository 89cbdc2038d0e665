"""What the policy writes where a VM's spec is silent, each with its reason, in the
spec's own words: what ``vmspec explain`` shows beside the values the files wrote.

The values come from the same functions lowering calls (so explain cannot drift from
compile), and the reasons are those the rules carry next to their code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from vmspec.arches import ARCH_REASON, DEFAULT_ARCH
from vmspec.families import FAMILIES
from vmspec.families.clock import policy_clock_and_reasons
from vmspec.families.family import Identity, PolicyDefault
from vmspec.families.input import TABLET_REASON
from vmspec.families.input import inputs as policy_inputs
from vmspec.families.interface import MODEL_REASON
from vmspec.families.interface import model as interface_model
from vmspec.families.memballoon import BALLOON_REASON
from vmspec.families.memballoon import DEFAULT_MODEL as BALLOON_MODEL
from vmspec.lower import policy
from vmspec.lower.identity import MAC_REASON, UUID_REASON, domain_uuid, interface_macs

__all__ = ["PolicyDefault", "policy_defaults"]


def policy_defaults(
    document: dict[str, Any], *, nested_kvm_host: bool = False
) -> list[PolicyDefault]:
    """The defaults of a valid VirtualMachine document (profiles laid in already)."""
    return list(_defaults(document, nested_kvm_host))


def _defaults(document: dict[str, Any], nested_kvm_host: bool) -> Iterator[PolicyDefault]:
    metadata, spec = document["metadata"], document["spec"]
    uuid = metadata.get("uuid", "").lower() or domain_uuid(metadata["name"])
    if "uuid" not in metadata:
        yield PolicyDefault(("metadata", "uuid"), uuid, UUID_REASON)
    if "arch" not in spec:
        yield PolicyDefault(("spec", "arch"), DEFAULT_ARCH, ARCH_REASON)
    identity = Identity(metadata["name"], uuid, nested_kvm_host)
    for family in FAMILIES:
        yield from family.policy_defaults(spec, identity)
    yield from _clock(spec)
    if "boot" not in spec and policy.boot_devices(spec):
        yield PolicyDefault(("spec", "boot"), policy.boot_devices(spec), policy.BOOT_REASON)
    actions = spec.get("lifecycle", {})
    for key, value in zip(
        ("onPoweroff", "onReboot", "onCrash"), policy.lifecycle(spec), strict=True
    ):
        if key not in actions:
            yield PolicyDefault(("spec", "lifecycle", key), value, policy.LIFECYCLE_REASON)
    yield from _interfaces(spec, uuid)
    if "inputs" not in spec and policy_inputs(spec):
        yield PolicyDefault(("spec", "inputs"), policy_inputs(spec), TABLET_REASON)
    if "model" not in spec.get("memballoon", {}):
        yield PolicyDefault(("spec", "memballoon", "model"), BALLOON_MODEL, BALLOON_REASON)


def _clock(spec: dict[str, Any]) -> Iterator[PolicyDefault]:
    clock = spec.get("clock", {})
    policy_clock, reasons = policy_clock_and_reasons(spec)
    if "offset" not in clock:
        yield PolicyDefault(("spec", "clock", "offset"), policy_clock.offset, reasons["offset"])
    said = clock.get("timers", {})
    for timer in policy_clock.timers:
        if timer.name not in said:
            value = {
                field.name: getattr(timer, field.name)
                for field in dataclasses.fields(timer)
                if field.name != "name" and getattr(timer, field.name) is not None
            }
            yield PolicyDefault(("spec", "clock", "timers", timer.name), value, reasons[timer.name])


def _interfaces(spec: dict[str, Any], uuid: str) -> Iterator[PolicyDefault]:
    interfaces = spec.get("interfaces", [])
    macs = interface_macs(uuid, [interface.get("mac") for interface in interfaces])
    for index, (interface, mac) in enumerate(zip(interfaces, macs, strict=True)):
        if "mac" not in interface:
            yield PolicyDefault(("spec", "interfaces", index, "mac"), mac, MAC_REASON)
        if "model" not in interface:
            yield PolicyDefault(
                ("spec", "interfaces", index, "model"), interface_model(interface), MODEL_REASON
            )
