"""``<pool>``: a storage pool (formatstorage "Storage pool XML"): dir, logical (LVM), netfs (NFS)."""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.xmlmap import attr, child, children, config_class, text_child


@config_class
class PoolSourceHost:
    TAG: ClassVar[str] = "host"
    name: str | None = attr("name")


@config_class
class PoolSourceDevice:
    TAG: ClassVar[str] = "device"
    path: str | None = attr("path")


@config_class
class PoolSourceDir:
    TAG: ClassVar[str] = "dir"
    path: str | None = attr("path")


@config_class
class PoolSourceFormat:
    TAG: ClassVar[str] = "format"
    type: str | None = attr("type")


@config_class
class PoolSource:
    TAG: ClassVar[str] = "source"
    host: PoolSourceHost | None = child()
    devices: tuple[PoolSourceDevice, ...] = children()
    dir: PoolSourceDir | None = child()
    name: str | None = text_child("name")
    format: PoolSourceFormat | None = child()


@config_class
class PoolTarget:
    TAG: ClassVar[str] = "target"
    path: str | None = text_child("path")


@config_class
class StoragePool:
    TAG: ClassVar[str] = "pool"
    type: str | None = attr("type")
    name: str | None = text_child("name")
    uuid: str | None = text_child("uuid")
    source: PoolSource | None = child()
    target: PoolTarget | None = child()
