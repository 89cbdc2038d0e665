"""LVM and NFS storage: a logical pool built for real over a loop device, a loop device
as a running guest's block disk, a netfs pool that cannot mount, and the pool and
volume XML against libvirt's RelaxNG schemas and its test driver.

The kernel here may lack device-mapper (no logical volumes) and NFS (no netfs pool
starts): the tests check how vmspec reports those failures. Every libvirt object is
named TEST_PREFIX*; the loop devices, the volume group and its physical volume are
removed after each test, also when it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from tests.host.conftest import (
    SYSTEM_URI,
    TEST_PREFIX,
    guest_spec,
    remove_test_domains,
    remove_test_pools_and_networks,
    vmspec,
    write,
)
from vmspec.compile import STORAGE_POOL, VOLUME, compile_paths

VG = f"{TEST_PREFIX}vg"
NFS_POOL = f"{TEST_PREFIX}nfs"
NFS_EXPORT = "/export/vmspec-test"
SCHEMAS = Path("/usr/share/libvirt/schemas")
MiB = 1024 * 1024
NO_LVM2 = "lvm2 is not installed (no vgcreate): apt-get install lvm2"
NO_LOOP = "this machine has no loop devices (/dev/loop-control is missing)"
# LVM warns on stderr about every file descriptor it inherits: noise, not errors.
LVM_ENV = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, check=check, env=LVM_ENV, timeout=60
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


def error_lines(output: str, subject: str) -> list[str]:
    """The lines apply prints for a failure of ``subject``."""
    return [line for line in output.splitlines() if line.startswith(f"! {subject}:")]


def has_device_mapper() -> bool:
    """Whether the kernel has device-mapper, which every logical volume needs."""
    if shutil.which("dmsetup") is None:
        return False
    return run("dmsetup", "version", check=False).returncode == 0


# --- loop devices and LVM -------------------------------------------------------------


def volume_groups() -> dict[str, list[str]]:
    """{volume group: [its physical volumes]}; physical volumes in no group under ''."""
    result = run("pvs", "--noheadings", "--separator", "|", "-o", "vg_name,pv_name", check=False)
    groups: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        if "|" in line:
            group, device = (field.strip() for field in line.split("|", 1))
            groups.setdefault(group, []).append(device)
    return groups


def logical_volumes(group: str) -> list[str]:
    result = run("lvs", "--noheadings", "-o", "lv_name", group, check=False)
    return result.stdout.split()


def remove_volume_group(group: str, devices: list[str]) -> None:
    """vgremove -f, then pvremove each device: what libvirt's build made, undone. A
    physical volume in no group comes with group ''."""
    if group:
        run("vgremove", "-f", group, check=False)
    for device in devices:
        run("pvremove", "-ff", "-y", device, check=False)


def detach(device: str) -> None:
    run("losetup", "-d", device, check=False)


def remove_stale_volume_group(group: str) -> None:
    """A volume group of this run's name left by a test that was killed: remove it, and the
    loop devices it sits on, so that libvirt's build (NO_OVERWRITE) is not refused."""
    devices = volume_groups().get(group, [])
    if not devices:
        return
    remove_volume_group(group, devices)
    for device in devices:
        if device.startswith("/dev/loop"):
            detach(device)


@pytest.fixture
def loop_devices(system, tmp_path) -> Iterator[Callable[..., str]]:
    """attach(name, size) makes a sparse file in tmp_path and attaches a loop device to it.
    Afterwards, in this order and also when the test failed: the test's domains and pools
    go (so nothing holds the devices), then any volume group and physical volume on the
    devices, the loop devices and the files. A leftover fails the test's teardown."""
    if shutil.which("losetup") is None or not Path("/dev/loop-control").exists():
        pytest.skip(NO_LOOP)
    attached: list[tuple[str, Path]] = []

    def attach(name: str, size: int = 64 * MiB) -> str:
        backing = tmp_path / f"{name}.img"
        with backing.open("wb") as file:
            file.truncate(size)  # sparse: no blocks written
        device = run("losetup", "-f", "--show", str(backing)).stdout.strip()
        attached.append((device, backing))
        return device

    yield attach

    try:
        remove_test_domains(system)
        remove_test_pools_and_networks(system)
    finally:
        devices = {device for device, _ in attached}
        if devices and shutil.which("vgremove"):
            for group, members in volume_groups().items():
                ours = [member for member in members if member in devices]
                if ours:
                    remove_volume_group(group, ours)
        for device, backing in attached:
            detach(device)
            backing.unlink(missing_ok=True)
    leftovers = [
        f"{backing} is still attached"
        for _, backing in attached
        if run("losetup", "-j", str(backing), check=False).stdout.strip()
    ]
    if shutil.which("vgs"):
        leftovers += [f"volume group {group}" for group in volume_groups() if group == VG]
    assert not leftovers, f"cleanup left: {leftovers}"


