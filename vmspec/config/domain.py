"""``<domain>``: the root, its scalar settings and ``<devices>``, in libvirt's formatting order."""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.boot import OperatingSystem
from vmspec.config.memory import MaxMemory, MemorySize
from vmspec.config.metadata import Metadata
from vmspec.config.xmlmap import attr, child, children, config_class, text, text_child
from vmspec.families.audio import Audio
from vmspec.families.blkiotune import Blkiotune
from vmspec.families.chardev import AnyChardev
from vmspec.families.clock import Clock
from vmspec.families.controller import Controller
from vmspec.families.cpu import Cpu
from vmspec.families.cputune import Cputune
from vmspec.families.disk.config import Disk
from vmspec.families.features import Features
from vmspec.families.filesystem import Filesystem
from vmspec.families.genid import Genid
from vmspec.families.graphics import Graphics
from vmspec.families.hostdev import Hostdev
from vmspec.families.input import Input
from vmspec.families.interface import Interface
from vmspec.families.iommu import Iommu
from vmspec.families.iothreads import Iothreadids
from vmspec.families.memballoon import Memballoon
from vmspec.families.memory_backing import MemoryBacking
from vmspec.families.memory_device import MemoryDevice
from vmspec.families.memtune import Memtune
from vmspec.families.numatune import Numatune
from vmspec.families.panic import Panic
from vmspec.families.pm import PowerManagement
from vmspec.families.rng import Rng
from vmspec.families.seclabel import SecurityLabel
from vmspec.families.smartcard import AnySmartcard
from vmspec.families.sound import Sound
from vmspec.families.sysinfo import FwcfgSysinfo, SmbiosSysinfo
from vmspec.families.tpm import Tpm
from vmspec.families.usb_redirection import Redirdev
from vmspec.families.video import Video
from vmspec.families.vsock import Vsock
from vmspec.families.watchdog import Watchdog


@config_class
class Vcpu:
    TAG: ClassVar[str] = "vcpu"
    placement: str | None = attr("placement")
    cpuset: str | None = attr("cpuset")  # the host CPUs the vCPUs may run on
    current: int | None = attr("current")  # the vCPUs online at start, the rest pluggable
    count: int | None = text()


@config_class
class Devices:
    """Device lists in the order libvirt formats them, so emitted and normalized XML line up."""

    TAG: ClassVar[str] = "devices"
    emulator: str | None = text_child("emulator")
    disks: tuple[Disk, ...] = children()
    controllers: tuple[Controller, ...] = children()
    filesystems: tuple[Filesystem, ...] = children()
    interfaces: tuple[Interface, ...] = children()
    smartcards: tuple[AnySmartcard, ...] = children("smartcard")
    serials: tuple[AnyChardev, ...] = children("serial")
    parallels: tuple[AnyChardev, ...] = children("parallel")
    consoles: tuple[AnyChardev, ...] = children("console")
    channels: tuple[AnyChardev, ...] = children("channel")
    inputs: tuple[Input, ...] = children()
    tpms: tuple[Tpm, ...] = children()
    graphics: tuple[Graphics, ...] = children()
    sounds: tuple[Sound, ...] = children()
    audios: tuple[Audio, ...] = children()
    videos: tuple[Video, ...] = children()
    hostdevs: tuple[Hostdev, ...] = children()
    redirdevs: tuple[Redirdev, ...] = children()
    watchdogs: tuple[Watchdog, ...] = children()
    memballoon: Memballoon | None = child()
    rngs: tuple[Rng, ...] = children()
    panics: tuple[Panic, ...] = children()
    memory_devices: tuple[MemoryDevice, ...] = children()
    iommu: Iommu | None = child()
    vsock: Vsock | None = child()


@config_class
class Domain:
    TAG: ClassVar[str] = "domain"
    type: str | None = attr("type")
    name: str | None = text_child("name")
    uuid: str | None = text_child("uuid")
    genid: Genid | None = child()
    title: str | None = text_child("title")
    description: str | None = text_child("description")
    metadata: Metadata | None = child()
    max_memory: MaxMemory | None = child()
    memory: MemorySize | None = child()
    current_memory: MemorySize | None = child("currentMemory")
    blkiotune: Blkiotune | None = child()
    memtune: Memtune | None = child()
    memory_backing: MemoryBacking | None = child()
    vcpu: Vcpu | None = child()
    iothreads: int | None = text_child("iothreads")
    iothreadids: Iothreadids | None = child()
    cputune: Cputune | None = child()
    numatune: Numatune | None = child()
    sysinfos: tuple[SmbiosSysinfo | FwcfgSysinfo, ...] = children()
    os: OperatingSystem | None = child()
    features: Features | None = child()
    cpu: Cpu | None = child()
    clock: Clock | None = child()
    on_poweroff: str | None = text_child("on_poweroff")
    on_reboot: str | None = text_child("on_reboot")
    on_crash: str | None = text_child("on_crash")
    pm: PowerManagement | None = child()
    devices: Devices | None = child()
    seclabels: tuple[SecurityLabel, ...] = children()
