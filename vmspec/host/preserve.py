"""Carry libvirt's allocations over when vmspec redefines a domain.

libvirt assigns PCI slots, controllers and drive addresses at the first define.
Redefining without them would let libvirt assign them afresh, and a guest whose
NIC moves to another slot renames it (enp1s0 → enp2s0) and loses its network.
So an update keeps the controllers libvirt added (those of a type the spec does not
name) and, for each device that is still there unchanged in kind, its address (and a
user alias the spec has no word for, which plan passes over like an address).

Both sides are config objects (vmspec/config/allocation.py holds the address classes):
the spec's domain gains what the live one holds, and apply emits the result.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vmspec.config.allocation import allocated, is_users_alias
from vmspec.config.domain import Devices, Domain
from vmspec.config.matching import config_slot, device_fields, devices_in, with_devices
from vmspec.families.controller import Controller


def with_live_allocations(desired: Domain, live: Domain) -> Domain:
    """``desired`` with what libvirt allocated in ``live``: the generation ID's value,
    libvirt's own controllers, and each device's address."""
    desired = _keep_generation_id(desired, live)
    if desired.devices is None or live.devices is None:
        return desired
    devices = _keep_addresses(desired.devices, live.devices)
    devices = dataclasses.replace(
        devices,
        controllers=devices.controllers + _libvirts_controllers(desired.devices, live.devices),
    )
    return dataclasses.replace(desired, devices=devices)


def _libvirts_controllers(desired: Devices, live: Devices) -> tuple[Controller, ...]:
    """A controller type the spec names is the spec's (its controllers get their
    addresses like other devices); the others are libvirt's own, kept as they are. A
    spec names the PCI root only (for its pcihole64): the root ports and bridges behind
    it stay libvirt's."""
    named = {controller.type for controller in desired.controllers}
    return tuple(
        controller
        for controller in live.controllers
        if controller.type not in named or (controller.type == "pci" and controller.index != 0)
    )


def _keep_addresses(desired: Devices, live: Devices) -> Devices:
    for field in device_fields():
        wanted = devices_in(desired, field)
        if not wanted or not allocated(type(wanted[0])):
            continue
        # Devices of one slot (two qxl videos) pair up in their order.
        waiting: dict[tuple[str | None, ...], list[Any]] = {}
        for device in devices_in(live, field):
            if (slot := config_slot(device)) is not None:
                waiting.setdefault(slot, []).append(device)
        if waiting:
            kept = tuple(_with_allocations(device, waiting) for device in wanted)
            desired = with_devices(desired, field, kept)
    return desired


def _with_allocations(device: Any, waiting: dict[tuple[str | None, ...], list[Any]]) -> Any:
    """The device with its live counterpart's address, and its user alias (``ua-...``)
    where the spec cannot name one: a user's name that plan passes over as it passes over
    addresses (vmspec/compare/normalize.py), which a redefine must not drop either."""
    slot = config_slot(device)  # what the device's class declares: config/matching.py
    counterparts = waiting.get(slot) if slot is not None else None
    if not counterparts:
        return device
    live = counterparts.pop(0)
    address = device.address if device.address is not None else live.address
    alias = device.alias
    if alias is None and _users_alias_the_spec_cannot_name(live):
        alias = live.alias
    if address is device.address and alias is device.alias:
        return device
    return dataclasses.replace(device, address=address, alias=alias)


def _users_alias_the_spec_cannot_name(device: Any) -> bool:
    return is_users_alias(device.alias) and not getattr(type(device), "SPEC_NAMES_ALIAS", False)


def _keep_generation_id(desired: Domain, live: Domain) -> Domain:
    """``<genid/>`` asks libvirt for a value; a new one at every redefine would tell the
    guest it was rolled back (see vmspec/families/genid.py), so the live value stays."""
    wanted, current = desired.genid, live.genid
    if wanted is not None and not (wanted.value or "").strip() and current is not None:
        return dataclasses.replace(desired, genid=current)
    return desired
