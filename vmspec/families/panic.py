"""``<panic>``: a device through which the guest tells the host it crashed, so that
``on_crash`` can act and the crash is logged (formatdomain "Panic device")."""

from __future__ import annotations

from typing import Any, ClassVar

from vmspec.arches import S390_ARCHES, is_pseries, spec_arch
from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import attr, child, config_class
from vmspec.families.family import Family, Identity, Place, Spec


@config_class
class Panic:
    TAG: ClassVar[str] = "panic"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


SCHEMA = {
    "type": "array",
    "description": "panic notifiers: the guest reports its crash to the host, which then acts on lifecycle.onCrash",
    "items": {
        "type": "object",
        "properties": {
            "model": {
                "enum": ["isa", "hyperv", "pseries", "s390"],
                "description": "isa: QEMU's pvpanic ISA device (x86); hyperv: the Hyper-V crash MSRs (Windows); libvirt 9.0's models (pvpanic, its PCI form, came in 9.1)",
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


# libvirt's qemu driver gives every pseries and s390 guest the panic notifier its firmware
# has anyway (qemuDomainDefAddDefaultDevices), and these models exist on no other machine:
# one the spec does not name is libvirt's, not a choice.
LIBVIRTS_OWN_MODELS = ("pseries", "s390")


def libvirts_own_model(spec: Spec) -> str | None:
    arch = spec_arch(spec)
    if is_pseries(arch, spec.get("machine")):
        return "pseries"
    return "s390" if arch in S390_ARCHES else None


def lift(panics: tuple[Panic, ...], spec: Spec, identity: Identity) -> list[dict[str, Any]] | None:
    # A panic without a model is left for the self-check to name: libvirt picks one by arch.
    own = libvirts_own_model(spec)
    return [{"model": panic.model} for panic in panics if panic.model not in (None, own)] or None


def libvirt_fills_in(live: tuple[Panic, ...], wanted: tuple[Panic, ...]) -> tuple[Panic, ...]:
    return tuple(
        panic for panic in live if panic in wanted or panic.model not in LIBVIRTS_OWN_MODELS
    )


FAMILY = Family(
    spec_field="panic",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="panics",
    lower=lower,
    lift=lift,
    libvirt_fills_in=libvirt_fills_in,
)
