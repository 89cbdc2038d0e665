"""The JSON Schema of ``spec.disks`` (the disk family, ``disk.py``), apart for its size:
every word a disk takes, with what libvirt 9.0's RNG (domaincommon.rng) allows."""

from __future__ import annotations

from typing import Any

from vmspec.families.disk_secrets import IOTUNE_FIELDS

IMAGE_FORMATS = ["raw", "qcow2"]
NETWORK_PROTOCOLS = ["rbd", "nbd", "iscsi", "http", "https", "gluster", "sheepdog"]
# libvirt's volName: anything but '/' (and, for vmspec's YAML, on one line).
_VOLUME_NAME = {"type": "string", "pattern": "^[^/\\r\\n]+$", "maxLength": 255}
_LIMIT = {"type": "integer", "minimum": 0, "maximum": 10**15}


def _iotune_description(key: str) -> str:
    if key == "sizeIopsSec":
        return "the request size, in bytes, that counts as one request for the iops limits (larger ones count as several)"
    if key.endswith("MaxLength"):
        return "how many seconds the burst of the matching *Max may last"
    if key.endswith("Max"):
        return "a burst the guest may reach above the matching limit, for *MaxLength seconds (default 1)"
    what = "bytes" if "Bytes" in key else "requests"
    if key.startswith("total"):
        return f"total {what} per second at most (not together with read/write)"
    direction = "read" if key.startswith("read") else "write"
    return f"{direction} {what} per second at most (not together with total)"


def _iotune_property(key: str) -> dict[str, Any]:
    if key == "groupName":
        return {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.+:-]+$",
            "maxLength": 64,
            "description": "disks of one VM with the same group share one set of limits (QEMU's throttle group)",
        }
    minimum = 1 if key.endswith("MaxLength") else 0
    return {**_LIMIT, "minimum": minimum, "description": _iotune_description(key)}


IOTUNE = {
    "type": "object",
    "description": "I/O limits of the disk (formatdomain 'iotune'): bytes or requests per second, in total or read and write apart, with bursts; 0 is no limit",
    "properties": {key: _iotune_property(key) for key in IOTUNE_FIELDS},
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"totalBytesSec": 104857600, "totalIopsSec": 2000},
        {
            "readIopsSec": 4000,
            "writeIopsSec": 1000,
            "writeIopsSecMax": 3000,
            "writeIopsSecMaxLength": 60,
            "groupName": "data",
        },
    ],
}

# Where a secret's value comes from; the same four words for auth and encryption.
SECRET_SOURCE_PROPERTIES = {
    "secretFile": {
        "$ref": "#/$defs/absolutePath",
        "description": "a file holding the secret's value: apply defines a libvirt secret with it (uuid derived from the VM's uuid and the disk's target); never compiled into XML, never printed",
    },
    "secretEnv": {
        "type": "string",
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "maxLength": 128,
        "description": "an environment variable holding the secret's value, as secretFile",
    },
    "secretUsage": {
        "type": "string",
        "pattern": "^[^\\r\\n]+$",
        "maxLength": 256,
        "description": "a libvirt secret that exists already, by its usage name (virsh secret-list)",
    },
    "secretUuid": {
        "$ref": "#/$defs/uuid",
        "description": "a libvirt secret that exists already, by its uuid",
    },
}

AUTH = {
    "type": "object",
    "description": "the credentials of an rbd or iscsi disk: the user name and exactly one secret source (a file or environment variable vmspec puts into a libvirt secret, or a libvirt secret that exists)",
    "properties": {
        "username": {
            "type": "string",
            "pattern": "^[a-zA-Z0-9_+-]+$",
            "minLength": 1,
            "maxLength": 256,
            "description": "the user (Ceph: without 'client.'): letters, digits, '_', '+' and '-', as libvirt's schema (genericName) takes it",
        },
        **SECRET_SOURCE_PROPERTIES,
    },
    "required": ["username"],
    "additionalProperties": False,
    "examples": [
        {"username": "libvirt", "secretFile": "/etc/vmspec/secrets/ceph-libvirt.key"},
        {"username": "libvirt", "secretUsage": "ceph-client-libvirt"},
    ],
}

