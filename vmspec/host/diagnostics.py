"""Counters of running domains, read in bulk: ``vmspec diagnostics``.

A sample is two libvirt calls whatever the number of domains: ``listAllDomains``, then
one ``domainListGetStats`` for the chosen ones (state, CPU, balloon, vCPU, interface and
block statistics); plus, once per boot of a running domain with NICs, its XML, for the
MACs. Rates (``--watch``) come from two samples: the counter's difference over the time
between them.

JSON (``--output json``; with ``--watch``, one such document per line). Sizes are bytes,
times nanoseconds, counters raw integers; a value libvirt does not report is null::

    formatVersion    1
    uri              the connection's URI
    time             when the sample was taken, Unix seconds
    intervalSeconds  seconds since the previous sample (--watch), else null
    domains[]        in the order asked for (all domains: by name)
      name, uuid
      id             libvirt's domain id; null when stopped
      state          running, blocked, paused, shutting-down, stopped, crashed,
                     pmsuspended or nostate
      cpu            timeNs, userNs, systemNs, vcpuTimesNs (a list by vCPU index),
                     percent (of one vCPU-second per second; needs --watch)
      memory         currentBytes (the balloon's size: what the guest may use now),
                     maximumBytes, rssBytes (QEMU's resident memory on the host),
                     guestAvailableBytes, guestUsableBytes, guestUnusedBytes (reported
                     by the guest's balloon driver, so null without one)
      disks          by target (vda): path, readBytes, readRequests, writeBytes,
                     writeRequests, errors (QEMU does not report it: null), capacityBytes,
                     allocationBytes, physicalBytes, readBytesPerSecond,
                     writeBytesPerSecond (--watch)
      interfaces     by host device (vnet3): mac, rxBytes, rxPackets, rxErrors, rxDrops,
                     txBytes, txPackets, txErrors, txDrops, rxBytesPerSecond,
                     txBytesPerSecond (--watch)

A stopped domain keeps the cpu and memory keys, every value null, and has ``disks`` and
``interfaces`` null: libvirt 9.0 reports libvirtd's own CPU time as the ``cpu.time`` of
a stopped domain, so no number it gives is the guest's. libvirt's field names:
https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectGetAllDomainStats
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libvirt
from lxml import etree

from vmspec.host.connection import Host
from vmspec.host.errors import HostError

FORMAT_VERSION = 1

_STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
    | libvirt.VIR_DOMAIN_STATS_BLOCK
)

_STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: "nostate",
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "blocked",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutting-down",
    libvirt.VIR_DOMAIN_SHUTOFF: "stopped",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "pmsuspended",
}


@dataclass(frozen=True, slots=True)
class CpuStats:
    time_ns: int | None
    user_ns: int | None
    system_ns: int | None
    vcpu_times_ns: tuple[int | None, ...]  # by vCPU index


@dataclass(frozen=True, slots=True)
class MemoryStats:
    current_bytes: int | None
    maximum_bytes: int | None
    rss_bytes: int | None
    guest_available_bytes: int | None
    guest_usable_bytes: int | None
    guest_unused_bytes: int | None


NO_MEMORY = MemoryStats(None, None, None, None, None, None)


NO_CPU = CpuStats(None, None, None, ())


@dataclass(frozen=True, slots=True)
class DiskStats:
    target: str
    path: str | None
    read_bytes: int | None
    read_requests: int | None
    write_bytes: int | None
    write_requests: int | None
    errors: int | None
    capacity_bytes: int | None
    allocation_bytes: int | None
    physical_bytes: int | None


@dataclass(frozen=True, slots=True)
class InterfaceStats:
    device: str  # the host's tap device, e.g. vnet3
    mac: str | None
    rx_bytes: int | None
    rx_packets: int | None
    rx_errors: int | None
    rx_drops: int | None
    tx_bytes: int | None
    tx_packets: int | None
    tx_errors: int | None
    tx_drops: int | None


@dataclass(frozen=True, slots=True)
class DomainStats:
    name: str
    uuid: str
    id: int | None
    state: str
    # None when the domain is not running: there is nothing of the guest to measure.
    cpu: CpuStats | None
    memory: MemoryStats | None
    disks: tuple[DiskStats, ...] | None
    interfaces: tuple[InterfaceStats, ...] | None


@dataclass(frozen=True, slots=True)
class Sample:
    uri: str
    time: float  # Unix seconds
    monotonic: float  # for intervals: immune to clock changes
    domains: tuple[DomainStats, ...]


@dataclass(frozen=True, slots=True)
class DomainRates:
    cpu_percent: float | None
    disks: Mapping[str, tuple[float | None, float | None]]  # target → read, write bytes/s
    interfaces: Mapping[str, tuple[float | None, float | None]]  # device → rx, tx bytes/s


class Sampler:
    """Samples the named domains (None: every domain on the host) on one connection."""

    def __init__(self, host: Host, names: Sequence[str] | None) -> None:
        self.host = host
        self.names = list(dict.fromkeys(names)) if names is not None else None
        self.uri: str = host.call("reading the URI", None, lambda connection: connection.getURI())
        self._macs: dict[tuple[str, int], dict[str, str]] = {}

    def sample(self) -> Sample:
        records = self.host.call("reading domain statistics", None, self._read_stats)
        taken, monotonic = time.time(), time.monotonic()
        domains = []
        for domain, stats in records:
            domain_id = domain.ID()  # kept in the domain object: no call to libvirtd
            macs = self._interface_macs(domain, stats) if domain_id >= 0 else {}
            domains.append(parse_stats(domain.name(), domain.UUIDString(), domain_id, stats, macs))
        live = {(domain.uuid, domain.id) for domain in domains}
        self._macs = {key: value for key, value in self._macs.items() if key in live}
        return Sample(self.uri, taken, monotonic, tuple(domains))

    def _read_stats(self, connection: libvirt.virConnect) -> list[tuple[libvirt.virDomain, dict]]:
        # Looked up on each sample and inside the call: after a reconnect, the domain
        # objects of the old connection are dead.
        domains = {domain.name(): domain for domain in connection.listAllDomains(0)}
        if self.names is None:
            chosen = [domains[name] for name in sorted(domains)]
        else:
            missing = [name for name in self.names if name not in domains]
            if len(missing) == 1:
                raise HostError(
                    "looking up the domain", f"no such domain on {self.uri}", missing[0]
                )
            if missing:
                named = ", ".join(map(repr, missing))
                raise HostError("looking up the domains", f"no domains named {named} on {self.uri}")
            chosen = [domains[name] for name in self.names]
        if not chosen:
            return []
        records = connection.domainListGetStats(chosen, _STATS, 0)
        order = {domain.name(): index for index, domain in enumerate(chosen)}
        return sorted(records, key=lambda record: order.get(record[0].name(), len(order)))

    def _interface_macs(self, domain: libvirt.virDomain, stats: Mapping[str, Any]) -> dict:
        """Tap device → MAC. The stats name only the host's tap device (net.N.name, e.g.
        vnet3); the running XML ties it to the guest's MAC. Reading it costs one call per
        running domain, so it is read once per boot (the domain id changes at each start),
        and again only when a device appears that it does not name (a NIC hot-plugged)."""
        devices = {stats[f"net.{index}.name"] for index in range(stats.get("net.count", 0))}
        if not devices:
            return {}
        key = (domain.UUIDString(), domain.ID())
        known = self._macs.get(key)
        if known is None or not devices <= known.keys():
            xml = self.host.call(
                "reading the running definition", domain.name(), lambda c: _running_xml(c, domain)
            )
            known = self._macs[key] = interface_macs(xml)
        return known


def _running_xml(connection: libvirt.virConnect, domain: libvirt.virDomain) -> str:
    if domain.connect() is not connection:  # reconnected since the stats were read
        domain = connection.lookupByUUIDString(domain.UUIDString())
    try:
        return domain.XMLDesc(0)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return ""  # undefined since the stats were read: no MACs to show
        raise


def interface_macs(xml: str) -> dict[str, str]:
    """``interface/target/@dev`` → ``interface/mac/@address`` of a running domain's XML."""
    if not xml:
        return {}
    macs = {}
    for interface in etree.fromstring(xml.encode()).iterfind("devices/interface"):
        device, mac = interface.find("target"), interface.find("mac")
        if device is not None and mac is not None and device.get("dev"):
            macs[device.get("dev")] = mac.get("address")
    return macs