@pytest.fixture
def lvm_device(loop_devices) -> str:
    """A fresh 64 MiB loop device holding nothing, for a logical pool (a stale group named
    VG from a killed run is removed first)."""
    if shutil.which("vgcreate") is None:
        pytest.skip(NO_LVM2)
    remove_stale_volume_group(VG)
    return loop_devices("lvm")


def logical_pool_spec(device: str) -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: vmspec/v1
        kind: StoragePool
        metadata: {{name: {VG}}}
        spec:
          type: logical
          source: {{name: {VG}, devices: [{device}]}}
        """
    )


def test_a_logical_pool_builds_its_volume_group_and_starts(system, tmp_path, lvm_device):
    write(tmp_path, "pool", logical_pool_spec(lvm_device))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    no_traceback(applied)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"+ pool {VG}: create; start" in applied.stdout
    assert f"  pool {VG}: created" in applied.stdout
    assert f"  pool {VG}: started" in applied.stdout

    # libvirt's build ran pvcreate + vgcreate on the device: LVM itself sees the group.
    assert volume_groups().get(VG) == [lvm_device]
    vgs = run("vgs", "--noheadings", "-o", "vg_name,pv_count,lv_count", VG)
    assert vgs.stdout.split() == [VG, "1", "0"]
    pool = system.storagePoolLookupByName(VG)
    assert pool.isActive()
    source = etree.fromstring(pool.XMLDesc(0).encode()).find("source")
    assert [d.get("path") for d in source.findall("device")] == [lvm_device]
    assert source.findtext("name") == VG
    assert 0 < pool.info()[1] <= 64 * MiB  # capacity: the group's size, less LVM's metadata

    again = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"= pool {VG}: no changes" in again.stdout
    assert again.stdout.splitlines()[-1] == "No changes: the host matches the specs."


def test_a_device_that_holds_data_is_never_made_a_volume_group(system, tmp_path, lvm_device):
    """Build runs with NO_OVERWRITE: a device with a signature on it (here swap) is
    refused, and the failure says which pool and carries libvirt's reason."""
    run("mkswap", lvm_device)
    write(tmp_path, "pool", logical_pool_spec(lvm_device))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    no_traceback(applied)
    assert applied.returncode == 1, applied.stdout + applied.stderr
    [line] = error_lines(applied.stdout, f"pool {VG}")
    assert line.startswith(f"! pool {VG}: building the storage pool failed: "), line
    assert f"Format of device '{lvm_device}' does not match" in line, line  # libvirt's message
    assert VG not in volume_groups()
    blkid = run("blkid", "-o", "value", "-s", "TYPE", lvm_device, check=False)
    assert blkid.stdout.strip() == "swap"


def test_a_logical_volume_that_cannot_be_made_leaves_its_guest_undefined(
    system, tmp_path, lvm_device
):
    """Without device-mapper lvcreate fails: one line names the volume and carries
    libvirt's message, and the guest that needs the volume is not defined at all."""
    if has_device_mapper():
        pytest.skip("the kernel has device-mapper, so lvcreate succeeds: this test is its failure")
    volume = f"{TEST_PREFIX}lv0"
    guest = f"{TEST_PREFIX}lvm"
    write(tmp_path, "pool", logical_pool_spec(lvm_device))
    disk = f"disks:\n  - target: vda\n    volume: {{pool: {VG}, name: {volume}, create: {{capacity: 8MiB, format: raw}}}}\n"
    write(tmp_path, "vm", guest_spec("lvm", disk))

    for _ in range(2):  # a rerun fails the same way, and still defines nothing
        applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
        no_traceback(applied)
        assert applied.returncode == 1, applied.stdout + applied.stderr
        [line] = error_lines(applied.stdout, f"{VG}/{volume}")
        assert line.startswith(f"! {VG}/{volume}: creating the volume failed: "), line
        assert f"lvcreate --name {volume} " in line, line  # libvirt's message
        assert "device-mapper" in line, line
        assert error_lines(applied.stdout, guest) == [
            f"! {guest}: applying failed: blocked: it needs the volume {VG}/{volume}, which failed"
        ]
        assert "vmspec: 2 resources not converged" in applied.stderr
        assert guest not in {domain.name() for domain in system.listAllDomains()}
        assert logical_volumes(VG) == []
        assert system.storagePoolLookupByName(VG).isActive()


