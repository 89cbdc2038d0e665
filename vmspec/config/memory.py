"""``<memory>``, ``<currentMemory>`` and ``<maxMemory>``: sizes of the guest's RAM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, text


@dataclass(**CONFIG)
class MemorySize:
    """``<memory>`` and ``<currentMemory>``: vmspec always writes KiB, libvirt's own unit."""

    TAG: ClassVar[str] = "memory"
    unit: str | None = attr("unit")
    value: int | None = text()


@dataclass(**CONFIG)
class MaxMemory:
    """``<maxMemory slots unit>``: how far memory hotplug may grow the guest, in how many DIMMs."""

    TAG: ClassVar[str] = "maxMemory"
    slots: int | None = attr("slots")
    unit: str | None = attr("unit")
    value: int | None = text()
