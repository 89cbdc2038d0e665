"""``<os>``: guest type, firmware (vmspec/families/firmware.py), direct kernel boot, boot order.

formatdomain: "Operating system booting".
"""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.xmlmap import attr, child, children, config_class, text, text_child
from vmspec.families.acpi_table import AcpiTables
from vmspec.families.bios import Bios
from vmspec.families.boot_menu import BootMenu
from vmspec.families.firmware import FirmwareFeatures, Loader, Nvram
from vmspec.families.sysinfo import Smbios


@config_class
class OsType:
    TAG: ClassVar[str] = "type"
    arch: str | None = attr("arch")
    machine: str | None = attr("machine")
    value: str | None = text()


@config_class
class BootDevice:
    TAG: ClassVar[str] = "boot"
    dev: str | None = attr("dev")


@config_class
class OperatingSystem:
    TAG: ClassVar[str] = "os"
    firmware: str | None = attr("firmware")
    type: OsType | None = child()
    firmware_features: FirmwareFeatures | None = child()
    loader: Loader | None = child()
    nvram: Nvram | None = child()
    kernel: str | None = text_child("kernel")
    initrd: str | None = text_child("initrd")
    cmdline: str | None = text_child("cmdline")
    dtb: str | None = text_child("dtb")  # the device tree a directly booted (Arm) kernel gets
    acpi: AcpiTables | None = child()
    boot: tuple[BootDevice, ...] = children()
    bootmenu: BootMenu | None = child()
    bios: Bios | None = child()
    smbios: Smbios | None = child()