def test_a_loop_device_is_a_running_guests_block_disk(system, tmp_path, loop_devices):
    device = loop_devices("block", 16 * MiB)
    name = f"{TEST_PREFIX}block"
    write(tmp_path, "vm", guest_spec("block", f"disks:\n  - {{target: vda, block: {device}}}\n"))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    no_traceback(applied)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"  {name}: started" in applied.stdout

    dumped = subprocess.run(
        ["virsh", "-c", SYSTEM_URI, "dumpxml", name],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    [disk] = etree.fromstring(dumped.stdout.encode()).findall("devices/disk")
    assert (disk.get("type"), disk.get("device")) == ("block", "disk")
    assert disk.find("source").get("dev") == device
    assert disk.find("target").get("dev") == "vda"
    # QEMU opened the device itself: it reports the device's size.
    assert system.lookupByName(name).blockInfo("vda")[0] == 16 * MiB

    again = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == "No changes: the host matches the specs.", again.stdout


# --- NFS ---------------------------------------------------------------------------------


def test_a_netfs_pool_that_cannot_mount_fails_with_the_export_named(system, tmp_path):
    mount_point = tmp_path / "mnt"
    spec = textwrap.dedent(
        f"""\
        apiVersion: vmspec/v1
        kind: StoragePool
        metadata: {{name: {NFS_POOL}}}
        spec:
          type: netfs
          path: {mount_point}
          source: {{host: 127.0.0.1, dir: {NFS_EXPORT}, format: nfs}}
        """
    )
    write(tmp_path, "pool", spec)
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    no_traceback(applied)
    assert applied.returncode == 1, applied.stdout + applied.stderr
    [line] = error_lines(applied.stdout, f"pool {NFS_POOL}")
    assert line.startswith(f"! pool {NFS_POOL}: starting the storage pool failed: "), line
    assert f"-t nfs 127.0.0.1:{NFS_EXPORT} {mount_point}" in line, line  # libvirt's mount
    assert line.endswith(
        f" (is the NFS export 127.0.0.1:{NFS_EXPORT} reachable and mountable here?)"
    ), line
    assert "vmspec: 1 resource not converged" in applied.stderr
    assert not os.path.ismount(mount_point)
    # Defined, not started (the system fixture undefines it): a rerun tries to start it again.
    assert not system.storagePoolLookupByName(NFS_POOL).isActive()
    again = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert again.returncode == 2, again.stdout + again.stderr
    assert f"~ pool {NFS_POOL}: start" in again.stdout


# --- the XML against libvirt's schemas and its test driver ------------------------------

POOL_SPECS = {
    "logical": f"type: logical\nsource: {{name: {VG}, devices: [/dev/loop6, /dev/loop7]}}",
    "logical-no-devices": f"type: logical\nsource: {{name: {VG}2}}",
    "logical-path": f"type: logical\npath: /dev/{VG}3\nsource: {{name: {VG}3}}",
    "netfs-nfs": f"type: netfs\npath: /var/lib/vmspec/nfs\nsource: {{host: 127.0.0.1, dir: {NFS_EXPORT}, format: nfs}}",
    "netfs-auto": "type: netfs\npath: /mnt/vmspec-a\nsource: {host: nfs.example.org, dir: /srv/a, format: auto}",
    "netfs-default-format": "type: netfs\npath: /mnt/vmspec-d\nsource: {host: 10.0.0.5, dir: /srv/d}",
    "netfs-glusterfs": "type: netfs\npath: /mnt/vmspec-g\nsource: {host: gluster.example.org, dir: /vol0, format: glusterfs}",
    "netfs-cifs": "type: netfs\npath: /mnt/vmspec-c\nsource: {host: smb.example.org, dir: /share, format: cifs}",
}


def compile_specs(directory: Path, text: str):
    write(directory, "specs", text)
    result = compile_paths([directory])
    assert result.problems == [], [str(problem) for problem in result.problems]
    return result.resources


def relaxng(name: str) -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / name)))


@pytest.fixture(scope="module")
def pool_rng() -> etree.RelaxNG:
    return relaxng("storagepool.rng")


@pytest.fixture(scope="module")
def volume_rng() -> etree.RelaxNG:
    return relaxng("storagevol.rng")


def source_of(xml: bytes | str) -> list[tuple[str, dict[str, str], str]]:
    """A pool's <source>, order and whitespace aside: (tag, attributes, text) per child."""
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    children = [(c.tag, dict(c.attrib), (c.text or "").strip()) for c in root.find("source")]
    return sorted(children, key=repr)