ENCRYPTION = {
    "type": "object",
    "description": "a LUKS-encrypted image QEMU opens with a passphrase: exactly one secret source (a file or environment variable vmspec puts into a libvirt secret, or a libvirt secret that exists)",
    "properties": SECRET_SOURCE_PROPERTIES,
    "additionalProperties": False,
    "examples": [
        {"secretEnv": "DB_DISK_PASSPHRASE"},
        {"secretUuid": "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"},
    ],
}

VOLUME = {
    "type": "object",
    "properties": {
        "pool": {"$ref": "#/$defs/name"},
        "name": {**_VOLUME_NAME, "description": "a volume name without '/' on one line"},
        "create": {
            "type": "object",
            "properties": {
                "capacity": {"$ref": "#/$defs/size"},
                "format": {"enum": IMAGE_FORMATS},
                "backingStore": {
                    **_VOLUME_NAME,
                    "description": "the name of a volume in the same pool, on one line",
                },
            },
            "additionalProperties": False,
            "required": ["capacity"],
        },
    },
    "additionalProperties": False,
    "required": ["pool", "name"],
}

NETWORK = {
    "type": "object",
    "properties": {
        "protocol": {"enum": NETWORK_PROTOCOLS},
        "name": {"type": "string", "minLength": 1, "maxLength": 1024},
        "hosts": {
            "type": "array",
            "minItems": 1,
            "maxItems": 16,
            "items": {
                "type": "object",
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^([A-Za-z0-9.-]+|[0-9A-Fa-f:.]+)$",
                        "maxLength": 253,
                        "description": "a DNS name or an IP address",
                    },
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                },
                "additionalProperties": False,
                "required": ["name"],
            },
        },
    },
    "additionalProperties": False,
    "required": ["protocol", "name", "hosts"],
}

DISK = {
    "type": "object",
    "properties": {
        "target": {
            "type": "string",
            "pattern": "^(vd|sd|hd)[a-z]{1,2}$",
            "description": "a device name such as vda, sdb or hdc",
        },
        "bus": {"enum": ["virtio", "sata", "scsi", "ide", "usb"]},
        "device": {"enum": ["disk", "cdrom"]},
        "file": {"$ref": "#/$defs/absolutePath"},
        "block": {"$ref": "#/$defs/absolutePath"},
        "volume": VOLUME,
        "network": NETWORK,
        "format": {"enum": IMAGE_FORMATS},
        "cache": {"enum": ["none", "writethrough", "writeback", "directsync", "unsafe"]},
        "io": {"enum": ["native", "threads", "io_uring"]},
        "discard": {"enum": ["unmap", "ignore"]},
        "readonly": {"type": "boolean"},
        "serial": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.+-]+$",
            "maxLength": 36,
            "description": "a serial of letters, digits and '_.+-'",
        },
        "backingStore": {
            "type": "object",
            "properties": {
                "file": {"$ref": "#/$defs/absolutePath"},
                "format": {"enum": IMAGE_FORMATS},
            },
            "additionalProperties": False,
            "required": ["file"],
        },
        "iotune": IOTUNE,
        "auth": AUTH,
        "encryption": ENCRYPTION,
    },
    "additionalProperties": False,
    "required": ["target"],
}

SCHEMA = {
    "type": "array",
    "description": "the disks, cdroms and their images, in the order the guest sees them (formatdomain 'Hard drives, floppy disks, CDROMs')",
    "maxItems": 64,
    "items": DISK,
    "examples": [
        [{"target": "sda", "device": "cdrom", "bus": "sata"}],
        [
            {
                "target": "vda",
                "file": "/var/lib/libvirt/images/vmspec-example.qcow2",
                "cache": "none",
                "io": "native",
                "discard": "unmap",
                "serial": "data-01",
                "iotune": {"totalIopsSec": 2000},
            }
        ],
    ],
}
