"""``<iommu>``: an IOMMU the guest sees (formatdomain "IOMMU devices"): Intel's VT-d
on q35, Arm's SMMUv3 on virt, or virtio-iommu; a guest needs one to give its own
nested guests or user-space drivers (DPDK, VFIO in the guest) a device safely.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.arches import spec_arch
from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import ON_OFF, attr, child, config_class
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@config_class
class IommuDriver:
    """Intel's VT-d options (formatdomain lists them for model intel only). Interrupt
    remapping (intremap, and eim with it) needs the split IOAPIC of features.ioapic,
    which the spec cannot say yet: parsing reports them as uncovered."""

    TAG: ClassVar[str] = "driver"
    caching_mode: bool | None = attr("caching_mode", codec=ON_OFF)
    iotlb: bool | None = attr("iotlb", codec=ON_OFF)
    aw_bits: int | None = attr("aw_bits")


@config_class
class Iommu:
    TAG: ClassVar[str] = "iommu"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    driver: IommuDriver | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


# The spec's name of each driver attribute.
DRIVER_FIELDS = {
    "cachingMode": "caching_mode",
    "iotlb": "iotlb",
    "awBits": "aw_bits",
}

SCHEMA = {
    "type": "object",
    "description": "an IOMMU for the guest (its nested guests or user-space drivers): intel (q35), smmuv3 (Arm's virt) or virtio",
    "properties": {
        "model": {
            "enum": ["intel", "smmuv3", "virtio"],
            "description": "the emulated IOMMU: Intel VT-d (x86 q35), Arm SMMUv3 (aarch64 virt) or virtio-iommu",
        },
        "cachingMode": {
            "type": "boolean",
            "description": "intel: caching mode, which a device assigned to a nested guest (VFIO) needs",
        },
        "iotlb": {"type": "boolean", "description": "intel: the device IOTLB (ATS)"},
        "awBits": {
            "enum": [39, 48],
            "description": "intel: the guest address width in bits",
        },
    },
    "required": ["model"],
    "additionalProperties": False,
    "examples": [
        {"model": "intel", "cachingMode": True, "iotlb": True, "awBits": 48},
        {"model": "virtio"},
    ],
}


def _iommu_problems(spec: Spec) -> Iterator[Finding]:
    iommu = spec.get("iommu")
    if iommu is None:
        return
    model, machine = iommu["model"], spec.get("machine", "")
    arch = spec_arch(spec)
    if model == "intel" and "q35" not in machine:
        # libvirt: "IOMMU device: 'intel' is only supported with Q35 machines".
        yield Finding(("spec", "iommu", "model"), "an intel IOMMU needs a q35 machine")
    if model == "smmuv3" and not (arch == "aarch64" and machine.startswith("virt")):
        yield Finding(("spec", "iommu", "model"), "smmuv3 is Arm's: aarch64 on a virt machine")
    for key in DRIVER_FIELDS:
        if key in iommu and model != "intel":
            yield Finding(("spec", "iommu", key), f"{key} is an intel IOMMU's option")


def lower(spec: Spec, identity: Identity) -> Iommu | None:
    iommu = spec.get("iommu")
    if iommu is None:
        return None
    options = {field: iommu[key] for key, field in DRIVER_FIELDS.items() if key in iommu}
    return Iommu(model=iommu["model"], driver=IommuDriver(**options) if options else None)


def lift(iommu: Iommu | None, spec: Spec, identity: Identity) -> Spec | None:
    if iommu is None:
        return None
    lifted: Spec = {"model": iommu.model}
    driver = iommu.driver
    for key, field in DRIVER_FIELDS.items():
        value = getattr(driver, field) if driver else None
        if value is not None:
            lifted[key] = value
    return lifted


def as_libvirt_stores_it(live: Iommu | None, wanted: Any) -> Iommu | None:
    """An empty ``<driver/>`` is no driver option at all."""
    if live is not None and live.driver == IommuDriver():
        return Iommu(model=live.model)
    return live


FAMILY = Family(
    spec_field="iommu",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="iommu",
    lower=lower,
    lift=lift,
    checks=(_iommu_problems,),
    libvirt_fills_in=as_libvirt_stores_it,
)
