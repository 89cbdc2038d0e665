"""``<memory>``, ``<currentMemory>`` and ``<maxMemory>``: sizes of the guest's RAM."""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.xmlmap import attr, config_class, text


@config_class
class MemorySize:
    """``<memory>`` and ``<currentMemory>``: vmspec always writes KiB, libvirt's own unit."""

    TAG: ClassVar[str] = "memory"
    unit: str | None = attr("unit")
    value: int | None = text()


@config_class
class MaxMemory:
    """``<maxMemory slots unit>``: how far memory hotplug may grow the guest, in how many DIMMs."""

    TAG: ClassVar[str] = "maxMemory"
    slots: int | None = attr("slots")
    unit: str | None = attr("unit")
    value: int | None = text()
