"""The element families vmspec speaks, one module each, and the registry that the
generic code loops over: lowering, lifting, semantic checks, normalization and the
JSON Schema (see ``family.py`` for what a family declares).

Adding a family is one module that declares ``FAMILY`` and one line below (a module
whose elements are one choice declares ``FAMILIES``: firmware's loader, NVRAM and
autoselection, sysinfo's tables and ``<smbios>``); a device
family also takes its place in ``vmspec.config.domain.Devices``, which keeps libvirt's
formatting order (tests/families checks that every device family has one).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from vmspec.families import (
    acpi_table,
    audio,
    bios,
    blkiotune,
    boot_menu,
    channel,
    clock,
    console,
    controller,
    cpu,
    cputune,
    current_memory,
    disk,
    features,
    filesystem,
    firmware,
    genid,
    graphics,
    hostdev,
    input,
    interface,
    iommu,
    iothreads,
    max_memory,
    memballoon,
    memory_backing,
    memory_device,
    memtune,
    numa,
    numatune,
    panic,
    parallel,
    pm,
    rng,
    seclabel,
    serial,
    smartcard,
    sound,
    sysinfo,
    tpm,
    usb_redirection,
    video,
    vsock,
    watchdog,
)
from vmspec.families.family import Family, Identity, Place

FAMILIES: tuple[Family, ...] = (
    genid.FAMILY,
    cpu.FAMILY,
    clock.FAMILY,
    disk.FAMILY,
    controller.FAMILY,
    current_memory.FAMILY,
    max_memory.FAMILY,
    blkiotune.FAMILY,
    memtune.FAMILY,
    numa.FAMILY,
    numatune.FAMILY,
    # The count first: the ids' lift leaves it out where they say it.
    iothreads.COUNT_FAMILY,
    iothreads.IDS_FAMILY,
    cputune.FAMILY,
    interface.FAMILY,
    smartcard.FAMILY,
    serial.FAMILY,
    parallel.FAMILY,
    console.FAMILY,
    channel.FAMILY,
    # graphics before the families whose defaults follow the displays (inputs, video, audio)
    graphics.FAMILY,
    input.FAMILY,
    sound.FAMILY,
    audio.FAMILY,
    video.FAMILY,
    hostdev.FAMILY,
    usb_redirection.FAMILY,
    rng.FAMILY,
    watchdog.FAMILY,
    memballoon.FAMILY,
    panic.FAMILY,
    memory_device.FAMILY,
    pm.FAMILY,
    *sysinfo.FAMILIES,
    *firmware.FAMILIES,
    boot_menu.FAMILY,
    bios.FAMILY,
    acpi_table.FAMILY,
    features.FAMILY,
    tpm.FAMILY,
    memory_backing.FAMILY,
    filesystem.FAMILY,
    seclabel.FAMILY,
    iommu.FAMILY,
    vsock.FAMILY,
)


@functools.cache  # asked several times for every VM compiled
def families_at(place: Place) -> tuple[Family, ...]:
    return tuple(family for family in FAMILIES if family.place is place)


def lowered_fields(place: Place, spec: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """The config fields the families at ``place`` fill, lowered from ``spec``."""
    return {family.config_field: family.lower(spec, identity) for family in families_at(place)}


def lowered_domain_fields(spec: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """The ``Domain`` fields the families fill. The ``<cpu>`` comes from the cpu family, a
    ``Place.DOMAIN`` one, so it is lowered first; the families at ``Place.CPU`` (NUMA
    cells) then go inside it, or inside a bare ``<cpu>`` of their own."""
    fields = lowered_fields(Place.DOMAIN, spec, identity)
    inner = lowered_fields(Place.CPU, spec, identity)
    fields[cpu.FAMILY.config_field] = cpu.with_inner(fields[cpu.FAMILY.config_field], inner)
    return fields


def own_value(family: Family, domain: Any) -> Any:
    """What ``family`` says in ``domain`` (None where its holder is absent): for the cpu
    family, its ``<cpu>`` without the fields the families inside it lift themselves."""
    found_at = holder(domain, family.place)
    value = None if found_at is None else getattr(found_at, family.config_field)
    if family is cpu.FAMILY and value is not None:
        inner = {inside.config_field: None for inside in families_at(Place.CPU)}
        value = dataclasses.replace(value, **inner)
    return value


def holder(domain: Any, place: Place) -> Any:
    """The config object at ``place`` in a ``Domain`` (None where the domain has none)."""
    return domain if place is Place.DOMAIN else getattr(domain, place.value)


def with_fields(domain: Any, place: Place, values: dict[str, Any]) -> Any:
    """``domain`` with ``values`` replacing fields of its config object at ``place``."""
    if place is Place.DOMAIN:
        return dataclasses.replace(domain, **values)
    replaced = dataclasses.replace(holder(domain, place), **values)
    return dataclasses.replace(domain, **{place.value: replaced})
