"""The JSON Schema of ``spec.disks`` (the disk family):
every word a disk takes, with what libvirt 9.0's RNG (domaincommon.rng) allows."""

from __future__ import annotations

from typing import Any

from vmspec.families.disk.policy import DEFAULT_BUS
from vmspec.families.disk.secrets import IOTUNE_FIELDS

IMAGE_FORMATS = ["raw", "qcow2"]
# What QEMU also opens: images brought from other hypervisors (VMware, VirtualBox, Virtual PC).
READ_FORMATS = [*IMAGE_FORMATS, "vmdk", "vdi", "vpc"]  # not vhdx: libvirt 9.0 has no word for it
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
    return {
        **_LIMIT,
        "minimum": minimum,
        "description": _iotune_description(key),
        "examples": [_iotune_example(key)],
    }


def _iotune_example(key: str) -> int:
    if key == "sizeIopsSec":
        return 4096
    if key.endswith("MaxLength"):
        return 60
    value = 104857600 if "Bytes" in key else 2000  # 100 MiB/s, 2000 requests/s
    return value * 3 if key.endswith("Max") else value


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
        "examples": ["/etc/vmspec/secrets/ceph-libvirt.key"],
    },
    "secretEnv": {
        "type": "string",
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "maxLength": 128,
        "description": "an environment variable holding the secret's value, as secretFile",
        "examples": ["DB_DISK_PASSPHRASE"],
    },
    "secretUsage": {
        "type": "string",
        "pattern": "^[^\\r\\n]+$",
        "maxLength": 256,
        "description": "a libvirt secret that exists already, by its usage name (virsh secret-list)",
        "examples": ["ceph-client-libvirt"],
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
        "pool": {
            "$ref": "#/$defs/name",
            "description": "the libvirt storage pool that holds the volume (a StoragePool of this repo or one the host has)",
            "examples": ["default", "images"],
        },
        "name": {
            **_VOLUME_NAME,
            "description": "a volume name without '/' on one line",
            "examples": ["web-01.qcow2", "db-data"],
        },
        "create": {
            "type": "object",
            "properties": {
                "capacity": {
                    "$ref": "#/$defs/size",
                    "description": "the new volume's size as the guest sees it",
                    "examples": ["20GiB", "100GiB"],
                },
                "format": {
                    "enum": IMAGE_FORMATS,
                    "description": "the new volume's image format; default: the disk's format (qcow2 for a name ending in .qcow2, raw otherwise)",
                },
                "backingStore": {
                    **_VOLUME_NAME,
                    "description": "the name of a volume in the same pool, on one line",
                    "examples": ["debian-12-base.qcow2"],
                },
            },
            "additionalProperties": False,
            "required": ["capacity"],
            "description": "apply creates the volume in the pool when it does not exist yet (virsh vol-create), and never changes or deletes one that exists",
        },
    },
    "additionalProperties": False,
    "required": ["pool", "name"],
    "description": "the image is a volume of a libvirt storage pool (<source pool= volume=>), by the pool's name and the volume's",
}
VOLUME["properties"]["mode"] = {
    "enum": ["host", "direct"],
    "description": "a volume of an iSCSI pool: host reaches the LUN through the host's own initiator (a block device), direct has QEMU log in itself; default: host",
}