@pytest.mark.parametrize("case", POOL_SPECS)
def test_pool_xml_is_valid_and_libvirt_takes_it(case, tmp_path, pool_rng, test_driver):
    name = f"{TEST_PREFIX}{case}"
    spec = f"apiVersion: vmspec/v1\nkind: StoragePool\nmetadata: {{name: {name}}}\nspec:\n"
    [pool] = compile_specs(tmp_path, spec + textwrap.indent(POOL_SPECS[case], "  ") + "\n")
    assert pool.kind == STORAGE_POOL
    assert pool_rng.validate(etree.fromstring(pool.xml)), str(pool_rng.error_log)

    defined = test_driver.storagePoolDefineXML(pool.xml.decode(), 0)
    try:
        stored = defined.XMLDesc(0)
        assert defined.name() == name
        assert defined.UUIDString() == etree.fromstring(pool.xml).findtext("uuid")
        assert source_of(stored) == source_of(pool.xml)  # libvirt dropped nothing
        target = etree.fromstring(pool.xml).findtext("target/path")
        assert etree.fromstring(stored.encode()).findtext("target/path") == target
    finally:
        defined.undefine()
    assert name not in test_driver.listDefinedStoragePools()


def test_pool_xml_from_the_command_line_is_the_same(tmp_path, pool_rng):
    spec = textwrap.dedent(
        f"""\
        apiVersion: vmspec/v1
        kind: StoragePool
        metadata: {{name: {NFS_POOL}}}
        spec:
          type: netfs
          path: /var/lib/vmspec/nfs
          source: {{host: 127.0.0.1, dir: {NFS_EXPORT}, format: nfs}}
        """
    )
    [pool] = compile_specs(tmp_path, spec)
    # In the default scope, as compile_specs: a pool's uuid depends on the scope.
    compiled = vmspec("compile", str(tmp_path / "specs.yaml"), env={"VMSPEC_SCOPE": ""})
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout.encode().strip() == pool.xml.strip()
    assert pool_rng.validate(etree.fromstring(compiled.stdout.encode())), str(pool_rng.error_log)


VOLUME_SPECS = textwrap.dedent(
    f"""\
    apiVersion: vmspec/v1
    kind: StoragePool
    metadata: {{name: {VG}}}
    spec: {{type: logical, source: {{name: {VG}, devices: [/dev/loop7]}}}}
    ---
    apiVersion: vmspec/v1
    kind: StoragePool
    metadata: {{name: {NFS_POOL}}}
    spec:
      type: netfs
      path: /var/lib/vmspec/nfs
      source: {{host: 127.0.0.1, dir: {NFS_EXPORT}}}
    ---
    apiVersion: vmspec/v1
    kind: VirtualMachine
    metadata: {{name: {TEST_PREFIX}volumes}}
    spec:
      domainType: qemu
      memory: 64MiB
      vcpus: 1
      disks:
        - target: vda
          volume: {{pool: {VG}, name: {TEST_PREFIX}lv0, create: {{capacity: 8MiB, format: raw}}}}
        - target: vdb
          volume: {{pool: {NFS_POOL}, name: {TEST_PREFIX}base.qcow2, create: {{capacity: 1GiB}}}}
        - target: vdc
          volume:
            pool: {NFS_POOL}
            name: {TEST_PREFIX}top.qcow2
            create: {{capacity: 2GiB, backingStore: {TEST_PREFIX}base.qcow2}}
    """
)
# name → (capacity, format, backing store path)
EXPECTED_VOLUMES = {
    f"{VG}/{TEST_PREFIX}lv0": (8 * MiB, "raw", None),
    f"{NFS_POOL}/{TEST_PREFIX}base.qcow2": (1024 * MiB, "qcow2", None),
    f"{NFS_POOL}/{TEST_PREFIX}top.qcow2": (
        2048 * MiB,
        "qcow2",
        f"/var/lib/vmspec/nfs/{TEST_PREFIX}base.qcow2",
    ),
}


def test_volume_xml_is_valid_and_libvirt_takes_it(tmp_path, volume_rng, test_driver):
    volumes = {r.name: r for r in compile_specs(tmp_path, VOLUME_SPECS) if r.kind == VOLUME}
    assert set(volumes) == set(EXPECTED_VOLUMES)
    pool = test_driver.storagePoolLookupByName("default-pool")
    for name, (capacity, volume_format, backing) in EXPECTED_VOLUMES.items():
        xml = volumes[name].xml
        assert volume_rng.validate(etree.fromstring(xml)), f"{name}: {volume_rng.error_log}"
        created = pool.createXML(xml.decode(), 0)
        try:
            stored = etree.fromstring(created.XMLDesc(0).encode())
            assert created.name() == name.split("/", 1)[1]
            assert created.info()[1] == capacity
            assert stored.find("capacity").text == str(capacity)
            assert stored.find("target/format").get("type") == volume_format
            assert stored.findtext("backingStore/path") == backing
        finally:
            created.delete(0)
    assert not [v for v in pool.listVolumes() if v.startswith(TEST_PREFIX)]
