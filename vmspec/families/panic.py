"""``<panic>``: a device through which the guest tells the host it crashed, so that
``on_crash`` can act and the crash is logged (formatdomain "Panic device")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from vmspec.config.xmlmap import CONFIG, attr
from vmspec.families.family import Family, Identity, Place, Spec


@dataclass(**CONFIG)
class Panic:
    TAG: ClassVar[str] = "panic"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")


SCHEMA = {
    "type": "array",
    "description": "panic notifiers: the guest reports its crash to the host, which then acts on lifecycle.onCrash",
    "items": {
        "type": "object",
        "properties": {
            "model": {
                "enum": ["isa", "pvpanic", "hyperv", "pseries", "s390"],
                "description": "isa: the pvpanic ISA device (x86); pvpanic: its PCI form; hyperv: the Hyper-V crash MSRs (Windows)",
            }
        },
        "required": ["model"],
        "additionalProperties": False,
    },
    "maxItems": 4,
    "uniqueItems": True,
    "examples": [[{"model": "isa"}], [{"model": "hyperv"}, {"model": "isa"}]],
}


def lower(spec: Spec, identity: Identity) -> tuple[Panic, ...]:
    return tuple(Panic(model=panic["model"]) for panic in spec.get("panic", []))


def lift(panics: tuple[Panic, ...], spec: Spec, identity: Identity) -> list[dict[str, Any]] | None:
    # A panic without a model is left for the self-check to name: libvirt picks one by arch.
    return [{"model": panic.model} for panic in panics if panic.model] or None


FAMILY = Family(
    spec_field="panic",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="panics",
    lower=lower,
    lift=lift,
)