NETWORK = {
    "type": "object",
    "properties": {
        "protocol": {
            "enum": NETWORK_PROTOCOLS,
            "description": "how QEMU reaches the image over the network: Ceph RBD, NBD, iSCSI, HTTP(S), GlusterFS or Sheepdog (libvirt's <source protocol>)",
        },
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024,
            "description": "the image: POOL/IMAGE (rbd), VOLUME/PATH (gluster), an IQN/LUN (iscsi), a path (http), an export (nbd; optional there: the server's default export)",
        },
        "tlsHostname": {
            "type": "string",
            "pattern": "^[A-Za-z0-9.-]{1,253}$",
            "description": "nbd only: the name the server's certificate must carry, where it is not the host's",
        },
        "initiator": {
            "type": "string",
            "pattern": "^iqn\\.[0-9]{4}-[0-9]{2}\\.[A-Za-z0-9.:-]{1,200}$",
            "description": "iscsi only: the initiator name (IQN) QEMU logs in with, as the target's ACL expects; default: QEMU's own",
            "examples": ["iqn.2024-01.net.example:web-01"],
        },
        "tls": {
            "type": "boolean",
            "description": "nbd only: TLS to the server, with the host's certificates from qemu.conf (nbd_tls_x509_cert_dir); default: qemu.conf's nbd_tls",
        },
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
                    "port": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 65535,
                        "description": "the server's TCP port; default: the protocol's own (6789 rbd, 10809 nbd, 3260 iscsi, 80 http, 443 https, 24007 gluster)",
                    },
                    "socket": {
                        "$ref": "#/$defs/absolutePath",
                        "description": "nbd and gluster: a unix socket of the server on this host, instead of name and port",
                    },
                },
                "additionalProperties": False,
            },
            "description": "the servers to reach the image on (<host> elements), a DNS name or address with a port, or a unix socket; several only for rbd and gluster",
        },
    },
    "additionalProperties": False,
    "required": ["protocol", "hosts"],
    "description": "the image is on a network server QEMU talks to itself (<disk type='network'>), without the host mounting it",
}

SECLABEL = {
    "type": "object",
    "properties": {
        "model": {
            "enum": ["selinux", "apparmor", "dac"],
            "description": "the security driver this label is for (<seclabel model>): selinux, apparmor, or dac (the file's owner)",
        },
        "relabel": {
            "const": False,
            "description": "false: leave the image's label as it is (an image shared over NFS)",
        },
        "label": {
            "type": "string",
            "pattern": "^[!-~]{1,1024}$",
            "description": "the label to give the image (selinux: user:role:type:level; dac: +UID:+GID)",
            "examples": ["system_u:object_r:svirt_image_t:s0:c10,c20", "+107:+107"],
        },
    },
    "additionalProperties": False,
    "required": ["model"],
}
SECLABELS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 3,
    "items": SECLABEL,
    "description": "a security driver's word for this image: leave its label alone, or give it one",
}

# How deep a backing chain the spec states (libvirt's own tests go twelve deep): JSON Schema
# could recurse, but the property tests' generator cannot draw recursive schemas.
BACKING_CHAIN_DEPTH = 16


def backing_store_schema(depth: int) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "file": {
            "$ref": "#/$defs/absolutePath",
            "description": "the backing image is this file",
            "examples": ["/var/lib/libvirt/images/debian-12-base.qcow2"],
        },
        "block": {
            "$ref": "#/$defs/absolutePath",
            "description": "the backing image is this block device",
            "examples": ["/dev/vg_vms/base"],
        },
        "format": {
            "enum": READ_FORMATS,
            "description": "the backing image's format (<format type>); default: qcow2 for a file ending in .qcow2, raw otherwise (libvirt never probes it)",
        },
        # The disk's own word, by reference: written out at each level, it made the
        # committed schema half as large again.
        "seclabels": {"$ref": "#/$defs/machineSpec/properties/disks/items/properties/seclabels"},
    }
    if depth > 1:
        properties["backingStore"] = backing_store_schema(depth - 1)
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "description": "the image below this one, a file or block device, and the one below that, ...; {}: none",
    }


