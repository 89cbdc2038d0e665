"""Copying a volume between two real libvirt daemons (the system one and an unprivileged
user's, scripts/peer-libvirtd) as it is: a 10 GiB qcow2 holding 64 MiB arrives as a qcow2
of about 64 MiB, with the same data and the same backing reference."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lxml import etree

from tests.host.conftest import libvirt, qcow2
from vmspec.host.move import copy_volume, volume_checksum

GiB, MiB = 1024**3, 1024**2


def _folder(pool) -> Path:
    return Path(etree.fromstring(pool.XMLDesc(0)).findtext("target/path"))


def test_a_sparse_qcow2_moves_as_a_qcow2_of_its_data_with_identical_content(twin_pools):
    source_pool, target_pool = twin_pools
    image = _folder(source_pool) / "data.qcow2"
    qcow2(image, "10G")
    subprocess.run(
        ["qemu-io", "-c", "write -P 0x5a 1G 64M", str(image)], check=True, capture_output=True
    )
    source_pool.refresh(0)
    source = source_pool.storageVolLookupByName("data.qcow2")

    copied = copy_volume(source, target_pool)

    assert copied.target.format == "qcow2"
    assert copied.target.capacity == 10 * GiB
    assert 64 * MiB <= copied.target.allocation < 80 * MiB  # the data, not 10 GiB
    assert 64 * MiB <= copied.sent < 80 * MiB  # holes announced, not sent
    target_path = target_pool.storageVolLookupByName("data.qcow2").path()
    compared = subprocess.run(
        ["qemu-img", "compare", str(image), target_path], capture_output=True, text=True
    )
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert copied.checksum == volume_checksum(target_pool.storageVolLookupByName("data.qcow2"))


def test_an_overlay_keeps_naming_its_backing_file(twin_pools):
    source_pool, target_pool = twin_pools
    folder = _folder(source_pool)
    qcow2(folder / "overlay.qcow2", backing=qcow2(folder / "base.qcow2"))
    source_pool.refresh(0)

    copied = copy_volume(source_pool.storageVolLookupByName("overlay.qcow2"), target_pool)

    assert copied.target.backing == str(folder / "base.qcow2")
    assert copied.target.format == "qcow2" and copied.target.capacity == GiB


def test_a_copy_over_an_existing_volume_is_refused_and_leaves_it(twin_pools):
    source_pool, target_pool = twin_pools
    folder = _folder(source_pool)
    qcow2(folder / "taken.qcow2")
    source_pool.refresh(0)
    existing = target_pool.createXML(
        "<volume><name>taken.qcow2</name><capacity>1048576</capacity>"
        "<target><format type='raw'/></target></volume>",
        0,
    )
    before = volume_checksum(existing)
    with pytest.raises(libvirt.libvirtError, match="exists already"):
        copy_volume(source_pool.storageVolLookupByName("taken.qcow2"), target_pool)
    assert volume_checksum(target_pool.storageVolLookupByName("taken.qcow2")) == before
