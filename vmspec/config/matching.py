"""How one device is recognised in two definitions of a domain: the spec's and the
one libvirt holds. Each device class declares it once, as XPaths relative to its
element, and both sides use the same declaration: plan, to pair devices before it
compares them (removing the second disk is one removal, not every later disk
changing), and apply, to carry libvirt's address over to the same device.

- ``IDENTITY``: what names the device (a disk's target, a NIC's MAC).
- ``SAME_SLOT``: what must also match for its address to fit (a virtio PCI address
  fits no SATA disk of the same name).
- ``HOTPLUG``: a running guest can take the whole device being added or removed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lxml import etree

from vmspec.config.domain import Devices
from vmspec.config.xmlmap import child_classes, to_element


@cache
def _device_classes() -> dict[str, type]:
    return child_classes(Devices)


def identity(element: etree._Element) -> tuple[str | None, ...] | None:
    """The device's identity, or None where its class declares none or it lacks one."""
    cls = _device_classes().get(element.tag)
    return _values(element, getattr(cls, "IDENTITY", ()))


def slot(element: etree._Element) -> tuple[str | None, ...] | None:
    """Identity plus what the address depends on: equal slots can share an address."""
    cls = _device_classes().get(element.tag)
    found = identity(element)
    return None if found is None else found + _values(element, getattr(cls, "SAME_SLOT", ()), True)


def config_identity(device: Any) -> str | None:
    """The identity of a device config object, as one readable key (``vda``, a MAC)."""
    found = _values(to_element(device), getattr(type(device), "IDENTITY", ()))
    return None if found is None else ",".join(value for value in found if value is not None)


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
    return str(found[0]) if found else None
