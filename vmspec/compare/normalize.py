"""What libvirt fills in when it stores a definition or starts a guest, so that a plan
right after an apply says "no changes", for a running guest too. One place, each rule with what libvirt does and why it is
the same thing as what vmspec wrote (seen with libvirt 9.0 and QEMU 7.2).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from vmspec.arches import DEFAULT_ARCH
from vmspec.compare.facts import HostFacts
from vmspec.config.allocation import allocated
from vmspec.config.boot import BootDevice
from vmspec.config.domain import Devices, Domain
from vmspec.config.matching import config_identity, device_fields, devices_in, with_devices
from vmspec.families import Family, Place, console, families_at, holder, serial, with_fields
from vmspec.families.audio import default_backend
from vmspec.families.chardev import ChardevTarget, PtyChardev
from vmspec.families.features import Features, Smm
from vmspec.families.interface import Interface
from vmspec.units import with_size_in_kib

# Elements and attributes libvirt adds that the mapping does not cover, and that are
# libvirt's, not the domain's settings. Device addresses and aliases, and a PCI
# controller's model name and target, the mapping covers (vmspec/config/allocation.py):
# apply carries them over (vmspec/host/preserve.py) and without_allocations below passes
# over them, so that one rule of what is libvirt's serves plan, import and apply.
_LIBVIRT_ALLOCATED = re.compile(
    r"^/domain/(?:"
    r"@id"  # a running domain's number: live state of libvirt's, not a setting
    # A USB hub: libvirt adds one when the USB devices outnumber the controller's ports
    # (piix3-uhci has two: a tablet and two SPICE redirections take three).
    r"|devices/hub(?:/.*)?"
    r"|devices/serial/target/model"  # isa-serial
    # Whether the guest's end of a virtio channel is open (the agent runs): a status.
    r"|devices/channel/target/@state"
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
    if live.devices is not None:
        live = dataclasses.replace(live, devices=without_allocations(live.devices, desired.devices))
    live = dataclasses.replace(
        live,
        memory=with_size_in_kib(live.memory),
        current_memory=with_size_in_kib(live.current_memory),
    )
    if desired.os and live.os:
        live = dataclasses.replace(live, os=_os(desired, live, facts))
    if desired.devices and live.devices:
        live = dataclasses.replace(live, devices=_devices(desired, live))
    return _families_fill_ins(desired, live)


def without_allocations(live: Devices, wanted: Devices | None = None) -> Devices:
    """``live`` without the addresses and aliases libvirt gave its devices, where the
    spec's device (``wanted``'s of the same identity) has none: libvirt allocates them at
    define and start, apply carries the addresses over (vmspec/host/preserve.py), and a
    spec never states one, so they are never a difference. A user alias a device class
    lets the spec name (the interface's ``ua-`` alias) stays, to be compared."""
    for field in device_fields():
        items = devices_in(live, field)
        if not items or not allocated(type(items[0])):
            continue  # none here, or a device libvirt gives no address (graphics, audio)
        counterparts = _allocated_counterparts(devices_in(wanted, field) if wanted else ())
        stripped = tuple(_without_allocation(item, counterparts) for item in items)
        if stripped != items:
            live = with_devices(live, field, stripped)
    return live


def _allocated_counterparts(wanted: tuple[Any, ...]) -> dict[str | None, Any]:
    """The spec's devices that state an address or alias, by identity (nearly always none)."""
    return {
        config_identity(item): item
        for item in wanted
        if item.address is not None or item.alias is not None
    }


def _without_allocation(device: Any, counterparts: dict[str | None, Any]) -> Any:
    counterpart = counterparts.get(config_identity(device)) if counterparts else None
    address = device.address if counterpart is not None and counterpart.address else None
    alias = device.alias
    if not getattr(type(device), "SPEC_NAMES_ALIAS", False) and not (
        counterpart is not None and counterpart.alias
    ):
        alias = None
    if address is device.address and alias is device.alias:
        return device
    return dataclasses.replace(device, address=address, alias=alias)


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
    same way. Aliases and addresses are passed over as in a definition; what the mapping
    does not cover (``index``, ``portid``, a NIC's target dev, seclabels, a pty's ``tty``)
    is never compared at all."""
    running = normalize_live(desired, running, facts)
    if desired.os and running.os:
        running = dataclasses.replace(
            running, features=_running_features(desired, running.features)
        )
    if desired.devices is not None and running.devices is not None:
        running = dataclasses.replace(
            running, devices=_running_devices(desired.devices, running.devices)
        )
    return _families_fill_ins(desired, running, at_start=True)


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


def _devices(desired: Domain, live: Domain):
    wanted, devices = desired.devices, live.devices
    if wanted.emulator is None:
        # libvirt names the QEMU binary it picked.
        devices = dataclasses.replace(devices, emulator=None)
    os_type = desired.os.type if desired.os else None
    serials = serial.with_builtin_target(
        devices.serials,
        wanted.serials,
        (os_type.arch if os_type else None) or DEFAULT_ARCH,
        os_type.machine if os_type else None,
    )
    devices = dataclasses.replace(devices, serials=serials)
    if wanted.serials[:1] == (_PTY_SERIAL,):
        devices = console.as_serial_pair(devices)
    # QEMU 7 needs an audio backend: to a domain without one libvirt adds the one its
    # displays call for (a rule of two families, audio and graphics, so it is here).
    default_audio = default_backend([item.type or "" for item in wanted.graphics])
    audios = devices.audios
    if not wanted.audios and default_audio and audios == (default_audio,):
        audios = ()
    return dataclasses.replace(
        devices,
        audios=audios,
    )


_PTY_SERIAL = PtyChardev(target=ChardevTarget(port=0))
