"""Diagnostics samples as JSON (documented in diagnostics.py) and as a table for people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vmspec.host.diagnostics import (
    FORMAT_VERSION,
    NO_CPU,
    NO_MEMORY,
    DiskStats,
    DomainRates,
    DomainStats,
    InterfaceStats,
    Sample,
    rates,
)


def to_json(current: Sample, previous: Sample | None = None) -> dict[str, Any]:
    """The document described in this module's docstring."""
    domain_rates = rates(previous, current)
    return {
        "formatVersion": FORMAT_VERSION,
        "uri": current.uri,
        "time": round(current.time, 3),
        "intervalSeconds": (round(current.monotonic - previous.monotonic, 3) if previous else None),
        "domains": [
            _domain_json(domain, domain_rates.get(domain.uuid)) for domain in current.domains
        ],
    }


def _domain_json(domain: DomainStats, rate: DomainRates | None) -> dict[str, Any]:
    cpu, memory = domain.cpu or NO_CPU, domain.memory or NO_MEMORY
    disk_rates = rate.disks if rate else {}
    interface_rates = rate.interfaces if rate else {}
    return {
        "name": domain.name,
        "uuid": domain.uuid,
        "id": domain.id,
        "state": domain.state,
        "cpu": {
            "timeNs": cpu.time_ns,
            "userNs": cpu.user_ns,
            "systemNs": cpu.system_ns,
            "vcpuTimesNs": list(cpu.vcpu_times_ns) if domain.cpu else None,
            "percent": _rounded(rate.cpu_percent if rate else None, 2),
        },
        "memory": {
            "currentBytes": memory.current_bytes,
            "maximumBytes": memory.maximum_bytes,
            "rssBytes": memory.rss_bytes,
            "guestAvailableBytes": memory.guest_available_bytes,
            "guestUsableBytes": memory.guest_usable_bytes,
            "guestUnusedBytes": memory.guest_unused_bytes,
        },
        "disks": None
        if domain.disks is None
        else {disk.target: _disk_json(disk, disk_rates.get(disk.target)) for disk in domain.disks},
        "interfaces": None
        if domain.interfaces is None
        else {
            interface.device: _interface_json(interface, interface_rates.get(interface.device))
            for interface in domain.interfaces
        },
    }


def _disk_json(disk: DiskStats, rate: tuple | None) -> dict[str, Any]:
    read, write = rate or (None, None)
    return {
        "path": disk.path,
        "readBytes": disk.read_bytes,
        "readRequests": disk.read_requests,
        "writeBytes": disk.write_bytes,
        "writeRequests": disk.write_requests,
        "errors": disk.errors,
        "capacityBytes": disk.capacity_bytes,
        "allocationBytes": disk.allocation_bytes,
        "physicalBytes": disk.physical_bytes,
        "readBytesPerSecond": _rounded(read),
        "writeBytesPerSecond": _rounded(write),
    }


def _interface_json(interface: InterfaceStats, rate: tuple | None) -> dict[str, Any]:
    rx, tx = rate or (None, None)
    return {
        "mac": interface.mac,
        "rxBytes": interface.rx_bytes,
        "rxPackets": interface.rx_packets,
        "rxErrors": interface.rx_errors,
        "rxDrops": interface.rx_drops,
        "txBytes": interface.tx_bytes,
        "txPackets": interface.tx_packets,
        "txErrors": interface.tx_errors,
        "txDrops": interface.tx_drops,
        "rxBytesPerSecond": _rounded(rx),
        "txBytesPerSecond": _rounded(tx),
    }


def _rounded(value: float | None, digits: int | None = None) -> float | int | None:
    return None if value is None else round(value, digits)


def table_lines(current: Sample, previous: Sample | None = None) -> list[str]:
    """The sample for people: human units, "-" where there is nothing to show. Rate
    columns appear once there is a previous sample to compute them from."""
    stamp = datetime.fromtimestamp(current.time).strftime("%H:%M:%S")
    heading = f"{current.uri} at {stamp}"
    if previous is not None:
        heading += f", rates over the last {current.monotonic - previous.monotonic:.1f} s"
    if not current.domains:
        return [heading, "no domains"]
    lines = [heading]
    domain_rates = rates(previous, current)
    for domain in current.domains:
        lines.append("")
        lines.extend(_domain_lines(domain, domain_rates.get(domain.uuid), previous is not None))
    return lines


