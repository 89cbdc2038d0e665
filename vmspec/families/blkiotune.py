"""``<blkiotune>``: the guest's share of host block I/O, for all its disks and per host
device, through the cgroup io controller (formatdomain "Block I/O Tuning").

Guests on one host disk compete for it: a weight gives this one more or less of the
device when it is busy, and per-device limits cap its reads and writes there, whatever
its disks' own iotune says (which QEMU enforces per disk, inside the guest's I/O).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import children, config_class, text_child
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding

# The per-device limits, by the spec's name (libvirt's, in camelCase).
_LIMITS = {
    "readIopsSec": "read_iops_sec",
    "writeIopsSec": "write_iops_sec",
    "readBytesSec": "read_bytes_sec",
    "writeBytesSec": "write_bytes_sec",
}


@config_class
class BlkioDevice:
    TAG: ClassVar[str] = "device"
    path: str | None = text_child("path")
    weight: int | None = text_child("weight")
    read_iops_sec: int | None = text_child("read_iops_sec")
    write_iops_sec: int | None = text_child("write_iops_sec")
    read_bytes_sec: int | None = text_child("read_bytes_sec")
    write_bytes_sec: int | None = text_child("write_bytes_sec")


@config_class
class Blkiotune:
    TAG: ClassVar[str] = "blkiotune"
    weight: int | None = text_child("weight")
    devices: tuple[BlkioDevice, ...] = children()


# libvirt's RNG: a weight is 100 to 1000.
_WEIGHT = {"type": "integer", "minimum": 100, "maximum": 1000}
_IOPS = {"type": "integer", "minimum": 1, "maximum": 2**32 - 1}
_BYTES = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}

SCHEMA = {
    "type": "object",
    "description": "the guest's share of host block I/O (cgroups): a weight against other guests, and per host device a weight or limits",
    "properties": {
        "weight": {
            **_WEIGHT,
            "description": "the guest's weight on every host device, 100 to 1000, against other guests when the device is busy",
        },
        "devices": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "path": {
                        "$ref": "#/$defs/absolutePath",
                        "description": "the host's block device: /dev/sda",
                    },
                    "weight": {
                        **_WEIGHT,
                        "description": "the guest's weight on this device (needs its I/O scheduler to be bfq)",
                        "examples": [500],
                    },
                    "readIopsSec": {
                        **_IOPS,
                        "description": "the most read operations a second on this device",
                        "examples": [2000],
                    },
                    "writeIopsSec": {
                        **_IOPS,
                        "description": "the most write operations a second on this device",
                        "examples": [1000],
                    },
                    "readBytesSec": {
                        **_BYTES,
                        "description": "the most bytes read a second from this device",
                        "examples": [104857600],
                    },
                    "writeBytesSec": {
                        **_BYTES,
                        "description": "the most bytes written a second to this device",
                        "examples": [52428800],
                    },
                },
                "required": ["path"],
                "minProperties": 2,
                "additionalProperties": False,
            },
            "description": "a weight or limits on one host block device each",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"weight": 500},
        {"devices": [{"path": "/dev/vda", "readIopsSec": 2000, "writeBytesSec": 52428800}]},
    ],
}


def lower(spec: Spec, identity: Identity) -> Blkiotune | None:
    blkiotune = spec.get("blkiotune")
    if not blkiotune:
        return None
    return Blkiotune(
        weight=blkiotune.get("weight"),
        devices=tuple(
            BlkioDevice(
                path=device["path"],
                weight=device.get("weight"),
                **{field: device.get(key) for key, field in _LIMITS.items()},
            )
            for device in blkiotune.get("devices", ())
        ),
    )


def lift(blkiotune: Blkiotune | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if blkiotune is None:
        return None
    lifted: dict[str, Any] = {}
    if blkiotune.weight is not None:
        lifted["weight"] = blkiotune.weight
    devices = []
    for device in blkiotune.devices:
        entry: dict[str, Any] = {"path": device.path}
        if device.weight is not None:
            entry["weight"] = device.weight
        entry.update(
            {
                key: getattr(device, field)
                for key, field in _LIMITS.items()
                if getattr(device, field)
            }
        )
        devices.append(entry)
    if devices:
        lifted["devices"] = devices
    return lifted or None


def _devices_once(spec: Spec) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, device in enumerate(spec.get("blkiotune", {}).get("devices", ())):
        if device["path"] in seen:
            # libvirt at define: "duplicate blkio device path '/dev/sda'".
            where = ("spec", "blkiotune", "devices", index, "path")
            yield Finding(where, f"{device['path']} is tuned already")
        seen.add(device["path"])


def host_paths(blkiotune: Blkiotune | None) -> Iterator[tuple[str, str]]:
    # libvirt refuses to start the guest when the cgroup cannot name the device.
    for index, device in enumerate(blkiotune.devices if blkiotune else (), start=1):
        if device.path:
            yield (f"blkiotune device {index}", device.path)


FAMILY = Family(
    spec_field="blkiotune",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="blkiotune",
    lower=lower,
    lift=lift,
    checks=(_devices_once,),
    host_paths=host_paths,
)
