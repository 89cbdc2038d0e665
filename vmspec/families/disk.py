"""``<disk>``: hard drives and cdroms, their images (a file, a block device, a pool's
volume, a network image) and how QEMU reaches them (formatdomain "Hard drives, floppy
disks, CDROMs").

The family is four modules: this one (lowering, lifting, semantic checks, policy, what
libvirt fills in), ``disk_config`` (the config classes), ``disk_schema`` (the JSON
Schema of ``spec.disks``) and ``disk_secrets`` (I/O limits, and the auth and encryption
secrets, whose values come from files or environment variables at apply time and never
reach the spec's output nor the XML).

The cloud-init seed cdrom is not a disk of the spec: lowering adds it after these
(vmspec/lower/devices.py), and import lifts it back as a volume cdrom.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from vmspec.addresses import host_name_findings
from vmspec.families import disk_secrets as secrets
from vmspec.families.disk_config import (
    BackingStore,
    Disk,
    DiskDriver,
    DiskFormat,
    DiskSource,
    DiskTarget,
    SourceHost,
)
from vmspec.families.disk_schema import SCHEMA
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import FieldPath, Finding
from vmspec.units import size_in_kib

# --- policy: what vmspec writes where the spec says nothing, and why ----------------------

# virtio-blk is the fastest bus every modern guest has drivers for.
DEFAULT_BUS = "virtio"
# libvirt runs every disk through QEMU's block layer; the name is its only driver.
DRIVER_NAME = "qemu"


def disk_format(disk: Spec) -> str:
    """libvirt never probes image formats (a guest could fake a header), so vmspec must say one:
    qcow2 for a ``.qcow2`` file or volume, raw otherwise."""
    if "format" in disk:
        return disk["format"]
    name = disk.get("file") or disk.get("volume", {}).get("name") or ""
    return "qcow2" if name.endswith(".qcow2") else "raw"


def backing_format(backing: Spec) -> str:
    # Same reason as disk_format: an unstated backing format would be read as raw.
    return backing.get("format") or ("qcow2" if backing["file"].endswith(".qcow2") else "raw")


# --- lowering ---------------------------------------------------------------------------


def lower(spec: Spec, identity: Identity) -> tuple[Disk, ...]:
    return tuple(_disk(disk, identity.uuid) for disk in spec.get("disks", []))


def _disk(disk: Spec, domain_uuid: str) -> Disk:
    device = disk.get("device", "disk")
    source_type, source = _source(disk)
    if source is not None and ("auth" in disk or "encryption" in disk):
        # In <source>, where formatdomain documents them today.
        source = dataclasses.replace(
            source,
            auth=secrets.auth(disk, domain_uuid),
            encryption=secrets.encryption(disk, domain_uuid),
        )
    backing = disk.get("backingStore")
    return Disk(
        type=source_type,
        device=device,
        driver=DiskDriver(
            name=DRIVER_NAME,
            type=disk_format(disk),
            cache=disk.get("cache"),
            io=disk.get("io"),
            discard=disk.get("discard"),
        ),
        source=source,
        backing_store=_backing_store(backing) if backing else None,
        target=DiskTarget(dev=disk["target"], bus=disk.get("bus", DEFAULT_BUS)),
        iotune=secrets.iotune(disk),
        # A cdrom is read-only whatever the spec says; libvirt would add this itself.
        readonly=disk.get("readonly", False) or device == "cdrom",
        serial=disk.get("serial"),
    )


def _source(disk: Spec) -> tuple[str, DiskSource | None]:
    if "file" in disk:
        return "file", DiskSource(file=disk["file"])
    if "block" in disk:
        return "block", DiskSource(dev=disk["block"])
    if "volume" in disk:
        volume = disk["volume"]
        return "volume", DiskSource(pool=volume["pool"], volume=volume["name"])
    if "network" in disk:
        network = disk["network"]
        hosts = tuple(
            SourceHost(name=host["name"], port=host.get("port")) for host in network["hosts"]
        )
        return "network", DiskSource(
            protocol=network["protocol"], name=network["name"], hosts=hosts
        )
    return "file", None  # an empty cdrom tray


def _backing_store(backing: Spec) -> BackingStore:
    return BackingStore(
        type="file",
        format=DiskFormat(type=backing_format(backing)),
        source=DiskSource(file=backing["file"]),
    )


# --- lifting ----------------------------------------------------------------------------


def lift(disks: tuple[Disk, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    return [_lift_disk(disk, index) for index, disk in enumerate(disks)] or None


def _lift_disk(disk: Disk, index: int) -> Spec:
    lifted: Spec = {"target": disk.target.dev if disk.target else f"vd{chr(97 + index)}"}
    bus = disk.target.bus if disk.target else None
    if bus and bus != DEFAULT_BUS:
        lifted["bus"] = bus
    if disk.device and disk.device != "disk":
        lifted["device"] = disk.device
    lifted.update(_lift_source(disk))
    driver = disk.driver
    if driver:
        if driver.type and driver.type != disk_format(lifted):
            lifted["format"] = driver.type
        for key in ("cache", "io", "discard"):
            if getattr(driver, key):
                lifted[key] = getattr(driver, key)
    if disk.readonly and disk.device != "cdrom":
        lifted["readonly"] = True
    if disk.serial:
        lifted["serial"] = disk.serial
    _lift_secrets(disk, lifted)
    iotune = secrets.lift_iotune(disk.iotune)
    if iotune:
        lifted["iotune"] = iotune
    backing = disk.backing_store
    if backing and backing.source and backing.source.file:
        lifted["backingStore"] = {
            "file": backing.source.file,
            **({"format": backing.format.type} if backing.format else {}),
        }
    return lifted


def _lift_source(disk: Disk) -> Spec:
    source = disk.source
    if source is None:
        return {}
    if disk.type == "file" and source.file:
        return {"file": source.file}
    if disk.type == "block" and source.dev:
        return {"block": source.dev}
    if disk.type == "volume" and source.pool:
        return {"volume": {"pool": source.pool, "name": source.volume}}
    if disk.type == "network" and source.protocol:
        hosts = [
            {"name": host.name, **({"port": host.port} if host.port else {})}
            for host in source.hosts
        ]
        return {"network": {"protocol": source.protocol, "name": source.name, "hosts": hosts}}
    return {}


def _lift_secrets(disk: Disk, lifted: Spec) -> None:
    """auth and encryption, from <source> or from <disk> (their older place)."""
    source = disk.source
    if source is None or (disk.auth and source.auth) or (disk.encryption and source.encryption):
        return  # in both places: libvirt refuses it, and the self-check says what is lost
    auth = disk.auth or source.auth
    auth_type = secrets.AUTH_SECRET_TYPES.get(source.protocol or "")
    if auth is not None and auth.username and auth.secret and auth.secret.type == auth_type:
        secret = secrets.lift_secret(auth.secret)
        if secret is not None:
            lifted["auth"] = {"username": auth.username, **secret}
    encryption = disk.encryption or source.encryption
    if (
        encryption is not None
        and encryption.format == "luks"
        and encryption.secret
        and encryption.secret.type == secrets.ENCRYPTION_SECRET_TYPE
    ):
        secret = secrets.lift_secret(encryption.secret)
        if secret is not None:
            lifted["encryption"] = secret


# --- what libvirt fills in ------------------------------------------------------------------


def as_libvirt_stores_it(live: tuple[Disk, ...], wanted: Any) -> tuple[Disk, ...]:
    return tuple(_secrets_in_source(disk) for disk in live)


def _secrets_in_source(disk: Disk) -> Disk:
    """libvirt takes a disk's <auth> and <encryption> in <disk> (their place before
    libvirt 3.9 and 4.5) or in <source>, and keeps them where they were written: the
    same disk either way, so compare them in <source>, where vmspec writes them. An
    encryption without an engine is QEMU's (libvirt 9.0 writes engine='qemu')."""
    source = disk.source
    if source is None or not (disk.auth or disk.encryption or source.encryption):
        return disk
    encryption = disk.encryption or source.encryption
    if encryption is not None and encryption.engine is None:
        encryption = dataclasses.replace(encryption, engine=secrets.DEFAULT_ENCRYPTION_ENGINE)
    source = dataclasses.replace(source, auth=disk.auth or source.auth, encryption=encryption)
    return dataclasses.replace(disk, auth=None, encryption=None, source=source)