DISK = {
    "type": "object",
    "properties": {
        "target": {
            "type": "string",
            "pattern": "^(vd|sd|hd|fd)[a-z]{1,2}$",
            # libvirt orders the disks of a bus by it, and takes any name on any bus (the
            # guest names the device itself); the validator quotes the description.
            "description": "a device name such as vda, sdb, hdc or fda",
        },
        "bus": {
            "enum": ["virtio", "sata", "scsi", "ide", "usb", "fdc"],
            "description": f"default: {DEFAULT_BUS}, fdc for a floppy",
        },
        "device": {
            "enum": ["disk", "cdrom", "floppy", "lun"],
            "description": "what the guest sees; a cdrom is read-only, a cdrom or floppy may be empty (no source); a lun passes a host's SCSI LUN through (block or iscsi, on scsi or virtio)",
        },
        "model": {
            "enum": ["virtio", "virtio-transitional", "virtio-non-transitional"],
            "description": "virtio only: transitional also works with legacy virtio drivers (RHEL 6), non-transitional only with virtio 1.0",
        },
        "snapshot": {
            "enum": ["no", "internal", "external", "manual"],
            "description": "what a snapshot of the domain does with this disk by default: leave it out (no), a snapshot inside a qcow2 image, a new overlay image (external), or the user's own storage snapshot (manual)",
        },
        "tray": {
            "enum": ["open", "closed"],
            "description": "a cdrom's or floppy's tray: open, the guest sees no medium; default: closed",
        },
        "reservations": {
            "type": "object",
            "properties": {
                "managed": {
                    "const": True,
                    "description": "libvirt runs a qemu-pr-helper for this guest",
                },
                "socket": {
                    "$ref": "#/$defs/absolutePath",
                    "description": "the socket of a qemu-pr-helper that runs already",
                    "examples": ["/run/qemu-pr-helper.sock"],
                },
            },
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "description": "a lun of a block device only: SCSI persistent reservations (a cluster's fencing) go through qemu-pr-helper, since QEMU itself may not send them",
        },
        "rawio": {
            "type": "boolean",
            "description": "a lun only: the guest may send any SCSI command (CAP_SYS_RAWIO); default: false",
        },
        "file": {
            "$ref": "#/$defs/absolutePath",
            "description": "the image is this file on the host (<disk type='file'>)",
            "examples": ["/var/lib/libvirt/images/web-01.qcow2"],
        },
        "block": {
            "$ref": "#/$defs/absolutePath",
            "description": "the image is this block device of the host (<disk type='block'>)",
            "examples": ["/dev/vg_vms/web-01", "/dev/disk/by-id/wwn-0x5000c50015ea71ac"],
        },
        "volume": VOLUME,
        "network": NETWORK,
        "format": {
            "enum": READ_FORMATS,
            "description": "the image's format (<driver type>): vmdk, vdi and vpc are images of other hypervisors QEMU reads; default: qcow2 for a file or volume ending in .qcow2, raw otherwise (libvirt never probes it)",
        },
        "cache": {
            "enum": ["none", "writethrough", "writeback", "directsync", "unsafe"],
            "description": "the host's page cache for the image (<driver cache>): none bypasses it (O_DIRECT, needed for live migration of local images), writethrough and directsync write through, writeback and unsafe cache writes (unsafe ignores the guest's flushes); default: QEMU's, writeback",
        },
        "io": {
            "enum": ["native", "threads", "io_uring"],
            "description": "how QEMU submits the I/O (<driver io>): Linux AIO (native, with cache none or directsync), a thread pool (threads) or io_uring; default: QEMU's, threads",
        },
        "errorPolicy": {
            "enum": ["stop", "report", "ignore", "enospace"],
            "description": "what a write error does: pause the guest (stop, QEMU's default; enospace: only when the host's storage is full), or report it to the guest, or ignore it",
        },
        "rerrorPolicy": {
            "enum": ["stop", "report", "ignore"],
            "description": "the same for read errors; default: errorPolicy's",
        },
        "eventIdx": {
            "type": "boolean",
            "description": "virtio only: the virtio event index feature (fewer interrupts); default: QEMU's, on",
        },
        "copyOnRead": {
            "type": "boolean",
            "description": "copy what the guest reads from a backing image into the top image",
        },
        "discard": {
            "enum": ["unmap", "ignore"],
            "description": "what the guest's discard (TRIM) requests do (<driver discard>): free the space in the image (unmap) or nothing (ignore); default: ignore",
        },
        "detectZeroes": {
            "enum": ["off", "on", "unmap"],
            "description": "QEMU notices writes of zeroes and writes them as such (unmap: frees the space too, with discard: unmap)",
        },
        "queues": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1024,
            "description": "virtio only: request queues (one per vCPU is QEMU's default)",
        },
        "queueSize": {
            "type": "integer",
            "minimum": 2,
            "maximum": 1024,
            "description": "virtio only: the size of each queue, a power of two",
        },
        "startupPolicy": {
            "enum": ["mandatory", "requisite", "optional"],
            "description": "when the file or volume is missing: refuse to start (mandatory, the default), drop the disk at boot only (requisite: cdrom and floppy), or always drop it (optional)",
        },
        "rotationRate": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65534,
            "description": "ide, sata and scsi: what the guest reads as the disk's RPM; 1 says solid state",
        },
        "readonly": {
            "type": "boolean",
            "description": "the guest may only read the disk (<readonly/>); a cdrom always is; default: false",
        },
        "seclabels": SECLABELS,
        "shareable": {
            "type": "boolean",
            "description": "several guests may use the image at once (a cluster's disk): libvirt does not lock it nor relabel it for this guest alone",
        },
        "transient": {
            "oneOf": [
                {"const": True},
                {
                    "type": "object",
                    "properties": {
                        "shareBacking": {
                            "type": "boolean",
                            "description": "true: the overlay is put on top of a backing image other guests may share at the same time (<transient shareBacking='yes'/>)",
                        }
                    },
                    "additionalProperties": False,
                    "required": ["shareBacking"],
                },
            ],
            "description": "true: the guest's writes go to an overlay dropped when it stops; {shareBacking: true}: several guests share the image under their overlays",
        },
        "boot": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "description": "the disk's place in the boot order (1 first); not together with spec.boot",
        },
        "serial": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.+-]+$",
            "maxLength": 36,
            "description": "a serial of letters, digits and '_.+-'",
        },
        "wwn": {
            "type": "string",
            "pattern": "^(0x)?[0-9a-fA-F]{16}$",
            "description": "ide and scsi: the disk's World Wide Name, 16 hex digits",
        },
        "vendor": {
            "type": "string",
            "pattern": "^[ -~]{1,8}$",
            "description": "scsi only: the vendor the guest reads, at most 8 printable ASCII characters",
        },
        "product": {
            "type": "string",
            "pattern": "^[ -~]{1,16}$",
            "description": "scsi only: the product the guest reads, at most 16 printable ASCII characters",
        },
        "backingStore": {
            **backing_store_schema(BACKING_CHAIN_DEPTH),
            "description": "the image below this one (qcow2 or vmdk), a file or block device, and the one below that, ...; {}: none, whatever the image's header says",
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
    "maxItems": 256,
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
        [
            {"target": "sda", "device": "cdrom", "bus": "sata", "boot": 2},
            {"target": "fda", "device": "floppy", "boot": 1},
        ],
        [
            {
                "target": "vda",
                "model": "virtio-non-transitional",
                "network": {
                    "protocol": "nbd",
                    "name": "lab",
                    "tls": True,
                    "tlsHostname": "images.example.net",
                    "hosts": [{"name": "nbd.example.net", "port": 10809}],
                },
                "boot": 1,
                "errorPolicy": "report",
                "rerrorPolicy": "ignore",
                "eventIdx": True,
                "copyOnRead": True,
                "detectZeroes": "on",
                "queues": 2,
                "queueSize": 256,
            },
            {
                "target": "sda",
                "bus": "scsi",
                "network": {
                    "protocol": "nbd",
                    "hosts": [{"socket": "/run/vmspec-example/nbd.sock"}],
                },
                "shareable": True,
                "rotationRate": 1,
                "wwn": "5000c50015ea71ac",
                "vendor": "VMSPEC",
                "product": "EXAMPLE DISK",
            },
        ],
    ],
}
