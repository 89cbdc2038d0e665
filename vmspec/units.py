"""Sizes as people write them (``4GiB``) and as libvirt stores them (KiB)."""

from __future__ import annotations

import dataclasses
import functools
import re
from decimal import Decimal
from typing import Any, TypeVar

Sized = TypeVar("Sized")

# Binary units only: "GB" would be ambiguous between 10^9 and 2^30, so the spec does not accept it.
KIB_PER_UNIT = {
    "KiB": 1,
    "Ki": 1,
    "MiB": 1024,
    "Mi": 1024,
    "GiB": 1024**2,
    "Gi": 1024**2,
    "TiB": 1024**3,
    "Ti": 1024**3,
}
_SIZE = re.compile(r"^(?P<number>[0-9]+(?:\.[0-9]+)?) ?(?P<unit>[KMGT]i(?:B)?)$")


# The same few sizes come back: a VM's memory is read by several checks and by lowering.
@functools.lru_cache(maxsize=256)
def size_in_kib(text: str) -> int:
    """``"1.5GiB"`` → 1572864. Raises ValueError for malformed text or a fraction of a KiB."""
    match = _SIZE.match(text)
    if match is None or match["unit"] not in KIB_PER_UNIT:
        raise ValueError(f"{text!r} is not a size such as 512MiB or 4GiB")
    kib = Decimal(match["number"]) * KIB_PER_UNIT[match["unit"]]
    if kib != kib.to_integral_value():
        raise ValueError(f"{text} is not a whole number of KiB")
    return int(kib)


def format_kib(kib: int) -> str:
    """The largest unit that states ``kib`` exactly: 4194304 → ``4GiB``."""
    for unit in ("TiB", "GiB", "MiB"):
        factor = KIB_PER_UNIT[unit]
        if kib % factor == 0 and kib >= factor:
            return f"{kib // factor}{unit}"
    return f"{kib}KiB"


# libvirt's scaled integers (formatdomain "Memory Allocation"): KB, MB, ... are powers
# of 1000; k, KiB, M, MiB, ... powers of 1024; no unit on <memory> means KiB.
_LIBVIRT_UNIT_BYTES = {
    "b": 1,
    "bytes": 1,
    "KB": 1000,
    "k": 1024,
    "KiB": 1024,
    "MB": 1000**2,
    "M": 1024**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "G": 1024**3,
    "GiB": 1024**3,
    "TB": 1000**4,
    "T": 1024**4,
    "TiB": 1024**4,
    "PB": 1000**5,
    "P": 1024**5,
    "PiB": 1024**5,
    "EB": 1000**6,
    "E": 1024**6,
    "EiB": 1024**6,
}


def libvirt_size_in_kib(value: int, unit: str | None) -> int | None:
    """A libvirt ``<memory unit=...>`` value in KiB (rounded up, as libvirt does), or None
    for a unit libvirt does not know."""
    factor = _LIBVIRT_UNIT_BYTES.get(unit or "KiB")
    if factor is None:
        return None
    return -(-value * factor // 1024)


def with_size_in_kib(size: Sized) -> Sized:
    """A config object holding a size as ``value`` and ``unit`` (``<memory>``,
    ``<maxMemory>``), in libvirt's KiB: a definition written by hand may say 512 MiB,
    which libvirt stores as the same size in KiB. None and unreadable units stay as they are."""
    found: Any = size
    if found is None or found.value is None or found.unit in (None, "KiB"):
        return size
    kib = libvirt_size_in_kib(found.value, found.unit)
    return size if kib is None else dataclasses.replace(found, unit="KiB", value=kib)
