"""The disk family's semantic checks: rules across a disk's fields (and libvirt's refusals)
that JSON Schema cannot state, each naming what to change."""

from __future__ import annotations

from collections.abc import Iterator

from vmspec.addresses import host_name_findings
from vmspec.families.disk import secrets
from vmspec.families.disk.policy import (
    FLOPPY_BUS,
    backing_format,
    created_format,
    default_bus,
    disk_format,
)
from vmspec.families.disk.schema import IMAGE_FORMATS
from vmspec.families.family import Spec
from vmspec.problems import FieldPath, Finding
from vmspec.units import size_in_kib

SOURCES = ("file", "block", "volume", "network")
# Devices a guest may see without a medium in them.
_REMOVABLE = ("cdrom", "floppy")
# Buses whose devices report at most 20 bytes of serial (virtio-blk and ATA IDENTIFY):
# a longer serial is cut, and /dev/disk/by-id would not show what the spec says.
_SHORT_SERIAL_BUSES = ("virtio", "sata", "ide")


def _each_disk(spec: Spec) -> Iterator[tuple[FieldPath, Spec]]:
    for index, disk in enumerate(spec.get("disks", [])):
        yield ("spec", "disks", index), disk


def _disks(spec: Spec) -> Iterator[Finding]:
    seen_targets: dict[str, int] = {}
    for where, disk in _each_disk(spec):
        yield from _source_count(disk, where)
        yield from _iotune(disk, where)
        yield from _secret_sources(disk, where)
        target = disk["target"]
        if target in seen_targets:
            message = f"target {target} is already used by disks[{seen_targets[target]}]"
            yield Finding((*where, "target"), message)
        seen_targets.setdefault(target, where[2])
        # libvirt takes any target name on any bus (a virtio disk named hda is the
        # guest's vda): the name orders the disks of a bus, and is not checked here.
        bus = disk.get("bus", default_bus(disk))
        device = disk.get("device", "disk")
        if device == "cdrom" and bus == "virtio":
            yield Finding(
                (*where, "bus"), "a cdrom cannot sit on the virtio bus: use sata, scsi or ide"
            )
        if disk.get("io") == "native" and disk.get("cache", "none") not in ("none", "directsync"):
            message = "io native needs cache none or directsync (QEMU refuses native AIO through the page cache)"
            yield Finding((*where, "io"), message)
        serial = disk.get("serial")
        if serial is not None and bus in _SHORT_SERIAL_BUSES and len(serial) > 20:
            message = (
                f"a serial on bus {bus} holds at most 20 characters; this one has {len(serial)}"
            )
            yield Finding((*where, "serial"), message)
        yield from _backing_chain(disk, where)


# The image formats that name a backing image in their header.
_LAYERED_FORMATS = ("qcow2", "vmdk")


def _backing_chain(disk: Spec, where: FieldPath) -> Iterator[Finding]:
    image_format, backing = disk_format(disk), disk.get("backingStore")
    while backing:  # {} ends the chain on any image
        where = (*where, "backingStore")
        if image_format not in _LAYERED_FORMATS:
            message = "only a qcow2 image can have a backingStore: set format: qcow2"
            yield Finding(where, message)
        if ("file" in backing) == ("block" in backing):
            yield Finding(where, "a backing image is a file or a block device, one of the two")
        yield from _seclabel_list(backing.get("seclabels", []), where)
        image_format, backing = backing_format(backing), backing.get("backingStore")


def _source_count(disk: Spec, where: FieldPath) -> Iterator[Finding]:
    sources = [name for name in SOURCES if name in disk]
    if len(sources) > 1:
        yield Finding(
            (*where, sources[1]),
            f"a disk has exactly one source, but sets both {sources[0]} and {sources[1]}",
        )
    elif not sources and disk.get("device", "disk") not in _REMOVABLE:
        # An empty cdrom tray or floppy drive is fine; a disk without a source is not.
        yield Finding(where, "a disk needs a source: one of file, block, volume or network")


# QEMU's throttle limits come in three kinds; each kind is a total, or read and write.
_IOTUNE_KINDS = (
    "BytesSec",
    "IopsSec",
    "BytesSecMax",
    "IopsSecMax",
    "BytesSecMaxLength",
    "IopsSecMaxLength",
)


