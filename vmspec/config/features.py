"""``<features>``: ACPI, APIC, PAE, VMware's port, SMM and Hyper-V enlightenments.

formatdomain: "Hypervisor features".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, ON_OFF, attr, child, flag


@dataclass(**CONFIG)
class HypervFeature:
    """One enlightenment such as ``<relaxed state='on'/>``; the tag is the field's."""

    TAG: ClassVar[str] = "feature"
    state: bool | None = attr("state", codec=ON_OFF)
    retries: int | None = attr("retries")


@dataclass(**CONFIG)
class Hyperv:
    TAG: ClassVar[str] = "hyperv"
    mode: str | None = attr("mode")
    relaxed: HypervFeature | None = child("relaxed")
    vapic: HypervFeature | None = child("vapic")
    spinlocks: HypervFeature | None = child("spinlocks")
    vpindex: HypervFeature | None = child("vpindex")
    runtime: HypervFeature | None = child("runtime")
    synic: HypervFeature | None = child("synic")
    stimer: HypervFeature | None = child("stimer")
    reset: HypervFeature | None = child("reset")
    frequencies: HypervFeature | None = child("frequencies")


@dataclass(**CONFIG)
class Smm:
    TAG: ClassVar[str] = "smm"
    state: bool | None = attr("state", codec=ON_OFF)


@dataclass(**CONFIG)
class Vmport:
    """VMware's I/O port emulation (``<vmport state='off'/>``), which virt-install turns off
    for SPICE guests: the SPICE agent moves the pointer instead."""

    TAG: ClassVar[str] = "vmport"
    state: bool | None = attr("state", codec=ON_OFF)


@dataclass(**CONFIG)
class Features:
    TAG: ClassVar[str] = "features"
    acpi: bool = flag("acpi")
    apic: bool = flag("apic")
    pae: bool = flag("pae")
    hyperv: Hyperv | None = child()
    vmport: Vmport | None = child()
    smm: Smm | None = child()
