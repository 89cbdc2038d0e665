"""How one device is recognised in two definitions of a domain: the spec's and the
one libvirt holds. Each device class declares it once, as XPaths relative to its
element, and both sides use the same declaration: plan, to pair devices before it
compares them (removing the second disk is one removal, not every later disk
changing), and apply, to carry libvirt's address over to the same device
(vmspec/host/preserve.py).

- ``IDENTITY``: what names the device (a disk's target, a NIC's MAC).
- ``SAME_SLOT``: what must also match for its address to fit (a virtio PCI address
  fits no SATA disk of the same name).
- ``HOTPLUG``: a running guest can take the whole device being added or removed.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from lxml import etree

from vmspec.config.domain import Devices
from vmspec.config.xmlmap import element_fields, to_element


@cache
def device_fields() -> tuple[str, ...]:
    """The fields of ``Devices`` that hold devices (a list, or one at most), in order."""
    return element_fields(Devices)


def devices_in(devices: Devices, field: str) -> tuple[Any, ...]:
    """The devices ``field`` of ``devices`` holds, as a tuple (a single one as one item)."""
    value = getattr(devices, field)
    if isinstance(value, tuple):
        return value
    return () if value is None else (value,)


def with_devices(devices: Devices, field: str, items: tuple[Any, ...]) -> Devices:
    """``devices`` with ``field`` holding ``items`` (one at most where it holds one)."""
    single = not isinstance(getattr(devices, field), tuple)
    value = (items[0] if items else None) if single else items
    return dataclasses.replace(devices, **{field: value})


def config_identity(device: Any) -> str | None:
    """The identity of a device config object, as one readable key (``vda``, a MAC)."""
    found = _values(to_element(device), getattr(type(device), "IDENTITY", ()))
    return None if found is None else ",".join(value for value in found if value is not None)


def config_slot(device: Any) -> tuple[str | None, ...] | None:
    """Identity plus what the address depends on (a disk's bus: a virtio PCI address fits
    no SATA disk of the same name): devices of equal slots can take each other's address.
    None where the class declares no identity or the device lacks one."""
    element, cls = to_element(device), type(device)
    found = _values(element, getattr(cls, "IDENTITY", ()))
    return None if found is None else found + _values(element, getattr(cls, "SAME_SLOT", ()), True)


def hot_pluggable(device: Any) -> bool:
    return bool(getattr(type(device), "HOTPLUG", False))


def _values(
    element: etree._Element, xpaths: tuple[str, ...], allow_empty: bool = False
) -> tuple[str | None, ...] | None:
    if not xpaths:
        return () if allow_empty else None
    values = tuple(_first(element.xpath(xpath)) for xpath in xpaths)
    if not allow_empty and all(value is None for value in values):
        return None
    return values


def _first(found: list[Any]) -> str | None:
    """The first value an XPath found: an attribute's value, or an element's text (a
    memory device's ``target/node``; the element itself would differ on every parse)."""
    if not found:
        return None
    value = found[0]
    return value.text if isinstance(value, etree._Element) else str(value)
