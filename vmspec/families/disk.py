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
    DiskBoot,
    DiskDriver,
    DiskFormat,
    DiskSeclabel,
    DiskSource,
    DiskTarget,
    DiskTransient,
    Initiator,
    Iqn,
    Reservations,
    ReservationsSource,
    SourceHost,
)
from vmspec.families.disk_schema import DEFAULT_BUS, IMAGE_FORMATS, SCHEMA
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import FieldPath, Finding
from vmspec.units import size_in_kib

# --- policy: what vmspec writes where the spec says nothing, and why ----------------------

# DEFAULT_BUS, virtio: virtio-blk is the fastest bus every modern guest has drivers for.
# A floppy has one bus only, the floppy controller.
FLOPPY_BUS = "fdc"
# libvirt runs every disk through QEMU's block layer; the name is its only driver.
DRIVER_NAME = "qemu"


def disk_format(disk: Spec) -> str:
    """libvirt never probes image formats (a guest could fake a header), so vmspec must say one:
    qcow2 for a ``.qcow2`` file or volume, raw otherwise."""
    if "format" in disk:
        return disk["format"]
    name = disk.get("file") or disk.get("volume", {}).get("name") or ""
    return "qcow2" if name.endswith(".qcow2") else "raw"


def default_bus(disk: Spec) -> str:
    return FLOPPY_BUS if disk.get("device") == "floppy" else DEFAULT_BUS


def backing_format(backing: Spec) -> str:
    # Same reason as disk_format: an unstated backing format would be read as raw.
    return backing.get("format") or (
        "qcow2" if backing.get("file", "").endswith(".qcow2") else "raw"
    )


# --- lowering ---------------------------------------------------------------------------

# The spec's words for <driver>'s attributes (libvirt's, in camelCase), in libvirt's order.
DRIVER_WORDS = {
    "cache": "cache",
    "errorPolicy": "error_policy",
    "rerrorPolicy": "rerror_policy",
    "io": "io",
    "eventIdx": "event_idx",
    "copyOnRead": "copy_on_read",
    "discard": "discard",
    "detectZeroes": "detect_zeroes",
    "queues": "queues",
    "queueSize": "queue_size",
}


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
    if source is not None and "seclabels" in disk:
        source = dataclasses.replace(source, seclabels=_seclabels_of(disk))
    if source is not None and "reservations" in disk:
        source = dataclasses.replace(source, reservations=_reservations(disk["reservations"]))
    backing = disk.get("backingStore")
    return Disk(
        type=source_type,
        device=device,
        model=disk.get("model"),
        rawio=disk.get("rawio"),
        snapshot=disk.get("snapshot"),
        driver=DiskDriver(
            name=DRIVER_NAME,
            type=disk_format(disk),
            **{field: disk.get(word) for word, field in DRIVER_WORDS.items()},
        ),
        source=source,
        backing_store=_backing_store(backing, disk_format(disk)),
        target=DiskTarget(
            dev=disk["target"],
            bus=disk.get("bus", default_bus(disk)),
            # closed is the default, which libvirt drops on define: written only when open.
            tray="open" if disk.get("tray") == "open" else None,
            rotation_rate=disk.get("rotationRate"),
        ),
        iotune=secrets.iotune(disk),
        # A cdrom is read-only whatever the spec says; libvirt would add this itself.
        readonly=disk.get("readonly", False) or device == "cdrom",
        shareable=disk.get("shareable", False),
        transient=_transient(disk.get("transient")),
        serial=disk.get("serial"),
        wwn=disk.get("wwn"),
        vendor=disk.get("vendor"),
        product=disk.get("product"),
        boot=DiskBoot(order=disk["boot"]) if "boot" in disk else None,
    )


def _reservations(reservations: Spec) -> Reservations:
    if reservations.get("managed"):
        return Reservations(managed=True)
    socket = ReservationsSource(type="unix", path=reservations["socket"], mode="client")
    return Reservations(managed=False, source=socket)


def _seclabels_of(image: Spec) -> tuple[DiskSeclabel, ...]:
    return tuple(_seclabel(label) for label in image.get("seclabels", []))


def _seclabel(label: Spec) -> DiskSeclabel:
    if "label" in label:
        return DiskSeclabel(model=label["model"], relabel=True, label=label["label"])
    return DiskSeclabel(model=label["model"], relabel=False)


