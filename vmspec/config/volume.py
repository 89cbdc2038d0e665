"""``<volume>``: a storage volume (formatstorage "Storage volume XML"), as vmspec creates them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, text, text_child


@dataclass(**CONFIG)
class VolumeSize:
    """``<capacity>`` and ``<allocation>``, always in bytes, libvirt's own unit."""

    TAG: ClassVar[str] = "capacity"
    unit: str | None = attr("unit")
    value: int | None = text()


@dataclass(**CONFIG)
class VolumeFormat:
    TAG: ClassVar[str] = "format"
    type: str | None = attr("type")


@dataclass(**CONFIG)
class VolumeTarget:
    TAG: ClassVar[str] = "target"
    path: str | None = text_child("path")
    format: VolumeFormat | None = child()


@dataclass(**CONFIG)
class VolumeBackingStore:
    TAG: ClassVar[str] = "backingStore"
    path: str | None = text_child("path")
    format: VolumeFormat | None = child()


@dataclass(**CONFIG)
class StorageVolume:
    TAG: ClassVar[str] = "volume"
    name: str | None = text_child("name")
    capacity: VolumeSize | None = child()
    allocation: VolumeSize | None = child("allocation")
    target: VolumeTarget | None = child()
    backing_store: VolumeBackingStore | None = child()
