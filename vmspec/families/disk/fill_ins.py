"""What libvirt fills in a ``<disk>`` on define and at start: the same disk as vmspec wrote."""

from __future__ import annotations

import dataclasses
from typing import Any

from vmspec.families.disk import secrets
from vmspec.families.disk.config import (
    BackingStore,
    Disk,
)


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
