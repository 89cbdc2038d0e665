"""``<disk>``: driver, source, backing chain, target, serial.

formatdomain: "Hard drives, floppy disks, CDROMs".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, children, flag, text_child


@dataclass(**CONFIG)
class DiskDriver:
    TAG: ClassVar[str] = "driver"
    name: str | None = attr("name")
    type: str | None = attr("type")
    cache: str | None = attr("cache")
    io: str | None = attr("io")
    discard: str | None = attr("discard")


@dataclass(**CONFIG)
class SourceHost:
    TAG: ClassVar[str] = "host"
    name: str | None = attr("name")
    port: int | None = attr("port")


@dataclass(**CONFIG)
class DiskSource:
    """One class for every source type: libvirt tells them apart by the disk's ``type``."""

    TAG: ClassVar[str] = "source"
    file: str | None = attr("file")
    dev: str | None = attr("dev")
    pool: str | None = attr("pool")
    volume: str | None = attr("volume")
    protocol: str | None = attr("protocol")
    name: str | None = attr("name")
    hosts: tuple[SourceHost, ...] = children()


@dataclass(**CONFIG)
class DiskFormat:
    TAG: ClassVar[str] = "format"
    type: str | None = attr("type")


@dataclass(**CONFIG)
class BackingStore:
    TAG: ClassVar[str] = "backingStore"
    type: str | None = attr("type")
    format: DiskFormat | None = child()
    source: DiskSource | None = child()
    backing_store: BackingStore | None = child()


@dataclass(**CONFIG)
class DiskTarget:
    TAG: ClassVar[str] = "target"
    dev: str | None = attr("dev")
    bus: str | None = attr("bus")


@dataclass(**CONFIG)
class Disk:
    TAG: ClassVar[str] = "disk"
    IDENTITY: ClassVar[tuple[str, ...]] = ("target/@dev",)
    SAME_SLOT: ClassVar[tuple[str, ...]] = ("target/@bus",)  # a PCI address fits no SATA disk
    HOTPLUG: ClassVar[bool] = True
    type: str | None = attr("type")
    device: str | None = attr("device")
    driver: DiskDriver | None = child()
    source: DiskSource | None = child()
    backing_store: BackingStore | None = child()
    target: DiskTarget | None = child()
    readonly: bool = flag("readonly")
    serial: str | None = text_child("serial")