def parse_stats(
    name: str, uuid: str, domain_id: int, stats: Mapping[str, Any], macs: Mapping[str, str]
) -> DomainStats:
    """One domain's record from virConnectGetAllDomainStats, typed."""
    state_code = stats.get("state.state", libvirt.VIR_DOMAIN_NOSTATE)
    state = _STATE_NAMES.get(state_code, "nostate")
    if state_code == libvirt.VIR_DOMAIN_SHUTOFF or domain_id < 0:
        return DomainStats(name, uuid, None, state, None, None, None, None)
    kib = {key: value * 1024 for key, value in stats.items() if key.startswith("balloon.")}
    cpu = CpuStats(
        time_ns=stats.get("cpu.time"),
        user_ns=stats.get("cpu.user"),
        system_ns=stats.get("cpu.system"),
        vcpu_times_ns=tuple(
            stats.get(f"vcpu.{index}.time") for index in range(stats.get("vcpu.maximum", 0))
        ),
    )
    memory = MemoryStats(
        current_bytes=kib.get("balloon.current"),
        maximum_bytes=kib.get("balloon.maximum"),
        rss_bytes=kib.get("balloon.rss"),
        guest_available_bytes=kib.get("balloon.available"),
        guest_usable_bytes=kib.get("balloon.usable"),
        guest_unused_bytes=kib.get("balloon.unused"),
    )
    disks = tuple(
        DiskStats(
            target=disk["name"],
            path=disk.get("path"),
            read_bytes=disk.get("rd.bytes"),
            read_requests=disk.get("rd.reqs"),
            write_bytes=disk.get("wr.bytes"),
            write_requests=disk.get("wr.reqs"),
            errors=disk.get("errors"),
            capacity_bytes=disk.get("capacity"),
            allocation_bytes=disk.get("allocation"),
            physical_bytes=disk.get("physical"),
        )
        for disk in _devices(stats, "block")
    )
    interfaces = tuple(
        InterfaceStats(
            device=nic["name"],
            mac=macs.get(nic["name"]),
            rx_bytes=nic.get("rx.bytes"),
            rx_packets=nic.get("rx.pkts"),
            rx_errors=nic.get("rx.errs"),
            rx_drops=nic.get("rx.drop"),
            tx_bytes=nic.get("tx.bytes"),
            tx_packets=nic.get("tx.pkts"),
            tx_errors=nic.get("tx.errs"),
            tx_drops=nic.get("tx.drop"),
        )
        for nic in _devices(stats, "net")
    )
    return DomainStats(name, uuid, domain_id, state, cpu, memory, disks, interfaces)