def _domain_lines(domain: DomainStats, rate: DomainRates | None, with_rates: bool) -> list[str]:
    identity = f"  id {domain.id}" if domain.id is not None else ""
    lines = [f"{domain.name}  {domain.state}{identity}"]
    cpu, memory = domain.cpu, domain.memory
    if cpu is None or memory is None:
        return [*lines, "  cpu     -", "  memory  -"]
    vcpus = ", ".join(human_duration(value) for value in cpu.vcpu_times_ns)
    percent = rate.cpu_percent if rate else None
    lines.append(
        f"  cpu     {human_duration(cpu.time_ns)} (user {human_duration(cpu.user_ns)}, "
        f"system {human_duration(cpu.system_ns)}; vCPUs {vcpus or '-'})"
        + (f", {_percent(percent)} of one vCPU" if with_rates else "")
    )
    lines.append(
        f"  memory  current {human_bytes(memory.current_bytes)}, "
        f"maximum {human_bytes(memory.maximum_bytes)}, rss {human_bytes(memory.rss_bytes)}; "
        f"guest: available {human_bytes(memory.guest_available_bytes)}, "
        f"usable {human_bytes(memory.guest_usable_bytes)}, "
        f"unused {human_bytes(memory.guest_unused_bytes)}"
    )
    if domain.disks:
        header = ["DISK", "READ", "READ REQS", "WRITTEN", "WRITE REQS", "ERRORS"]
        header += ["CAPACITY", "ALLOCATION", *(["READ/S", "WRITE/S"] if with_rates else [])]
        rows = []
        for disk in domain.disks:
            row = [disk.target, human_bytes(disk.read_bytes), _count(disk.read_requests)]
            row += [human_bytes(disk.write_bytes), _count(disk.write_requests)]
            row += [_count(disk.errors), human_bytes(disk.capacity_bytes)]
            row += [human_bytes(disk.allocation_bytes)]
            if with_rates:
                row += _rate_cells(rate.disks.get(disk.target) if rate else None)
            rows.append(row)
        lines.extend(_aligned([header, *rows], left=1))
    if domain.interfaces:
        header = ["INTERFACE", "MAC", "RECEIVED", "SENT", "PACKETS RX/TX"]
        header += ["ERRORS RX/TX", "DROPS RX/TX", *(["RX/S", "TX/S"] if with_rates else [])]
        rows = []
        for nic in domain.interfaces:
            row = [nic.device, nic.mac or "-", human_bytes(nic.rx_bytes), human_bytes(nic.tx_bytes)]
            row += [f"{_count(nic.rx_packets)}/{_count(nic.tx_packets)}"]
            row += [f"{_count(nic.rx_errors)}/{_count(nic.tx_errors)}"]
            row += [f"{_count(nic.rx_drops)}/{_count(nic.tx_drops)}"]
            if with_rates:
                row += _rate_cells(rate.interfaces.get(nic.device) if rate else None)
            rows.append(row)
        lines.extend(_aligned([header, *rows], left=2))
    return lines


def _aligned(rows: list[list[str]], *, left: int) -> list[str]:
    """Columns two spaces apart, indented; the first ``left`` ones flush left, numbers right."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            cell.ljust(width) if column < left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _rate_cells(pair: tuple | None) -> list[str]:
    return [
        f"{human_bytes(value)}/s" if value is not None else "-" for value in pair or (None, None)
    ]


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


def human_bytes(value: float | None) -> str:
    """1.5 GiB; bytes below a KiB as they are."""
    if value is None:
        return "-"
    if value < 1024:
        return f"{value:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def human_duration(nanoseconds: int | None) -> str:
    """12.3 s; below a second in ms, above a minute in min, h or d."""
    if nanoseconds is None:
        return "-"
    seconds = nanoseconds / 1e9
    if seconds == 0:
        return "0 s"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    for limit, divisor, unit in ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "h")):
        if seconds < limit:
            return f"{seconds / divisor:.1f} {unit}"
    return f"{seconds / 86400:.1f} d"
