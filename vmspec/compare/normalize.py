"""What libvirt fills in when it stores a definition or starts a guest, so that a plan
right after an apply says "no changes", for a running guest too. One place, each rule with what libvirt does and why it is
the same thing as what vmspec wrote (seen with libvirt 9.0 and QEMU 7.2).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from vmspec.arches import QEMU_DEFAULT_CPU_MODELS, default_serial_target_type
from vmspec.compare.facts import HostFacts
from vmspec.config.boot import BootDevice, OperatingSystem
from vmspec.config.chardev import CharDevice, CharTarget
from vmspec.config.cpu import Cpu
from vmspec.config.domain import Audio, Devices, Domain
from vmspec.config.features import Features, Smm
from vmspec.config.graphics import Graphics, GraphicsListen
from vmspec.families import Family, Place, families_at, holder, with_fields
from vmspec.families.interface import Interface
from vmspec.units import with_size_in_kib

# Elements and attributes libvirt adds that the spec does not speak about; they are
# libvirt's to allocate, and apply carries them over (see vmspec/host/preserve.py).
_LIBVIRT_ALLOCATED = re.compile(
    r"^/domain/(?:"
    # A controller's address, alias and (PCI) model name and target are libvirt's to pick;
    # which controllers are libvirt's own is the controller family's to say.
    r"devices/controller/(?:address|alias|model|target)(?:/.*)?"
    r"|devices/[^/]+/address"  # PCI, drive, USB and virtio-serial addresses
    r"|devices/[^/]+/alias"  # device aliases
    # A USB hub: libvirt adds one when the USB devices outnumber the controller's ports
    # (piix3-uhci has two: a tablet and two SPICE redirections take three).
    r"|devices/hub(?:/.*)?"
    r"|devices/serial/target/model"  # isa-serial
    r"|cpu/@migratable"  # host-passthrough: migratable on
    r"|devices/video/model/@(?:ram|vram|vram64|vgamem)"  # the video model's default memory
    # A running guest's disks: the node index of each image of the chain, and a block
    # job's copy in progress (blockcopy, active commit), state libvirt keeps, not settings.
    r"|devices/disk/(?:backingStore/)*(?:source/)?@index"
    r"|devices/disk/mirror(?:/.*)?"
    r")$"
)
# With firmware='efi', libvirt writes the OVMF build and NVRAM file it selected; without
# it, a <loader> is the domain's own choice and must not be passed over.
_EFI_SELECTED = re.compile(r"^/domain/os/(?:loader|nvram|firmware)(?:/.*)?$")


def unexplained(uncovered: tuple[str, ...], *, efi: bool = False) -> list[str]:
    """The uncovered XPaths that libvirt did not put there: changes behind vmspec's back."""
    found = []
    for xpath in uncovered:
        generic = re.sub(r"\[\d+\]", "", xpath)
        if _LIBVIRT_ALLOCATED.match(generic) or (efi and _EFI_SELECTED.match(generic)):
            continue
        found.append(xpath)
    return found


def normalize_live(desired: Domain, live: Domain, facts: HostFacts) -> Domain:
    """``live`` with libvirt's fill-ins replaced by what ``desired`` says where both mean
    the same guest; any difference that remains is a real change."""
    live = _marker_hash(live)
    live = dataclasses.replace(
        live,
        memory=with_size_in_kib(live.memory),
        current_memory=with_size_in_kib(live.current_memory),
    )
    if desired.os and live.os:
        live = dataclasses.replace(live, os=_os(desired, live, facts))
    arch = (desired.os.type.arch if desired.os and desired.os.type else None) or "x86_64"
    live = dataclasses.replace(live, cpu=_cpu(desired.cpu, live.cpu, arch))
    live = dataclasses.replace(live, features=_hyperv_mode(desired.features, live.features))
    if desired.devices and live.devices:
        live = dataclasses.replace(live, devices=_devices(desired, live))
    return _families_fill_ins(desired, live)