def _transient(transient: Any) -> DiskTransient | None:
    if transient is None:
        return None
    if transient is True:
        return DiskTransient()
    # no is libvirt's default, which it drops on define: written only when yes.
    return DiskTransient(share_backing=transient["shareBacking"] or None)


def _source(disk: Spec) -> tuple[str, DiskSource | None]:
    policy = disk.get("startupPolicy")
    if "file" in disk:
        return "file", DiskSource(file=disk["file"], startup_policy=policy)
    if "block" in disk:
        return "block", DiskSource(dev=disk["block"], startup_policy=policy)
    if "volume" in disk:
        volume = disk["volume"]
        return "volume", DiskSource(
            pool=volume["pool"],
            volume=volume["name"],
            mode=volume.get("mode"),
            startup_policy=policy,
        )
    if "network" in disk:
        network = disk["network"]
        return "network", DiskSource(
            protocol=network["protocol"],
            name=network.get("name"),
            tls=network.get("tls"),
            tls_hostname=network.get("tlsHostname"),
            initiator=Initiator(iqn=Iqn(name=network["initiator"]))
            if "initiator" in network
            else None,
            hosts=tuple(_host(host) for host in network["hosts"]),
        )
    return "file", None  # an empty cdrom tray


def _host(host: Spec) -> SourceHost:
    if "socket" in host:
        return SourceHost(transport="unix", socket=host["socket"])
    return SourceHost(name=host["name"], port=host.get("port"))


def _backing_store(backing: Spec | None, above: str) -> BackingStore | None:
    """The chain below an image of format ``above``."""
    if backing is None or (not backing and above == "raw"):
        return None  # a raw image has no chain to end: libvirt stores the same either way
    if not backing:
        return BackingStore()  # the chain ends here, whatever the image's header says
    if "block" in backing:
        kind, source = "block", DiskSource(dev=backing["block"], seclabels=_seclabels_of(backing))
    else:
        kind, source = "file", DiskSource(file=backing["file"], seclabels=_seclabels_of(backing))
    image_format = backing_format(backing)
    return BackingStore(
        type=kind,
        format=DiskFormat(type=image_format),
        source=source,
        backing_store=_backing_store(backing.get("backingStore"), image_format),
    )


# --- lifting ----------------------------------------------------------------------------