def _devices(stats: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    """``block.0.name``, ``block.0.rd.bytes``, ... → ``[{"name": ..., "rd.bytes": ...}]``."""
    devices = []
    for index in range(stats.get(f"{kind}.count", 0)):
        prefix = f"{kind}.{index}."
        fields = {
            key.removeprefix(prefix): value
            for key, value in stats.items()
            if key.startswith(prefix)
        }
        if "name" in fields:
            devices.append(fields)
    return devices


def rates(previous: Sample | None, current: Sample) -> dict[str, DomainRates]:
    """Per domain uuid: the rates between two samples of domains that ran through both."""
    if previous is None:
        return {}
    seconds = current.monotonic - previous.monotonic
    before = {domain.uuid: domain for domain in previous.domains}
    result = {}
    for now in current.domains:
        then = before.get(now.uuid)
        # A restart (new id) resets every counter: no rate across it.
        if then is None or now.id is None or then.id != now.id or seconds <= 0:
            continue
        cpu_ns = _per_second(_time_ns(then), _time_ns(now), seconds)
        disks_then = {disk.target: disk for disk in then.disks or ()}
        interfaces_then = {interface.device: interface for interface in then.interfaces or ()}
        result[now.uuid] = DomainRates(
            cpu_percent=cpu_ns / 1e9 * 100 if cpu_ns is not None else None,
            disks={
                disk.target: _byte_rates(
                    disks_then.get(disk.target), disk, seconds, ("read", "write")
                )
                for disk in now.disks or ()
            },
            interfaces={
                interface.device: _byte_rates(
                    interfaces_then.get(interface.device), interface, seconds, ("rx", "tx")
                )
                for interface in now.interfaces or ()
            },
        )
    return result


def _time_ns(domain: DomainStats) -> int | None:
    return domain.cpu.time_ns if domain.cpu else None


def _byte_rates(then: Any, now: Any, seconds: float, directions: tuple[str, str]) -> tuple:
    """A device's (read, write) or (rx, tx) bytes/s; (None, None) if it is new."""
    return tuple(
        _per_second(getattr(then, f"{way}_bytes", None), getattr(now, f"{way}_bytes"), seconds)
        for way in directions
    )


def _per_second(then: int | None, now: int | None, seconds: float) -> float | None:
    # A counter that went down was reset (a device re-plugged): no rate, not a negative one.
    if then is None or now is None or now < then:
        return None
    return (now - then) / seconds
