"""The element families vmspec speaks, one module each, and the registry that the
generic code loops over: lowering, lifting, semantic checks, normalization and the
JSON Schema (see ``family.py`` for what a family declares).

Adding a family is one module that declares ``FAMILY`` and one line below; a device
family also takes its place in ``vmspec.config.domain.Devices``, which keeps libvirt's
formatting order (tests/families checks that every device family has one).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vmspec.families import (
    boot_menu,
    controller,
    cputune,
    current_memory,
    disk,
    filesystem,
    hostdev,
    interface,
    max_memory,
    memballoon,
    memory_backing,
    numa,
    numatune,
    panic,
    pm,
    rng,
    sound,
    tpm,
    usb_redirection,
    watchdog,
)
from vmspec.families.family import Family, Identity, Place

FAMILIES: tuple[Family, ...] = (
    disk.FAMILY,
    controller.FAMILY,
    current_memory.FAMILY,
    max_memory.FAMILY,
    numa.FAMILY,
    numatune.FAMILY,
    cputune.FAMILY,
    interface.FAMILY,
    sound.FAMILY,
    hostdev.FAMILY,
    usb_redirection.FAMILY,
    rng.FAMILY,
    watchdog.FAMILY,
    memballoon.FAMILY,
    panic.FAMILY,
    pm.FAMILY,
    boot_menu.FAMILY,
    tpm.FAMILY,
    memory_backing.FAMILY,
    filesystem.FAMILY,
)


def families_at(place: Place) -> tuple[Family, ...]:
    return tuple(family for family in FAMILIES if family.place is place)


def lowered_fields(place: Place, spec: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """The config fields the families at ``place`` fill, lowered from ``spec``."""
    return {family.config_field: family.lower(spec, identity) for family in families_at(place)}


def holder(domain: Any, place: Place) -> Any:
    """The config object at ``place`` in a ``Domain`` (None where the domain has none)."""
    return domain if place is Place.DOMAIN else getattr(domain, place.value)


def with_fields(domain: Any, place: Place, values: dict[str, Any]) -> Any:
    """``domain`` with ``values`` replacing fields of its config object at ``place``."""
    if place is Place.DOMAIN:
        return dataclasses.replace(domain, **values)
    replaced = dataclasses.replace(holder(domain, place), **values)
    return dataclasses.replace(domain, **{place.value: replaced})