def lift(disks: tuple[Disk, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    return [_lift_disk(disk, index) for index, disk in enumerate(disks)] or None


def _lift_disk(disk: Disk, index: int) -> Spec:
    lifted: Spec = {"target": disk.target.dev if disk.target else f"vd{chr(97 + index)}"}
    if disk.device and disk.device != "disk":
        lifted["device"] = disk.device
    for word in ("model", "rawio", "snapshot"):
        if getattr(disk, word) is not None:
            lifted[word] = getattr(disk, word)
    bus = disk.target.bus if disk.target else None
    if bus and bus != default_bus(lifted):
        lifted["bus"] = bus
    lifted.update(_lift_source(disk))
    seclabels = [_lift_seclabel(label) for label in disk.source.seclabels] if disk.source else []
    if seclabels:
        lifted["seclabels"] = seclabels
    reservations = disk.source.reservations if disk.source else None
    if reservations is not None:
        lifted["reservations"] = _lift_reservations(reservations)
    driver = disk.driver
    if driver:
        if driver.type and driver.type != disk_format(lifted):
            lifted["format"] = driver.type
        for word, field in DRIVER_WORDS.items():
            if getattr(driver, field) is not None:
                lifted[word] = getattr(driver, field)
    if disk.target and disk.target.tray == "open":
        lifted["tray"] = "open"  # closed is the default, which libvirt drops
    if disk.target and disk.target.rotation_rate is not None:
        lifted["rotationRate"] = disk.target.rotation_rate
    if disk.readonly and disk.device != "cdrom":
        lifted["readonly"] = True
    if disk.shareable:
        lifted["shareable"] = True
    if disk.transient:
        share = disk.transient.share_backing
        lifted["transient"] = {"shareBacking": True} if share else True
    for word in ("serial", "wwn", "vendor", "product"):
        if getattr(disk, word) is not None:
            lifted[word] = getattr(disk, word)
    if disk.boot and disk.boot.order is not None:
        lifted["boot"] = disk.boot.order
    _lift_secrets(disk, lifted)
    iotune = secrets.lift_iotune(disk.iotune)
    if iotune:
        lifted["iotune"] = iotune
    top = disk.driver.type if disk.driver else None
    backing = _lift_backing(disk.backing_store, top) if disk.backing_store else None
    if backing is not None:
        lifted["backingStore"] = backing
    return lifted


def _lift_backing(backing: BackingStore, above: str | None) -> Spec | None:
    """The chain below an image of format ``above``, as the spec says it; None where there
    is nothing to say (a raw image's end of chain) or what the spec cannot say (a network
    image below), which the self-check then names."""
    if backing == BackingStore():
        return None if above == "raw" else {}
    source = backing.source
    if source is None:
        return None
    if backing.type == "file" and source.file:
        lifted: Spec = {"file": source.file}
    elif backing.type == "block" and source.dev:
        lifted = {"block": source.dev}
    else:
        return None
    if backing.format:
        lifted["format"] = backing.format.type
    if source.seclabels:
        lifted["seclabels"] = [_lift_seclabel(label) for label in source.seclabels]
    image_format = backing.format.type if backing.format else None
    below = _lift_backing(backing.backing_store, image_format) if backing.backing_store else None
    if below is not None:
        lifted["backingStore"] = below
    return lifted


def _lift_source(disk: Disk) -> Spec:
    source = disk.source
    if source is None:
        return {}
    policy = {"startupPolicy": source.startup_policy} if source.startup_policy else {}
    if disk.type == "file" and source.file:
        return {"file": source.file, **policy}
    if disk.type == "block" and source.dev:
        return {"block": source.dev, **policy}
    if disk.type == "volume" and source.pool:
        volume = {"pool": source.pool, "name": source.volume}
        return {"volume": {**volume, **({"mode": source.mode} if source.mode else {})}, **policy}
    if disk.type == "network" and source.protocol:
        network = {
            "protocol": source.protocol,
            "name": source.name,
            "tls": source.tls,
            "tlsHostname": source.tls_hostname,
            "initiator": source.initiator.iqn.name
            if source.initiator and source.initiator.iqn
            else None,
            "hosts": [_lift_host(host) for host in source.hosts],
        }
        return {"network": {key: value for key, value in network.items() if value is not None}}
    return {}


def _lift_reservations(reservations: Reservations) -> Spec:
    if reservations.managed:
        return {"managed": True}
    return {"socket": reservations.source.path if reservations.source else None}


def _lift_seclabel(label: DiskSeclabel) -> Spec:
    """What the spec says of one: a label given, or relabel no (anything else, such as a
    running guest's labelskip, the self-check names)."""
    if label.label is not None and label.relabel in (None, True):
        return {"model": label.model, "label": label.label}
    return {"model": label.model, **({"relabel": False} if label.relabel is False else {})}


def _lift_host(host: SourceHost) -> Spec:
    if host.transport == "unix":
        return {"socket": host.socket}
    return {"name": host.name, **({"port": host.port} if host.port else {})}


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
    return tuple(_secrets_in_source(_raw_chain_ended(_tray_closed(disk))) for disk in live)


def _tray_closed(disk: Disk) -> Disk:
    """A closed tray is libvirt's default, which it drops on define."""
    if disk.target is None or disk.target.tray != "closed":
        return disk
    return dataclasses.replace(disk, target=dataclasses.replace(disk.target, tray=None))


def _raw_chain_ended(disk: Disk) -> Disk:
    """An empty ``<backingStore/>`` says the image has no backing one; libvirt writes it for
    a running guest and keeps it when given. A raw image has none anyway: the same disk,
    at the top of the chain and below."""
    raw = disk.driver is not None and disk.driver.type == "raw"
    return dataclasses.replace(disk, backing_store=_raw_ended(disk.backing_store, raw))


def _raw_ended(backing: BackingStore | None, raw: bool) -> BackingStore | None:
    if backing is None or (raw and backing == BackingStore()):
        return None
    below_raw = backing.format is not None and backing.format.type == "raw"
    return dataclasses.replace(backing, backing_store=_raw_ended(backing.backing_store, below_raw))


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
        # The volume's format, as lowering will choose it.
        volume_format = create.get("format") or disk_format(disk)
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


FAMILY = Family(
    spec_field="disks",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="disks",
    lower=lower,
    lift=lift,
    checks=(_disks, _disk_words, _volume_creation, _network_disks),
    libvirt_fills_in=as_libvirt_stores_it,
    libvirt_resolves_at_start=as_libvirt_started_it,
)
