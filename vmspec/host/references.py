"""What a domain refers to on the host (disk files, pools, volumes, networks, bridges,
and what the element families name: shares' folders, a TPM device, host devices),
checked at plan time whatever the domain's power state: a definition that points at
nothing fails only when the guest starts, which may be weeks after the apply.

Each reference becomes either a dependency (the specs create it: the domain needs
that resource, and is blocked if it is refused or fails), a refusal (it exists
nowhere), or "known after apply" (its pool does not run yet, or has a file libvirt
has not listed yet): apply checks it again right before the domain's step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

from lxml import etree

from vmspec.compare.model import NOT_CONVERGING, Action, Kind, ResourcePlan
from vmspec.families import FAMILIES, holder
from vmspec.families.hostdev import Hostdev, HostdevAddress, HostdevSource
from vmspec.host.errors import HostError
from vmspec.host.volumes import PoolView, volumes_at_apply


@dataclass(frozen=True, slots=True)
class HostView:
    """What the plan read of the host, and what the specs will add to it."""

    local: bool  # the host is this machine: files and bridges can be looked at
    pools: dict[str, PoolView]  # declared or on the host
    networks: set[str]  # declared or on the host
    planned_volumes: set[str]  # POOL/NAME of the volumes the specs create
    host_devices: HostDevices | None = None  # None: not read (no hostdevs; test:///)


@dataclass(frozen=True, slots=True)
class HostDevices:
    """The host's PCI functions, USB devices and mediated devices, from libvirt's node
    device API (what ``virsh nodedev-list`` shows), as numbers a hostdev names them by."""

    pci: frozenset[tuple[int, int, int, int]]  # domain, bus, slot, function
    usb: tuple[dict[str, int], ...]  # vendor, product, bus, device
    mdev: frozenset[str]  # uuids

    def missing(self, hostdev: Hostdev) -> str | None:
        """What names ``hostdev``'s device, where the host has no such device."""
        address = hostdev.source.address if hostdev.source else None
        if hostdev.type == "pci" and address is not None:
            parts = tuple(
                int(value or "0", 0)
                for value in (address.domain, address.bus, address.slot, address.function)
            )
            if parts not in self.pci:
                return "the PCI device {:04x}:{:02x}:{:02x}.{:x}".format(*parts)
        elif hostdev.type == "usb" and hostdev.source is not None:
            wanted = _usb_names(hostdev)
            if not any(all(device.get(k) == v for k, v in wanted.items()) for device in self.usb):
                return "the USB device " + ", ".join(f"{k} {v:#x}" for k, v in wanted.items())
        elif hostdev.type == "mdev" and address is not None and address.uuid not in self.mdev:
            return f"the mediated device {address.uuid}"
        return None


def _usb_names(hostdev: Hostdev) -> dict[str, int]:
    source = hostdev.source
    names = {}
    for key in ("vendor", "product"):
        usb_id = getattr(source, key)
        if usb_id is not None and usb_id.id is not None:
            names[key] = int(usb_id.id, 16)
    for key in ("bus", "device"):
        value = getattr(source.address, key) if source.address else None
        if value is not None:
            names[key] = int(value, 0)
    return names


def read_host_devices(connection) -> HostDevices | None:
    """The host's assignable devices, or None where the driver cannot list them: then
    hostdevs are not checked."""
    import libvirt

    from vmspec.host.connection import is_connection_lost

    flags = (
        libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV
        | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV
        | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV
    )
    try:
        devices = [
            etree.fromstring(device.XMLDesc(0)) for device in connection.listAllDevices(flags)
        ]
    except libvirt.libvirtError as error:
        if is_connection_lost(error):
            raise  # Host.call reconnects and asks again
        return None
    pci, usb, mdev = set(), [], set()
    for device in devices:
        capability = device.find("capability")
        kind = capability.get("type") if capability is not None else None
        if kind == "pci":
            pci.add(
                tuple(
                    int(capability.findtext(k) or "0", 0)
                    for k in ("domain", "bus", "slot", "function")
                )
            )
        elif kind == "usb_device":
            found = {k: int(capability.findtext(k) or "-1", 0) for k in ("bus", "device")}
            for key in ("vendor", "product"):
                element = capability.find(key)
                if element is not None and element.get("id"):
                    found[key] = int(element.get("id"), 16)
            usb.append(found)
        elif kind == "mdev":
            # libvirt 9.0 names a mediated device mdev_UUID (underscores for the dashes)
            name = device.findtext("name") or ""
            mdev.add(name.removeprefix("mdev_")[:36].replace("_", "-"))
    return HostDevices(frozenset(pci), tuple(usb), frozenset(mdev))


def is_local(uri: str) -> bool:
    """Whether the host's files are this machine's (test:/// has no files at all)."""
    return not uri.startswith("test:") and urlparse(uri).hostname in (
        None,
        "",
        "localhost",
        "127.0.0.1",
    )


