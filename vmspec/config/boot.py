"""``<os>``: guest type, firmware, direct kernel boot, boot order.

formatdomain: "Operating system booting".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, children, text, text_child

# The x86 arches, for the rules that differ there (ACPI, USB and TPM defaults, serial types).
X86_ARCHES = ("x86_64", "i686")


@dataclass(**CONFIG)
class OsType:
    TAG: ClassVar[str] = "type"
    arch: str | None = attr("arch")
    machine: str | None = attr("machine")
    value: str | None = text()


@dataclass(**CONFIG)
class BootDevice:
    TAG: ClassVar[str] = "boot"
    dev: str | None = attr("dev")


@dataclass(**CONFIG)
class OperatingSystem:
    TAG: ClassVar[str] = "os"
    firmware: str | None = attr("firmware")
    type: OsType | None = child()
    kernel: str | None = text_child("kernel")
    initrd: str | None = text_child("initrd")
    cmdline: str | None = text_child("cmdline")
    boot: tuple[BootDevice, ...] = children()
