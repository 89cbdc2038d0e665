"""Carry libvirt's allocations over when vmspec redefines a domain.

libvirt assigns PCI slots, controllers and drive addresses at the first define.
Redefining without them would let libvirt assign them afresh, and a guest whose
NIC moves to another slot renames it (enp1s0 → enp2s0) and loses its network.
So an update keeps the controllers libvirt added (those of a type the spec does not
name) and, for each device that is still there unchanged in kind, its address.
"""

from __future__ import annotations

import copy

from lxml import etree

from vmspec.config.matching import slot


def with_live_allocations(desired_xml: bytes, live_xml: str) -> bytes:
    desired = etree.fromstring(desired_xml)
    live = etree.fromstring(live_xml.encode())
    _keep_generation_id(desired, live)
    _keep_device_allocations(desired, live)
    return etree.tostring(desired, encoding="UTF-8", pretty_print=True)


def _keep_device_allocations(desired: etree._Element, live: etree._Element) -> None:
    desired_devices, live_devices = desired.find("devices"), live.find("devices")
    if desired_devices is None or live_devices is None:
        return
    # A controller type the spec names is the spec's (its controllers get their addresses
    # below, like other devices); the others are libvirt's own, kept as they are.
    named = {controller.get("type") for controller in desired_devices.iterfind("controller")}
    for controller in live_devices.iterfind("controller"):
        # A spec names the PCI root only (for its pcihole64): the root ports and bridges
        # behind it stay libvirt's.
        pci_topology = controller.get("type") == "pci" and controller.get("index") != "0"
        if controller.get("type") not in named or pci_topology:
            desired_devices.append(copy.deepcopy(controller))
    # Devices of one slot (two qxl videos) keep their addresses in their order.
    live_addresses: dict[tuple[str, object], list[etree._Element]] = {}
    for device in live_devices:
        if isinstance(device.tag, str) and (address := device.find("address")) is not None:
            live_addresses.setdefault((device.tag, slot(device)), []).append(address)
    for device in desired_devices:
        if not isinstance(device.tag, str) or device.find("address") is not None:
            continue
        identity = slot(device)  # what the device's class declares: config/matching.py
        waiting = live_addresses.get((device.tag, identity), []) if identity is not None else []
        if waiting:
            device.append(copy.deepcopy(waiting.pop(0)))


def _keep_generation_id(desired: etree._Element, live: etree._Element) -> None:
    """``<genid/>`` asks libvirt for a value; a new one at every redefine would tell the
    guest it was rolled back (see vmspec/families/genid.py), so the live value stays."""
    wanted, current = desired.find("genid"), live.find("genid")
    if wanted is not None and not (wanted.text or "").strip() and current is not None:
        wanted.text = current.text
