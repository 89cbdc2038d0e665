"""The NoCloud seed ISO: what cloud-init reads from it, as pycdlib, isoinfo and blkid
see it, and the same bytes on every build."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pycdlib
import pytest
import yaml

from vmspec.seed import render_meta_data, render_user_data, seed_iso

USER_DATA = "#cloud-config\nusers:\n  - name: José\npackages: [htop]\n"
META_DATA = "instance-id: web-01\nlocal-hostname: web-01\n"
NETWORK_CONFIG = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"
FILES = {"user-data": USER_DATA, "meta-data": META_DATA, "network-config": NETWORK_CONFIG}

# ECMA-119 8.4: the primary volume descriptor is sector 16; its creation date is the
# 17 bytes at offset 813 (BP 814-830): YYYYMMDDhhmmsscc in ASCII, then the UTC offset.
_PVD_CREATION_DATE = slice(16 * 2048 + 813, 16 * 2048 + 830)


@pytest.fixture
def image() -> bytes:
    return seed_iso(USER_DATA, META_DATA, NETWORK_CONFIG)


@pytest.fixture
def opened(image: bytes) -> Iterator[pycdlib.PyCdlib]:
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    yield iso
    iso.close()


@pytest.fixture
def image_file(image: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "seed.iso"
    path.write_bytes(image)
    return path


def _read(iso: pycdlib.PyCdlib, **path: str) -> bytes:
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, **path)
    return out.getvalue()


def _root_files(iso: pycdlib.PyCdlib, **path: str) -> list[str]:
    _, _, files = next(iso.walk(**path))
    return sorted(files)


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian package {package})")
    return found


# Same bytes every time


def test_builds_a_second_apart_are_byte_identical():
    first = seed_iso(USER_DATA, META_DATA, NETWORK_CONFIG)
    time.sleep(1.1)  # pycdlib stamps whole seconds: an unpinned build would differ
    assert seed_iso(USER_DATA, META_DATA, NETWORK_CONFIG) == first


def test_another_clock_and_time_zone_on_the_build_host_change_nothing(monkeypatch):
    first = seed_iso(USER_DATA, META_DATA, NETWORK_CONFIG)
    # The host's clock 400 days ahead and its zone 5:30 east of UTC: only the
    # environment is faked (pycdlib reads both), never the code under test.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 400 * 86400)
    monkeypatch.setenv("TZ", "XST-5:30")
    time.tzset()
    try:
        second = seed_iso(USER_DATA, META_DATA, NETWORK_CONFIG)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert second == first


def test_every_date_is_1980_01_01_utc(image: bytes, image_file: Path):
    assert image[_PVD_CREATION_DATE] == b"1980010100000000\x00"
    # blkid derives an ISO's UUID from the volume modification date, written last.
    uuid = subprocess.run(
        [_tool("blkid", "util-linux"), "-p", "-o", "value", "-s", "UUID", str(image_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert uuid == "1980-01-01-00-00-00-00"


def test_concurrent_builds_equal_their_serial_builds():
    inputs = [(f"#cloud-config\nhostname: vm-{n}\n", f"instance-id: vm-{n}\n") for n in range(8)]
    serial = [seed_iso(*texts) for texts in inputs]
    # Switch threads every microsecond or so, so the builds really interleave.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    concurrent: list[list[bytes]] = [[] for _ in inputs]

    def build(index: int) -> None:
        for _ in range(5):
            concurrent[index].append(seed_iso(*inputs[index]))

    threads = [threading.Thread(target=build, args=(n,)) for n in range(len(inputs))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    assert concurrent == [[image] * 5 for image in serial]


def test_pycdlib_used_directly_afterwards_has_the_real_clock_again(monkeypatch):
    seed_iso(USER_DATA, META_DATA)
    # 2001-09-09T01:46:40Z, in UTC so the expected digits do not depend on the host.
    monkeypatch.setattr(time, "time", lambda: 1_000_000_000.0)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        iso = pycdlib.PyCdlib()
        iso.new(vol_ident="PLAIN")
        out = io.BytesIO()
        iso.write_fp(out)
        iso.close()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert out.getvalue()[_PVD_CREATION_DATE] == b"2001090901464000\x00"


def test_different_user_data_gives_different_bytes(image: bytes):
    other = seed_iso(USER_DATA + "runcmd: [reboot]\n", META_DATA, NETWORK_CONFIG)
    assert other != image


# What cloud-init reads, through pycdlib


def test_the_volume_label_is_cidata_in_both_descriptors(opened: pycdlib.PyCdlib):
    assert opened.pvd.volume_identifier.rstrip(b" ") == b"cidata"
    assert opened.joliet_vd.volume_identifier.decode("utf-16-be").rstrip(" ") == "cidata"


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_file_holds_exactly_the_given_text(opened: pycdlib.PyCdlib, name: str):
    expected = FILES[name].encode("utf-8")
    assert _read(opened, rr_path=f"/{name}") == expected
    assert _read(opened, joliet_path=f"/{name}") == expected
    assert _read(opened, iso_path="/" + name.upper().replace("-", "_") + ".;1") == expected


def test_the_root_holds_the_three_files_by_their_long_names(opened: pycdlib.PyCdlib):
    assert opened.has_rock_ridge()
    assert opened.has_joliet()
    expected = ["meta-data", "network-config", "user-data"]
    assert _root_files(opened, rr_path="/") == expected
    assert _root_files(opened, joliet_path="/") == expected


def test_without_network_config_there_is_no_such_file():
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(seed_iso(USER_DATA, META_DATA)))
    try:
        assert _root_files(iso, rr_path="/") == ["meta-data", "user-data"]
        assert _root_files(iso, joliet_path="/") == ["meta-data", "user-data"]
        assert _root_files(iso, iso_path="/") == ["META_DATA.;1", "USER_DATA.;1"]
    finally:
        iso.close()


# What Debian's own tools see


def test_blkid_reads_the_label_cloud_init_looks_for(image_file: Path):
    result = subprocess.run(
        [_tool("blkid", "util-linux"), "-p", "-o", "export", str(image_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    tags = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert tags["TYPE"] == "iso9660"
    assert tags["LABEL"] == "cidata"


def test_isoinfo_reads_the_label_and_the_files_by_rock_ridge_and_joliet(image_file: Path):
    isoinfo = _tool("isoinfo", "genisoimage")

    def run(*args: str) -> bytes:
        return subprocess.run(
            [isoinfo, "-i", str(image_file), *args], capture_output=True, check=True
        ).stdout

    assert b"Volume id: cidata\n" in run("-d")
    for extension in ("-R", "-J"):
        assert run(extension, "-f").decode().split() == [
            "/meta-data",
            "/network-config",
            "/user-data",
        ]
        for name, text in FILES.items():
            assert run(extension, "-x", f"/{name}") == text.encode("utf-8")


# Rendering


def test_user_data_from_a_mapping_is_cloud_config_that_reads_back():
    config = {"users": [{"name": "José", "groups": "sudo"}], "packages": ["htop", "curl"]}
    text = render_user_data(config)
    assert text.startswith("#cloud-config\n")
    assert yaml.safe_load(text) == config
    assert "José" in text


def test_user_data_given_as_text_is_kept_as_it_is():
    script = "#!/bin/sh\necho hello\n"
    assert render_user_data(script) == script


def test_meta_data_is_sorted_block_yaml():
    text = render_meta_data({"local-hostname": "web-01", "instance-id": "iid-web-01"})
    assert text == "instance-id: iid-web-01\nlocal-hostname: web-01\n"
