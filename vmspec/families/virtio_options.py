"""``<driver>``'s virtio options, which every virtio device takes (formatdomain
"Virtio-related options"): the IOMMU for its DMA, PCIe address translation, the packed
virtqueue layout, a page per virtqueue. The inputs and video families use them; a
NIC's driver (interface.py) has its own class with these four among its options.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vmspec.config.xmlmap import ON_OFF, attr, config_class


@config_class
class VirtioDriver:
    TAG: ClassVar[str] = "driver"
    iommu: bool | None = attr("iommu", codec=ON_OFF)
    ats: bool | None = attr("ats", codec=ON_OFF)
    packed: bool | None = attr("packed", codec=ON_OFF)
    page_per_vq: bool | None = attr("page_per_vq", codec=ON_OFF)


# spec key → config field
FIELDS = {"iommu": "iommu", "ats": "ats", "packed": "packed", "pagePerVq": "page_per_vq"}
# Each option's schema; a NIC's driver (interface.py) takes the same four.
OPTIONS: dict[str, Any] = {
    "iommu": {
        "type": "boolean",
        "description": "the device's DMA goes through the guest's IOMMU (iommu='on'), which needs an <iommu> device; default: off",
    },
    "ats": {
        "type": "boolean",
        "description": "PCIe Address Translation Services (ats='on'): the device caches the IOMMU's translations; with iommu",
    },
    "packed": {
        "type": "boolean",
        "description": "the packed virtqueue layout of virtio 1.1 (packed='on'), fewer memory accesses per request; default: the split layout",
    },
    "pagePerVq": {
        "type": "boolean",
        "description": "each virtqueue's notification area on a page of its own (page_per_vq='on'), which a vDPA or vhost-user backend may need; default: off",
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "virtio only: iommu (DMA through the guest's IOMMU, which needs an <iommu> device), ats (PCIe address translation), packed (the packed virtqueue layout), pagePerVq",
    "properties": OPTIONS,
    "additionalProperties": False,
}


def lower(options: dict[str, Any] | None) -> VirtioDriver | None:
    if not options:
        return None
    return VirtioDriver(**{field: options.get(key) for key, field in FIELDS.items()})


def lift(driver: VirtioDriver | None) -> dict[str, Any] | None:
    if driver is None:
        return None
    lifted = {key: getattr(driver, field) for key, field in FIELDS.items()}
    return {key: value for key, value in lifted.items() if value is not None} or None