def _families_fill_ins(desired: Domain, live: Domain, *, at_start: bool = False) -> Domain:
    """Each registered family's own rule of what libvirt fills in (see vmspec/families):
    when it stores a definition, or (``at_start``) when it starts the guest."""

    def rule(family: Family) -> Callable[[Any, Any], Any]:
        return family.libvirt_resolves_at_start if at_start else family.libvirt_fills_in

    for place in Place:
        wanted_at, live_at = holder(desired, place), holder(live, place)
        if wanted_at is None or live_at is None:
            continue
        values = {
            family.config_field: rule(family)(
                getattr(live_at, family.config_field), getattr(wanted_at, family.config_field)
            )
            for family in families_at(place)
        }
        live = with_fields(live, place, values)
    return live


def normalize_running(desired: Domain, running: Domain, facts: HostFacts) -> Domain:
    """Like normalize_live, for what a running guest was started with: also drops what
    libvirt resolves only at start (a network's bridge, an image's backing chain, a
    listen address, an allocated pty or socket), since a restart resolves it again the
    same way. What the mapping does not cover (aliases, addresses, ``index``, ``portid``,
    a NIC's target dev, seclabels, a pty's ``tty``) is never compared at all."""
    running = normalize_live(desired, running, facts)
    # QEMU expands the CPU to the model it really runs (host-model becomes a named model
    # with features).
    running = dataclasses.replace(running, cpu=desired.cpu)
    if desired.os and running.os:
        running = dataclasses.replace(
            running,
            os=_running_os(desired.os, running.os),
            features=_running_features(desired, running.features),
        )
    if desired.devices is not None and running.devices is not None:
        running = dataclasses.replace(
            running, devices=_running_devices(desired.devices, running.devices)
        )
    return _families_fill_ins(desired, running, at_start=True)


def _running_os(wanted: OperatingSystem, running: OperatingSystem) -> OperatingSystem:
    if wanted.firmware == "efi" and running.firmware is None:
        # libvirt replaces firmware='efi' with the OVMF loader and NVRAM it picked at
        # start; the next start picks again from the same firmware descriptors.
        return dataclasses.replace(running, firmware="efi")
    return running


def _running_features(desired: Domain, running: Features | None) -> Features | None:
    efi = desired.os is not None and desired.os.firmware == "efi"
    wanted_smm = desired.features.smm if desired.features else None
    if running is None or not efi or wanted_smm is not None or running.smm != Smm(state=True):
        return running
    # The secure-boot OVMF build libvirt picks for firmware='efi' needs SMM, so it turns
    # SMM on at start; it does so again at every start.
    without_smm = dataclasses.replace(running, smm=None)
    return None if without_smm == Features() else without_smm


def _running_devices(wanted: Devices, running: Devices) -> Devices:
    wanted_nics = {_mac(nic): nic for nic in wanted.interfaces}
    return dataclasses.replace(
        running,
        interfaces=tuple(
            _unresolved_network(wanted_nics.get(_mac(nic)), nic) for nic in running.interfaces
        ),
        # QEMU opens a /dev/pts/N for each pty, and libvirt makes the guest agent's socket.
        serials=tuple(_without_allocated_path(device) for device in running.serials),
        consoles=tuple(_without_allocated_path(device) for device in running.consoles),
        channels=tuple(_without_allocated_path(device) for device in running.channels),
        graphics=tuple(_without_default_listen(wanted.graphics, item) for item in running.graphics),
    )


def _mac(nic: Interface) -> str | None:
    return nic.mac.address.lower() if nic.mac and nic.mac.address else None


def _unresolved_network(wanted: Interface | None, running: Interface) -> Interface:
    if wanted is None or wanted.type != "network" or not (running.source and wanted.source):
        return running
    if running.source.network is None:
        return running  # not on a network at all: a real change
    # At start libvirt resolves a network NIC to the network's bridge or macvtap device
    # (source bridge, dev and mode; type bridge or direct); a restart resolves it again.
    source = dataclasses.replace(
        running.source, bridge=wanted.source.bridge, dev=wanted.source.dev, mode=wanted.source.mode
    )
    return dataclasses.replace(running, type=wanted.type, source=source)


def _without_allocated_path(device: CharDevice) -> CharDevice:
    allocated = device.type == "pty" or (
        device.target is not None and device.target.type == "virtio"
    )
    return dataclasses.replace(device, source=None) if allocated else device


