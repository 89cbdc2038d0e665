"""Copying a volume from one libvirt host to another as it is: qcow2 stays qcow2, holes
stay holes, the backing chain stays named.

The seed's lesson: converting qcow2 to raw to move a disk sent 10 GB for a disk that held
under 100 MB. Here the source's bytes go through libvirt's sparse streams
(VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM → VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM): data
is sent, holes are only announced, and the file on the target is the source's file,
header, format and backing reference included. Both ends are libvirt connections:
vmspec adds no agent and no transport of its own.

A copy is verified before anything relies on it: the target's capacity and format as
libvirt reads them, and a checksum of the data read back through libvirt from both ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import libvirt
from lxml import etree

# Holes are hashed as the zeros they read as, in pieces of this size: a raw image with
# a 10 GiB hole costs hashing time, but never 10 GiB of memory.
_ZEROS = bytes(1024 * 1024)

Progress = Callable[[int], None]  # bytes of data sent so far


@dataclass(frozen=True, slots=True)
class VolumeFacts:
    """What a copy must keep: libvirt's view of the volume."""

    name: str
    capacity: int  # bytes the guest sees
    allocation: int  # bytes the file takes on disk
    format: str | None  # qcow2, raw...; None where the pool has no formats
    backing: str | None  # the backing file's path, as the image names it

    @classmethod
    def of(cls, volume: libvirt.virStorageVol) -> VolumeFacts:
        xml = etree.fromstring(volume.XMLDesc(0))
        return cls(
            name=volume.name(),
            capacity=int(xml.findtext("capacity")),
            allocation=int(xml.findtext("allocation")),
            format=xml.find("target/format").get("type")
            if xml.find("target/format") is not None
            else None,
            backing=xml.findtext("backingStore/path"),
        )


@dataclass(frozen=True, slots=True)
class CopiedVolume:
    source: VolumeFacts
    target: VolumeFacts
    sent: int  # bytes of data sent (holes are not sent)
    seconds: float
    checksum: str  # sha256 of the data both ends read back, holes read as zeros


class CopyFailed(Exception):
    """The copy on the target is not the source's: it is left there for the caller to
    remove or retry, and nothing may rely on it."""


def copy_volume(
    source: libvirt.virStorageVol,
    target_pool: libvirt.virStoragePool,
    progress: Progress | None = None,
) -> CopiedVolume:
    """The source volume copied into ``target_pool`` under the same name, then verified.

    The target must not have a volume of that name: whether one found there is an
    earlier copy that may be replaced is the caller's call, not this function's."""
    facts = VolumeFacts.of(source)
    started = time.monotonic()
    created = target_pool.createXML(_volume_xml(facts), 0)
    sent = _stream(source, created, progress)
    seconds = time.monotonic() - started
    target_pool.refresh(0)
    copied = VolumeFacts.of(target_pool.storageVolLookupByName(facts.name))
    if (copied.capacity, copied.format, copied.backing) != (
        facts.capacity,
        facts.format,
        facts.backing,
    ):
        raise CopyFailed(
            f"{facts.name}: the copy reads as {_described(copied)}, "
            f"the source as {_described(facts)}"
        )
    source_sum = volume_checksum(source)
    copy_sum = volume_checksum(target_pool.storageVolLookupByName(facts.name))
    if source_sum != copy_sum:
        raise CopyFailed(f"{facts.name}: the copy's data differs from the source's")
    return CopiedVolume(facts, copied, sent, seconds, source_sum)


def volume_checksum(volume: libvirt.virStorageVol) -> str:
    """sha256 of the volume's bytes as libvirt hands them out (its file: for qcow2 the
    image file, header included), holes read as zeros."""
    digest = hashlib.sha256()
    stream = volume.connect().newStream(0)
    volume.download(stream, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)

    def data(_stream, chunk: bytes, _opaque) -> int:
        digest.update(chunk)
        return len(chunk)

    def hole(_stream, length: int, _opaque) -> None:
        while length > 0:
            piece = min(length, len(_ZEROS))
            digest.update(_ZEROS[:piece])
            length -= piece

    stream.sparseRecvAll(data, hole, None)
    stream.finish()
    return digest.hexdigest()


def _stream(
    source: libvirt.virStorageVol, target: libvirt.virStorageVol, progress: Progress | None
) -> int:
    """The source's file piped into the target's: data as data, holes as holes."""
    down = source.connect().newStream(0)
    up = target.connect().newStream(0)
    source.download(down, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
    target.upload(up, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
    sent = 0

    def data(_stream, chunk: bytes, _opaque) -> int:
        nonlocal sent
        view = memoryview(chunk)
        while view:  # a blocking stream may take less than it is given
            view = view[up.send(bytes(view)) :]
        sent += len(chunk)
        if progress is not None:
            progress(sent)
        return len(chunk)

    def hole(_stream, length: int, _opaque) -> None:
        up.sendHole(length, 0)

    try:
        down.sparseRecvAll(data, hole, None)
        down.finish()
        up.finish()
    except BaseException:
        for stream in (down, up):
            with contextlib.suppress(libvirt.libvirtError):  # finished or broken already
                stream.abort()
        raise
    return sent


def _volume_xml(facts: VolumeFacts) -> str:
    volume = etree.Element("volume")
    etree.SubElement(volume, "name").text = facts.name
    etree.SubElement(volume, "capacity", unit="bytes").text = str(facts.capacity)
    # Nothing preallocated: the upload writes the source's file, holes included.
    etree.SubElement(volume, "allocation", unit="bytes").text = "0"
    if facts.format is not None:
        target = etree.SubElement(volume, "target")
        etree.SubElement(target, "format", type=facts.format)
    return etree.tostring(volume, encoding="unicode")


def _described(facts: VolumeFacts) -> str:
    backing = f", backed by {facts.backing}" if facts.backing else ""
    return f"{facts.format or 'a file'} of {facts.capacity} bytes{backing}"
