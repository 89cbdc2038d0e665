"""``<volume>``: a storage volume (formatstorage "Storage volume XML"), as vmspec creates them."""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.xmlmap import attr, child, config_class, text, text_child


@config_class
class VolumeSize:
    """``<capacity>`` and ``<allocation>``, always in bytes, libvirt's own unit."""

    TAG: ClassVar[str] = "capacity"
    unit: str | None = attr("unit")
    value: int | None = text()


@config_class
class VolumeFormat:
    TAG: ClassVar[str] = "format"
    type: str | None = attr("type")


@config_class
class VolumeTarget:
    TAG: ClassVar[str] = "target"
    path: str | None = text_child("path")
    format: VolumeFormat | None = child()


@config_class
class VolumeBackingStore:
    TAG: ClassVar[str] = "backingStore"
    path: str | None = text_child("path")
    format: VolumeFormat | None = child()


@config_class
class StorageVolume:
    TAG: ClassVar[str] = "volume"
    name: str | None = text_child("name")
    capacity: VolumeSize | None = child()
    allocation: VolumeSize | None = child("allocation")
    target: VolumeTarget | None = child()
    backing_store: VolumeBackingStore | None = child()