def _without_default_listen(wanted: tuple[Graphics, ...], running: Graphics) -> Graphics:
    match = next((item for item in wanted if item.type == running.type), None)
    if match is None or match.listen is not None or match.listens:
        return running
    # With no listen address libvirt listens where qemu.conf says (vnc_listen and
    # spice_listen, or a socket of its own with vnc_auto_unix_socket) and writes that at
    # start; the next start reads the same qemu.conf.
    listens = tuple(
        listen
        for listen in running.listens
        if listen.type != "socket"
        and not (listen.type == "address" and listen.address == running.listen)
    )
    return dataclasses.replace(running, listen=None, listens=listens)


def _marker_hash(live: Domain) -> Domain:

    # The hash is derived from the XML, not a setting: compare what it covers instead.
    if not (live.metadata and live.metadata.vmspec):
        return live
    marker = dataclasses.replace(live.metadata.vmspec, hash=None)
    return dataclasses.replace(live, metadata=dataclasses.replace(live.metadata, vmspec=marker))


def _os(desired: Domain, live: Domain, facts: HostFacts):
    os_live = live.os
    wanted_machine = desired.os.type.machine if desired.os.type else None
    live_type = os_live.type
    if live_type and live_type.machine and _same_machine(wanted_machine, live_type.machine, facts):
        # libvirt expands "q35" to "pc-q35-7.2" and picks one when none is given.
        os_live = dataclasses.replace(
            os_live, type=dataclasses.replace(live_type, machine=wanted_machine)
        )
    if not desired.os.boot and os_live.boot == (BootDevice(dev="hd"),):
        # With direct kernel boot vmspec states no boot device; libvirt writes hd.
        os_live = dataclasses.replace(os_live, boot=())
    return os_live


def _same_machine(wanted: str | None, live: str, facts: HostFacts) -> bool:
    if wanted is None or wanted == live:
        return True
    if facts.machine_aliases.get(wanted) == live:
        return True
    # Without capabilities (or for an older alias): q35 → pc-q35-X.Y, pc → pc-i440fx-X.Y.
    family = {"pc": "i440fx"}.get(wanted, wanted)
    return re.fullmatch(rf"pc-{re.escape(family)}-[0-9.]+", live) is not None


def is_qemu_default_cpu(cpu: Cpu, arch: str = "x86_64") -> bool:
    """No <cpu> means QEMU's default model, which libvirt writes out as custom qemu64 (on
    x86; each arch has its own, see vmspec.arches)."""
    return (
        cpu.mode == "custom"
        and cpu.check == "none"
        and cpu.model is not None
        and cpu.model.name in QEMU_DEFAULT_CPU_MODELS.get(arch, ())
        and not cpu.features
        and cpu.topology is None
        and cpu.numa is None
    )


def _names_qemu_default_model(cpu: Cpu, arch: str) -> bool:
    bare = dataclasses.replace(cpu, topology=None, numa=None)
    return is_qemu_default_cpu(bare, arch) and bare.match in (None, "exact")


def _cpu(wanted: Cpu | None, live: Cpu | None, arch: str) -> Cpu | None:
    if live is None:
        return None
    if wanted is None:
        return None if is_qemu_default_cpu(live, arch) else live
    if wanted.mode is None and wanted.model is None and _names_qemu_default_model(live, arch):
        # A <cpu> of topology or NUMA cells alone: libvirt writes QEMU's default model
        # into it (custom qemu64, check none), which is what runs without one.
        return dataclasses.replace(live, mode=None, match=None, check=None, model=None)
    if wanted.check is None:
        # libvirt records how strictly it checked the CPU (partial, none): not a setting of ours.
        return dataclasses.replace(live, check=None)
    return live