def check_references(plan: ResourcePlan, view: HostView, spec_pools: set[str]) -> None:
    """Sets the domain plan's needs, refuses it for a reference to nothing, or defers
    what only apply can know."""
    if plan.action in NOT_CONVERGING or plan.desired is None or plan.desired.domain.devices is None:
        return
    devices = plan.desired.domain.devices
    needs: list[str] = []
    deferred: list[tuple[PoolView, str, str]] = []  # (pool, volume, disk target)
    for disk in devices.disks:
        source, target = disk.source, disk.target.dev if disk.target else "?"
        if source is None:
            continue
        path = source.file or source.dev
        if path and view.local and not os.path.exists(path):
            _refuse(plan, f"disk {target}: {path} does not exist")
            return
        if not source.pool:
            continue
        pool = view.pools.get(source.pool)
        if pool is None:
            _refuse(
                plan,
                f"disk {target}: the pool {source.pool!r} is neither in the specs nor on the host",
            )
            return
        if source.pool in spec_pools:
            needs.append(f"{Kind.POOL}/{source.pool}")
        volume_key = f"{source.pool}/{source.volume}"
        if volume_key in view.planned_volumes:
            needs.append(f"{Kind.VOLUME}/{volume_key}")
        elif pool.volumes is None or (
            source.volume not in pool.volumes and pool.may_hold(source.volume)
        ):
            deferred.append((pool, source.volume, target))
        elif source.volume not in pool.volumes:
            _refuse(plan, f"disk {target}: the volume {volume_key} does not exist")
            return
    if view.local:
        for what, path in _family_paths(plan.desired.domain):
            if not os.path.exists(path):
                _refuse(plan, f"{what}: {path} does not exist")
                return
    for index, interface in enumerate(devices.interfaces):
        source = interface.source
        if source is None:
            continue
        if source.network:
            if source.network not in view.networks:
                _refuse(
                    plan,
                    f"interface {index + 1}: the network {source.network!r} is neither in the specs nor on the host",
                )
                return
            needs.append(f"{Kind.NETWORK}/{source.network}")
        elif source.bridge and view.local and not os.path.exists(f"/sys/class/net/{source.bridge}"):
            _refuse(
                plan,
                f"interface {index + 1}: the bridge {source.bridge!r} does not exist on this host",
            )
            return
    for what, hostdev in _assigned(devices):
        missing = view.host_devices.missing(hostdev) if view.host_devices else None
        if missing:
            _refuse(plan, f"{what}: {missing} is not on the host (virsh nodedev-list)")
            return
    plan.needs = tuple(dict.fromkeys(needs))
    if deferred:
        listed = ", ".join(f"{pool.name}/{volume}" for pool, volume, _ in deferred)
        plan.known_after_apply = f"the volumes {listed} are looked up once their pools run"
        plan.recheck = lambda host: _volumes_exist(host, plan.name, deferred)


def _assigned(devices) -> list[tuple[str, Hostdev]]:
    """The host devices a domain assigns: its hostdevs, and the SR-IOV functions of its
    hostdev NICs (as the hostdev libvirt makes of each)."""
    assigned = [(f"hostdev {index + 1}", hostdev) for index, hostdev in enumerate(devices.hostdevs)]
    for index, interface in enumerate(devices.interfaces):
        function = interface.source.function if interface.source else None
        if interface.type == "hostdev" and function is not None and function.type == "pci":
            address = HostdevAddress(
                domain=function.domain,
                bus=function.bus,
                slot=function.slot,
                function=function.function,
            )
            assigned.append(
                (
                    f"interface {index + 1}",
                    Hostdev(type="pci", source=HostdevSource(address=address)),
                )
            )
    return assigned


def assigns_host_devices(domain) -> bool:
    """Whether a domain assigns any device of the host's, so that the plan reads them."""
    return bool(domain.devices and _assigned(domain.devices))


def _family_paths(domain) -> list[tuple[str, str]]:
    """What the registered families need on the host (a share's folder, a TPM device)."""
    found = []
    for family in FAMILIES:
        value_holder = holder(domain, family.place)
        if value_holder is not None:
            found += family.host_paths(getattr(value_holder, family.config_field))
    return found


def _volumes_exist(host, name: str, deferred: list[tuple[PoolView, str, str]]) -> None:
    listed: dict[str, dict] = {}
    for pool, volume, target in deferred:
        if pool.name not in listed:
            listed[pool.name] = volumes_at_apply(host, pool)
        if volume not in listed[pool.name]:
            raise HostError(
                "checking the disks",
                f"disk {target}: the volume {pool.name}/{volume} does not exist",
                name,
            )


def _refuse(plan: ResourcePlan, reason: str) -> None:
    plan.action, plan.reason = Action.REFUSE, reason
