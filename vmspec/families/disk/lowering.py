"""``spec.disks`` → ``<disk>`` config objects."""

from __future__ import annotations

import dataclasses
from typing import Any

from vmspec.families.disk import secrets
from vmspec.families.disk.config import (
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
from vmspec.families.disk.policy import (
    DEFAULT_DEVICE,
    DRIVER_NAME,
    backing_format,
    default_bus,
    disk_format,
    is_readonly,
)
from vmspec.families.family import Identity, Spec

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
    device = disk.get("device", DEFAULT_DEVICE)
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
        readonly=is_readonly(disk),
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
