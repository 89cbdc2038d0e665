"""The element families vmspec speaks, one module each, and the registry that the
generic code loops over: lowering, lifting, semantic checks, normalization and the
JSON Schema (see ``family.py`` for what a family declares).

Adding a family is one module that declares ``FAMILY`` and one line below; a device
family also takes its place in ``vmspec.config.domain.Devices``, which keeps libvirt's
formatting order (tests/families checks that every device family has one).
"""

from __future__ import annotations

from vmspec.families import hostdev, memballoon, pm, rng, sound, usb_redirection, watchdog
from vmspec.families.family import Family, Place

FAMILIES: tuple[Family, ...] = (
    sound.FAMILY,
    hostdev.FAMILY,
    usb_redirection.FAMILY,
    rng.FAMILY,
    watchdog.FAMILY,
    memballoon.FAMILY,
    pm.FAMILY,
)


def families_at(place: Place) -> tuple[Family, ...]:
    return tuple(family for family in FAMILIES if family.place is place)