def _iotune(disk: Spec, where: FieldPath) -> Iterator[Finding]:
    limits = disk.get("iotune")
    if not limits:
        return
    where = (*where, "iotune")
    for kind in _IOTUNE_KINDS:
        apart = [
            f"{direction}{kind}"
            for direction in ("read", "write")
            if f"{direction}{kind}" in limits
        ]
        if f"total{kind}" in limits and apart:
            # libvirt refuses the definition: "total and read/write ... cannot be set at the same time".
            yield Finding(
                (*where, apart[0]),
                f"total{kind} limits reads and writes together: leave it out, or {apart[0]}",
            )
    for key, value in limits.items():
        if key.endswith("MaxLength") and key.removesuffix("Length") not in limits:
            # QEMU refuses to start: a burst's length needs the burst.
            yield Finding(
                (*where, key), f"{key} is how long {key.removesuffix('Length')} lasts: set that too"
            )
        elif key.endswith("Max") and value:
            base = limits.get(key.removesuffix("Max"), 0)
            if not base:
                # QEMU refuses to start: "bps_max/iops_max require corresponding bps/iops values".
                yield Finding(
                    (*where, key), f"{key} is a burst above {key.removesuffix('Max')}: set that too"
                )
            elif value < base:
                # QEMU refuses to start: "bps_max/iops_max cannot be lower than bps/iops".
                yield Finding(
                    (*where, key),
                    f"{key} ({value}) is a burst above {key.removesuffix('Max')} ({base}), so it cannot be lower",
                )


def _secret_sources(disk: Spec, where: FieldPath) -> Iterator[Finding]:
    sources_named = secrets.SECRET_SOURCES
    listed = ", ".join(sources_named[:-1]) + f" or {sources_named[-1]}"
    for purpose in ("auth", "encryption"):
        section = disk.get(purpose)
        if section is None:
            continue
        sources = [key for key in sources_named if key in section]
        if not sources:
            yield Finding((*where, purpose), f"{purpose} needs its secret: one of {listed}")
        elif len(sources) > 1:
            message = f"{purpose} takes one secret source, but sets {sources[0]} and {sources[1]}"
            yield Finding((*where, purpose, sources[1]), message)
    protocol = disk.get("network", {}).get("protocol")
    if "auth" in disk and protocol not in secrets.AUTH_SECRET_TYPES:
        what = f"a {protocol} disk" if protocol else "a disk that is not on the network"
        protocols = " and ".join(secrets.AUTH_SECRET_TYPES)
        yield Finding(
            (*where, "auth"), f"auth is for {protocols} disks; libvirt takes none on {what}"
        )


# Protocols whose source name is POOL/IMAGE (rbd) or VOLUME/PATH (gluster), and the ones
# libvirt's schema gives a single <host>.
_NAME_WITH_POOL = ("rbd", "gluster")
_SINGLE_HOST = ("nbd", "iscsi", "http", "https", "sheepdog")


def _network_disks(spec: Spec) -> Iterator[Finding]:
    for disk_at, disk in _each_disk(spec):
        network = disk.get("network")
        if network is None:
            continue
        where: FieldPath = (*disk_at, "network")
        protocol = network["protocol"]
        yield from _network_words(network, where)
        if protocol in _NAME_WITH_POOL and "/" not in network.get("name", "/").strip("/"):
            shape = "POOL/IMAGE" if protocol == "rbd" else "VOLUME/PATH"
            yield Finding((*where, "name"), f"a {protocol} name is {shape}, such as vms/web-01")
        if protocol in _SINGLE_HOST and len(network["hosts"]) > 1:
            yield Finding(
                (*where, "hosts"), f"{protocol} takes one host, not {len(network['hosts'])}"
            )
        for host_index, host in enumerate(network["hosts"]):
            yield from _host_words(host, protocol, (*where, "hosts", host_index))


# Protocols whose server may listen on a unix socket (libvirt's transport='unix').
_UNIX_SOCKET_PROTOCOLS = ("nbd", "gluster")


def _network_words(network: Spec, where: FieldPath) -> Iterator[Finding]:
    protocol = network["protocol"]
    if "name" not in network and protocol != "nbd":
        # Only an NBD server has a default export; every other protocol names the image.
        yield Finding(where, f"a {protocol} disk needs the image's name")
    for word in ("tls", "tlsHostname"):
        if word in network and protocol != "nbd":
            message = f"{word} is nbd's (with qemu.conf's certificates), not {protocol}'s"
            yield Finding((*where, word), message)
    if "initiator" in network and protocol != "iscsi":
        yield Finding((*where, "initiator"), f"an initiator is iscsi's, not {protocol}'s")