def as_libvirt_started_it(running: tuple[Disk, ...], wanted: tuple[Disk, ...]) -> tuple[Disk, ...]:
    by_target = {disk.target.dev: disk for disk in wanted if disk.target}
    return tuple(
        _without_image_chain(by_target.get(disk.target.dev if disk.target else None), disk)
        for disk in running
    )


def _without_image_chain(wanted: Disk | None, running: Disk) -> Disk:
    if wanted is None:
        return running
    # At start libvirt reads the backing chain from the image headers and writes it out
    # (ending in an empty <backingStore/>); below what the spec states, the chain is the
    # image's own, read again from the same headers at the next start.
    chain = _chain_cut(wanted.backing_store, running.backing_store)
    return dataclasses.replace(running, backing_store=chain)


def _chain_cut(wanted: BackingStore | None, running: BackingStore | None) -> BackingStore | None:
    if wanted is None or running is None:
        return None if wanted is None else running
    return dataclasses.replace(
        running, backing_store=_chain_cut(wanted.backing_store, running.backing_store)
    )


# --- semantic checks -------------------------------------------------------------------------

SOURCES = ("file", "block", "volume", "network")
# Device-name prefixes libvirt and guests associate with each bus (formatdomain "target").
_TARGET_PREFIX = {"virtio": "vd", "sata": "sd", "scsi": "sd", "usb": "sd", "ide": "hd"}
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
        bus = disk.get("bus", DEFAULT_BUS)
        device = disk.get("device", "disk")
        prefix = _TARGET_PREFIX[bus]
        if not target.startswith(prefix):
            message = f"target {target} does not fit bus {bus}: its devices are named {prefix}a, {prefix}b, ..."
            yield Finding((*where, "target"), message)
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
        if "backingStore" in disk and disk_format(disk) != "qcow2":
            yield Finding(
                (*where, "backingStore"),
                "only a qcow2 image can have a backingStore: set format: qcow2",
            )