def _devices(desired: Domain, live: Domain):
    wanted, devices = desired.devices, live.devices
    if wanted.emulator is None:
        # libvirt names the QEMU binary it picked.
        devices = dataclasses.replace(devices, emulator=None)
    # x86 guests always get a PS/2 mouse and keyboard from libvirt.
    implicit = [item for item in devices.inputs if item.bus == "ps2" and item not in wanted.inputs]
    devices = dataclasses.replace(
        devices, inputs=tuple(i for i in devices.inputs if i not in implicit)
    )
    os_type = desired.os.type if desired.os else None
    default_serial = default_serial_target_type(
        (os_type.arch if os_type else None) or "x86_64", os_type.machine if os_type else None
    )
    serials = tuple(
        # libvirt names the machine's own serial target type (isa-serial on x86) when
        # vmspec leaves it out; any other type (pci-serial, isa-debug, ...) is a real choice.
        dataclasses.replace(s, target=dataclasses.replace(s.target, type=None))
        if s.target
        and s.target.type == default_serial
        and index < len(wanted.serials)
        and wanted.serials[index].target
        and wanted.serials[index].target.type is None
        else s
        for index, s in enumerate(devices.serials)
    )
    consoles = devices.consoles
    console_alone = not serials and consoles[:1] and is_bare_pty_console(consoles[0])
    serial_alone = not consoles and serials[:1] == (CharDevice(type="pty"),)
    if (console_alone or serial_alone) and wanted.serials[:1] == (_PTY_SERIAL,):
        # A pty console alone, or a pty serial port alone (virt-install writes either), is
        # to libvirt a serial port with its console: define turns it into the pair vmspec
        # writes for a pty serial.
        serials = wanted.serials[:1] + serials[1:]
        consoles = wanted.consoles[:1] + consoles[1:]
    channels = tuple(_without_default_bind(wanted.channels, item) for item in devices.channels)
    graphics = tuple(_graphics(wanted.graphics, item) for item in devices.graphics)
    # QEMU 7 needs an audio backend: libvirt writes <audio id='1' type='none'/>, or type
    # spice when the guest has a SPICE display (which carries the sound).
    spice = any(item.type == "spice" for item in wanted.graphics)
    default_audio = Audio(id=1, type="spice" if spice else "none")
    audios = tuple(a for a in devices.audios if a in wanted.audios or a != default_audio)
    return dataclasses.replace(
        devices,
        serials=serials,
        consoles=consoles,
        channels=channels,
        graphics=graphics,
        audios=audios,
    )


_PTY_SERIAL = CharDevice(type="pty", target=CharTarget(port=0))


def is_bare_pty_console(console: CharDevice) -> bool:
    """``<console type='pty'/>`` with no target, or a serial one without a port."""
    target = console.target
    return (
        console.type == "pty"
        and console.source is None
        and (target is None or (target.type in (None, "serial") and target.port in (None, 0)))
    )


def _without_default_bind(wanted: tuple[CharDevice, ...], live: CharDevice) -> CharDevice:
    """A unix channel that binds where libvirt chooses (``<source mode='bind'/>``, no path)
    is what vmspec means by a channel without a source: libvirt picks the socket."""
    source, target = live.source, live.target
    if not (live.type == "unix" and source and source.mode == "bind" and not source.path):
        return live
    match = next(
        (item for item in wanted if item.target and target and item.target.name == target.name),
        None,
    )
    return dataclasses.replace(live, source=None) if match and match.source is None else live


def _hyperv_mode(wanted: Features | None, live: Features | None) -> Features | None:
    """``<hyperv>`` without a mode (virt-install writes none) is libvirt's custom mode."""
    if not (live and live.hyperv and live.hyperv.mode is None and wanted and wanted.hyperv):
        return live
    if wanted.hyperv.mode != "custom":
        return live
    return dataclasses.replace(live, hyperv=dataclasses.replace(live.hyperv, mode="custom"))


def _graphics(wanted: tuple[Graphics, ...], live: Graphics) -> Graphics:
    match = next((item for item in wanted if item.type == live.type), None)
    if match is None:
        return live
    if live.autoport and match.port == -1:
        # With autoport the port is libvirt's to pick at start (and SPICE drops port='-1').
        live = dataclasses.replace(live, port=-1)
    if match.listen is None and not match.listens:
        # Without a listen address libvirt stores <listen type='address'/>: qemu.conf's
        # default address, which is what no listen means.
        empty = GraphicsListen(type="address")
        live = dataclasses.replace(live, listens=tuple(i for i in live.listens if i != empty))
    if live.tls_port == -1 and match.tls_port is None:
        # virt-install writes tlsPort='-1' ("pick one"); libvirt drops it on define, as
        # SPICE without TLS ports configured has none to pick.
        live = dataclasses.replace(live, tls_port=None)
    return live
