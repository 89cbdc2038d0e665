"""What the policy writes where a VM's spec is silent, each with its reason, in the
spec's own words: what ``vmspec explain`` shows beside the values the files wrote.

The domain's own (uuid, arch, boot, lifecycle) are here; every family declares its own
(``Family.policy_defaults``). The values come from the same functions lowering calls
(so explain cannot drift from compile), and the reasons are those the rules carry next
to their code; tests/test_explain_complete.py finds any default left without one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vmspec.arches import ARCH_REASON, DEFAULT_ARCH
from vmspec.families import FAMILIES
from vmspec.families.family import Identity, PolicyDefault
from vmspec.lower import policy
from vmspec.lower.identity import UUID_REASON, domain_uuid

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
    if "boot" not in spec and policy.boot_devices(spec):
        yield PolicyDefault(("spec", "boot"), policy.boot_devices(spec), policy.BOOT_REASON)
    actions = spec.get("lifecycle", {})
    for key, value in zip(
        ("onPoweroff", "onReboot", "onCrash"), policy.lifecycle(spec), strict=True
    ):
        if key not in actions:
            yield PolicyDefault(("spec", "lifecycle", key), value, policy.LIFECYCLE_REASON)
