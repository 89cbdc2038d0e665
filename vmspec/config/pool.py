"""``<pool>``: a storage pool (formatstorage "Storage pool XML"): dir, logical (LVM), netfs (NFS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, children, text_child


@dataclass(**CONFIG)
class PoolSourceHost:
    TAG: ClassVar[str] = "host"
    name: str | None = attr("name")


@dataclass(**CONFIG)
class PoolSourceDevice:
    TAG: ClassVar[str] = "device"
    path: str | None = attr("path")


@dataclass(**CONFIG)
class PoolSourceDir:
    TAG: ClassVar[str] = "dir"
    path: str | None = attr("path")


@dataclass(**CONFIG)
class PoolSourceFormat:
    TAG: ClassVar[str] = "format"
    type: str | None = attr("type")


@dataclass(**CONFIG)
class PoolSource:
    TAG: ClassVar[str] = "source"
    host: PoolSourceHost | None = child()
    devices: tuple[PoolSourceDevice, ...] = children()
    dir: PoolSourceDir | None = child()
    name: str | None = text_child("name")
    format: PoolSourceFormat | None = child()


@dataclass(**CONFIG)
class PoolTarget:
    TAG: ClassVar[str] = "target"
    path: str | None = text_child("path")


@dataclass(**CONFIG)
class StoragePool:
    TAG: ClassVar[str] = "pool"
    type: str | None = attr("type")
    name: str | None = text_child("name")
    uuid: str | None = text_child("uuid")
    source: PoolSource | None = child()
    target: PoolTarget | None = child()