def _source_count(disk: Spec, where: FieldPath) -> Iterator[Finding]:
    sources = [name for name in SOURCES if name in disk]
    if len(sources) > 1:
        yield Finding(
            (*where, sources[1]),
            f"a disk has exactly one source, but sets both {sources[0]} and {sources[1]}",
        )
    elif not sources and disk.get("device", "disk") != "cdrom":
        # An empty cdrom tray is fine; a disk without a source is not.
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
        if protocol in _NAME_WITH_POOL and "/" not in network["name"].strip("/"):
            shape = "POOL/IMAGE" if protocol == "rbd" else "VOLUME/PATH"
            yield Finding((*where, "name"), f"a {protocol} name is {shape}, such as vms/web-01")
        if protocol in _SINGLE_HOST and len(network["hosts"]) > 1:
            yield Finding(
                (*where, "hosts"), f"{protocol} takes one host, not {len(network['hosts'])}"
            )
        for host_index, host in enumerate(network["hosts"]):
            yield from host_name_findings(host["name"], (*where, "hosts", host_index, "name"))


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
        # The volume's format, as lowering will choose it.
        volume_format = create.get("format") or disk_format(disk)
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


FAMILY = Family(
    spec_field="disks",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="disks",
    lower=lower,
    lift=lift,
    checks=(_disks, _volume_creation, _network_disks),
    libvirt_fills_in=as_libvirt_stores_it,
    libvirt_resolves_at_start=as_libvirt_started_it,
)