def _host_words(host: Spec, protocol: str, where: FieldPath) -> Iterator[Finding]:
    if "socket" in host:
        if protocol not in _UNIX_SOCKET_PROTOCOLS:
            protocols = " and ".join(_UNIX_SOCKET_PROTOCOLS)
            yield Finding((*where, "socket"), f"only {protocols} servers listen on a socket here")
        for key in ("name", "port"):
            if key in host:
                yield Finding((*where, key), f"a host is a socket or a {key}, not both")
    elif "name" not in host:
        yield Finding(where, "a host needs its name (and port), or the socket of a local server")
    else:
        yield from host_name_findings(host["name"], (*where, "name"))


# The formats vmspec creates volumes in (the others it only reads).
CREATABLE_FORMATS = IMAGE_FORMATS
# libvirt keeps volume sizes in bytes as an unsigned 64-bit number; 1 MiB is the least
# any image format can hold a guest's boot sector and partition table in.
MAX_VOLUME_KIB = 2**64 // 1024 - 1
MIN_VOLUME_KIB = 1024


def _volume_creation(spec: Spec) -> Iterator[Finding]:
    for disk_at, disk in _each_disk(spec):
        volume = disk.get("volume", {})
        if volume.get("name") in (".", ".."):  # libvirt's volName excludes both
            yield Finding((*disk_at, "volume", "name"), f"{volume['name']!r} is not a volume name")
        create = volume.get("create")
        if create is None:
            continue
        where: FieldPath = (*disk_at, "volume", "create")
        if create.get("backingStore") in (".", ".."):
            yield Finding(
                (*where, "backingStore"), f"{create['backingStore']!r} is not a volume name"
            )
        try:
            kib = size_in_kib(create["capacity"])
        except ValueError as error:
            yield Finding((*where, "capacity"), str(error))
        else:
            if not MIN_VOLUME_KIB <= kib <= MAX_VOLUME_KIB:
                message = (
                    f"{create['capacity']} is not a volume size libvirt can hold (1MiB up to 16EiB)"
                )
                yield Finding((*where, "capacity"), message)
        volume_format = created_format(disk)
        if volume_format not in CREATABLE_FORMATS:
            message = f"vmspec creates raw or qcow2 volumes; this disk reads {volume_format}"
            yield Finding((*where, "format"), message)
        if "backingStore" in create and volume_format != "qcow2":
            yield Finding(
                (*where, "backingStore"),
                "only a qcow2 volume can have a backingStore: set format: qcow2",
            )
        if disk.get("format") and create.get("format") and disk["format"] != create["format"]:
            message = f"the volume is created as {create['format']} but the disk reads it as {disk['format']}"
            yield Finding((*where, "format"), message)
        if create.get("backingStore") == disk["volume"]["name"]:
            yield Finding((*where, "backingStore"), "a volume cannot be its own backingStore")


# What QEMU has on one bus only, as libvirt 9.0 refuses it elsewhere (its messages quoted).
_BUS_ONLY: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("rotationRate", ("ide", "sata", "scsi"), "rotation rate is only valid for SCSI/IDE/SATA bus"),
    ("wwn", ("ide", "scsi"), "Only ide and scsi disk support wwn"),
    ("vendor", ("scsi",), "Only scsi disk supports vendor and product"),
    ("product", ("scsi",), "Only scsi disk supports vendor and product"),
    ("queues", ("virtio",), "queues ... is only supported by virtio-blk"),
    ("eventIdx", ("virtio",), "disk event_idx mode supported only for virtio bus"),
    # libvirt takes it elsewhere and QEMU has nowhere to put it: it would be lost.
    ("queueSize", ("virtio",), "only virtio-blk has queues"),
    ("model", ("virtio",), "transitional or not is a virtio device's"),
)


def _disk_words(spec: Spec) -> Iterator[Finding]:
    boot_orders: dict[int, int] = {}
    for where, disk in _each_disk(spec):
        device = disk.get("device", "disk")
        bus = disk.get("bus", default_bus(disk))
        if (device == "floppy") != (bus == FLOPPY_BUS):
            # libvirt: "Invalid bus type 'sata' for floppy disk", "... 'fdc' for disk".
            message = "a floppy sits on the fdc bus, and the fdc bus holds floppies only"
            yield Finding((*where, "bus" if "bus" in disk else "device"), message)
        for word, buses, why in _BUS_ONLY:
            if word in disk and bus not in buses:
                message = f"{word} is for bus {' or '.join(buses)}, not {bus} (libvirt: {why})"
                yield Finding((*where, word), message)
        queue_size = disk.get("queueSize")
        if queue_size is not None and queue_size & (queue_size - 1):
            yield Finding((*where, "queueSize"), f"queueSize is a power of two, not {queue_size}")
        yield from _startup_policy(disk, where)
        yield from _sharing(disk, where)
        yield from _lun(disk, bus, where)
        if "tray" in disk and device not in _REMOVABLE:
            # libvirt: "tray is only valid for cdrom and floppy".
            yield Finding((*where, "tray"), "a tray is a cdrom's or a floppy's")
        yield from _seclabels(disk, where)
        if "boot" in disk:
            if "boot" in spec:
                message = "a disk's boot order and spec.boot exclude each other (libvirt refuses both): remove one"
                yield Finding((*where, "boot"), message)
            order = disk["boot"]
            if order in boot_orders:
                message = f"boot order {order} is disks[{boot_orders[order]}]'s already"
                yield Finding((*where, "boot"), message)
            boot_orders.setdefault(order, where[2])


