"""Carry libvirt's allocations over when vmspec redefines a domain.

libvirt assigns PCI slots, controllers and drive addresses at the first define.
Redefining without them would let libvirt assign them afresh, and a guest whose
NIC moves to another slot renames it (enp1s0 → enp2s0) and loses its network.
So an update keeps every controller and, for each device that is still there
unchanged in kind, its address.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from lxml import etree

# How a device is recognised in both definitions; None: not one to carry an address for.
_IDENTITY: dict[str, Callable[[etree._Element], object]] = {
    # A disk keeps its address only on the same bus: a virtio PCI address fits no SATA disk.
    "disk": lambda e: (e.find("target").get("dev"), e.find("target").get("bus")),
    "interface": lambda e: e.find("mac").get("address") if e.find("mac") is not None else None,
    "memballoon": lambda e: e.get("model"),
    "rng": lambda e: e.get("model"),
    "video": lambda e: e.find("model").get("type") if e.find("model") is not None else None,
    "input": lambda e: (e.get("type"), e.get("bus")),
    "channel": lambda e: e.find("target").get("name") if e.find("target") is not None else None,
    "serial": lambda e: e.find("target").get("port") if e.find("target") is not None else None,
}


def with_live_allocations(desired_xml: bytes, live_xml: str) -> bytes:
    desired = etree.fromstring(desired_xml)
    live = etree.fromstring(live_xml.encode())
    desired_devices, live_devices = desired.find("devices"), live.find("devices")
    if desired_devices is None or live_devices is None:
        return desired_xml
    for controller in live_devices.iterfind("controller"):
        desired_devices.append(copy.deepcopy(controller))
    live_addresses = {
        (device.tag, _identity(device)): address
        for device in live_devices
        if isinstance(device.tag, str) and (address := device.find("address")) is not None
    }
    for device in desired_devices:
        if not isinstance(device.tag, str) or device.find("address") is not None:
            continue
        identity = _identity(device)
        address = live_addresses.get((device.tag, identity)) if identity is not None else None
        if address is not None:
            device.append(copy.deepcopy(address))
    return etree.tostring(desired, encoding="UTF-8", pretty_print=True)


def _identity(device: etree._Element) -> object:
    identify = _IDENTITY.get(device.tag)
    if identify is None:
        return None
    try:
        return identify(device)
    except AttributeError:  # a device without the element that identifies it
        return None
