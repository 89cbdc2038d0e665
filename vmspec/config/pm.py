"""``<pm>``: whether the guest may suspend to RAM (S3) or to disk (S4).

formatdomain "Power Management": each setting is yes or no, and absent means QEMU's
own default, so vmspec writes only the settings a spec states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child


@dataclass(**CONFIG)
class Suspend:
    """``<suspend-to-mem>`` or ``<suspend-to-disk>``; the tag comes from the field in ``PowerManagement``."""

    TAG: ClassVar[str] = "suspend-to-mem"
    enabled: bool | None = attr("enabled")


@dataclass(**CONFIG)
class PowerManagement:
    TAG: ClassVar[str] = "pm"
    suspend_to_mem: Suspend | None = child("suspend-to-mem")
    suspend_to_disk: Suspend | None = child("suspend-to-disk")