def _lun(disk: Spec, bus: str, where: FieldPath) -> Iterator[Finding]:
    if disk.get("device") != "lun":
        # libvirt: "rawio can be used only with device='lun'", "<reservations/> allowed
        # only for lun devices".
        for word in ("rawio", "reservations"):
            if word in disk:
                yield Finding((*where, word), f"{word} is a lun's: set device: lun")
        return
    if "reservations" in disk and "block" not in disk:
        # libvirt's schema takes <reservations> in a block device's <source> only.
        yield Finding((*where, "reservations"), "reservations are a block device's")
    iscsi = disk.get("network", {}).get("protocol") == "iscsi"
    if "block" not in disk and not iscsi:
        # libvirt: "disk device='lun' is only valid for block type disk source".
        yield Finding((*where, "device"), "a lun is a host's SCSI device: a block or iscsi source")
    if bus not in ("scsi", "virtio"):
        # libvirt: "disk device='lun' is not supported for bus='sata'".
        yield Finding((*where, "bus"), f"a lun sits on bus scsi or virtio, not {bus}")
    if disk_format(disk) != "raw":
        # libvirt: "disk device 'lun' must use 'raw' format": the guest's SCSI commands
        # go to the device itself.
        yield Finding((*where, "format"), "a lun is the device itself: format raw")


def _seclabels(disk: Spec, where: FieldPath) -> Iterator[Finding]:
    labels = disk.get("seclabels", [])
    if labels and not any(source in disk for source in ("file", "block", "volume")):
        yield Finding((*where, "seclabels"), "seclabels are a file's, block device's or volume's")
    yield from _seclabel_list(labels, where)


def _seclabel_list(labels: list[Spec], where: FieldPath) -> Iterator[Finding]:
    models: dict[str, int] = {}
    for index, label in enumerate(labels):
        at = (*where, "seclabels", index)
        if ("label" in label) == ("relabel" in label):
            # libvirt's schema: a device's seclabel is relabel='no', or a label.
            yield Finding(at, "a seclabel is relabel: false or a label, one of the two")
        if label["model"] in models:
            message = f"seclabels[{models[label['model']]}] is {label['model']}'s already"
            yield Finding((*at, "model"), message)
        models.setdefault(label["model"], index)


def _startup_policy(disk: Spec, where: FieldPath) -> Iterator[Finding]:
    policy = disk.get("startupPolicy")
    if policy is None:
        return
    if not any(source in disk for source in ("file", "block", "volume")):
        yield Finding((*where, "startupPolicy"), "startupPolicy is for a file, block or volume")
    elif policy == "requisite" and disk.get("device", "disk") not in _REMOVABLE:
        # libvirt: "disk startupPolicy 'requisite' is allowed only for cdrom or floppy".
        message = "requisite is for a cdrom or floppy (dropped at boot only); use optional"
        yield Finding((*where, "startupPolicy"), message)


def _sharing(disk: Spec, where: FieldPath) -> Iterator[Finding]:
    writable = not disk.get("readonly", False) and disk.get("device", "disk") == "disk"
    if disk.get("shareable") and writable and disk_format(disk) != "raw":
        # libvirt: "shared access ... requires use of supported storage format": two
        # writers would corrupt qcow2's own metadata.
        yield Finding((*where, "shareable"), "a writable shareable disk must be raw")
    if "transient" not in disk:
        return
    # libvirt: "transient disk supported only with 'file' type", "must not be read-only".
    if "file" not in disk or not writable or disk.get("shareable"):
        message = (
            "a transient disk is a writable, unshared disk of a file (its overlay sits beside it)"
        )
        yield Finding((*where, "transient"), message)


CHECKS = (_disks, _disk_words, _volume_creation, _network_disks)
