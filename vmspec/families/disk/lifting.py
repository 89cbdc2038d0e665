"""``<disk>`` config objects → ``spec.disks``: what the spec says of a disk; what it cannot
say, the lift's self-check names."""

from __future__ import annotations

from vmspec.families.disk import secrets
from vmspec.families.disk.config import (
    BackingStore,
    Disk,
    DiskSeclabel,
    Reservations,
    SourceHost,
)
from vmspec.families.disk.lowering import DRIVER_WORDS
from vmspec.families.disk.policy import (
    default_bus,
    disk_format,
)
from vmspec.families.family import Identity, Spec


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
