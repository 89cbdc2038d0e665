"""``<memballoon>``: lets the host reclaim and report guest memory.

formatdomain: "Memory balloon device".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import attr, child, config_class
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec


@config_class
class Memballoon:
    TAG: ClassVar[str] = "memballoon"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


BALLOON_REASON = (
    "the balloon reports the guest's memory use and lets the host reclaim it; libvirt "
    "adds it anyway"
)
DEFAULT_MODEL = "virtio"  # BALLOON_REASON

SCHEMA = {
    "type": "object",
    "description": "the memory balloon, which reports guest memory use and lets the host reclaim it",
    "properties": {
        "model": {
            "enum": ["virtio", "none"],
            "description": f"none: no balloon (a guest with passed-through devices); default: {DEFAULT_MODEL}",
        }
    },
    "additionalProperties": False,
    "examples": [{"model": "none"}],
}


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    if "model" not in spec.get("memballoon", {}):
        yield PolicyDefault(("spec", "memballoon", "model"), DEFAULT_MODEL, BALLOON_REASON)


def lower(spec: Spec, identity: Identity) -> Memballoon:
    return Memballoon(model=spec.get("memballoon", {}).get("model", DEFAULT_MODEL))


def lift(memballoon: Memballoon | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if memballoon is None or memballoon.model == DEFAULT_MODEL:
        return None
    return {"model": memballoon.model}


FAMILY = Family(
    spec_field="memballoon",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="memballoon",
    lower=lower,
    lift=lift,
    policy_defaults=policy_defaults,
)
