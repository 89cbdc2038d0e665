"""Pools, volumes and networks on the real libvirtd: from a bare host to a guest's disk."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.host.conftest import (
    SYSTEM_URI,
    TEST_PREFIX,
    guest_spec,
    run_bridge_name,
    run_subnet,
    vmspec,
    write,
)

POOL = f"{TEST_PREFIX}pool"


@pytest.fixture
def pool_dir():
    # libvirt-qemu must reach the images: not under pytest's private /tmp folder.
    Path("/var/lib/libvirt/images").mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=TEST_PREFIX, dir="/var/lib/libvirt/images"))
    folder.chmod(0o755)
    yield folder / "pool"
    shutil.rmtree(folder)


def pool_spec(path: Path, name: str = POOL) -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: vmspec/v1
        kind: StoragePool
        metadata: {{name: {name}}}
        spec: {{type: dir, path: {path}, autostart: true}}
        """
    )


def disk_vm(
    name: str, capacity: str, *, backing: str | None = "base.qcow2", state: str = "stopped"
) -> str:
    create = f"{{capacity: {capacity}, format: qcow2" + (
        f", backingStore: {backing}}}" if backing else "}"
    )
    extra = f"disks:\n  - target: vda\n    volume: {{pool: {POOL}, name: {TEST_PREFIX}{name}.qcow2, create: {create}}}\n"
    return guest_spec(name, extra, state=state)


def qemu_img_info(path: Path) -> dict:
    result = subprocess.run(
        ["qemu-img", "info", "--output=json", str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def make_base_image(pool_path: Path) -> Path:
    pool_path.mkdir(parents=True, exist_ok=True)
    base = pool_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "32M"], check=True)
    return base


def test_a_dir_pool_and_a_qcow2_volume_over_a_backing_volume(system, tmp_path, pool_dir):
    write(tmp_path, "pool", pool_spec(pool_dir))
    first = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"+ pool {POOL}: create; start; autostart on" in first.stdout
    assert pool_dir.is_dir() and system.storagePoolLookupByName(POOL).isActive()

    base = make_base_image(pool_dir)
    write(tmp_path, "vm", disk_vm("disk", "64MiB"))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"  volume {POOL}/{TEST_PREFIX}disk.qcow2: created" in applied.stdout
    info = qemu_img_info(pool_dir / f"{TEST_PREFIX}disk.qcow2")
    assert info["format"] == "qcow2"
    assert info["virtual-size"] == 64 * 1024 * 1024
    assert info["backing-filename"] == str(base)
    assert info["backing-filename-format"] == "qcow2"

    again = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert again.returncode == 0, again.stdout
    assert again.stdout.splitlines()[-1] == "No changes: the host matches the specs."


def test_a_larger_capacity_grows_and_a_smaller_one_is_refused(system, tmp_path, pool_dir):
    write(tmp_path, "pool", pool_spec(pool_dir))
    write(tmp_path, "vm", disk_vm("grow", "32MiB", backing=None))
    assert vmspec("apply", "-c", SYSTEM_URI, str(tmp_path)).returncode == 0
    volume = pool_dir / f"{TEST_PREFIX}grow.qcow2"

    write(tmp_path, "vm", disk_vm("grow", "48MiB", backing=None))
    grown = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert grown.returncode == 0, grown.stdout + grown.stderr
    assert qemu_img_info(volume)["virtual-size"] == 48 * 1024 * 1024

    write(tmp_path, "vm", disk_vm("grow", "16MiB", backing=None))
    shrink = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert shrink.returncode == 1
    assert "vmspec never shrinks a volume" in shrink.stdout
    refused = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert refused.returncode == 1
    assert qemu_img_info(volume)["virtual-size"] == 48 * 1024 * 1024


def test_prune_keeps_volumes_and_the_pool_holding_them(system, tmp_path, pool_dir):
    write(tmp_path, "pool", pool_spec(pool_dir))
    write(tmp_path, "vm", disk_vm("kept", "32MiB", backing=None))
    assert vmspec("apply", "-c", SYSTEM_URI, str(tmp_path)).returncode == 0
    (tmp_path / "vm.yaml").unlink()
    (tmp_path / "pool.yaml").unlink()
    write(tmp_path, "other", guest_spec("other", state="stopped"))
    pruned = vmspec("apply", "--prune", "-c", SYSTEM_URI, str(tmp_path))
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert f"  {TEST_PREFIX}kept: deleted (disks kept)" in pruned.stdout
    assert "no spec names it; kept (add --delete-volumes to delete)" in pruned.stdout
    assert "holds 1 volume(s): kept" in pruned.stdout
    assert (pool_dir / f"{TEST_PREFIX}kept.qcow2").exists()
    assert system.storagePoolLookupByName(POOL).isActive()

    deleted = vmspec("apply", "--prune", "--delete-volumes", "-c", SYSTEM_URI, str(tmp_path))
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert not (pool_dir / f"{TEST_PREFIX}kept.qcow2").exists()
    assert POOL not in {pool.name() for pool in system.listAllStoragePools()}


def test_an_isolated_network_is_defined_and_started(system, tmp_path):
    name = f"{TEST_PREFIX}net"
    subnet = run_subnet(0)
    spec = textwrap.dedent(
        f"""\
        apiVersion: vmspec/v1
        kind: Network
        metadata: {{name: {name}}}
        spec:
          forward: isolated
          bridge: {run_bridge_name("0")}
          ip: {{address: {subnet}.1, prefix: 24, dhcp: {{start: {subnet}.10, end: {subnet}.20}}}}
        """
    )
    write(tmp_path, "net", spec)
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert system.networkLookupByName(name).isActive()
    again = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert again.returncode == 0, again.stdout


def test_plan_time_errors_create_nothing(system, tmp_path, pool_dir):
    write(tmp_path, "pool", pool_spec(pool_dir))
    write(tmp_path, "vm", disk_vm("nobase", "32MiB", backing="missing.qcow2"))
    write(
        tmp_path,
        "elsewhere",
        guest_spec(
            "elsewhere",
            "disks:\n  - target: vda\n    volume: {pool: no-such-pool, name: x.qcow2, create: {capacity: 1GiB}}\n",
        ),
    )
    result = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert result.returncode == 1
    # The pool is new: what it holds is known only once apply has made it.
    assert f"(known after apply): the pool {POOL} does not run yet" in result.stdout
    assert (
        f"its pool 'no-such-pool' (named by {TEST_PREFIX}elsewhere) is neither in the specs nor on the host"
        in result.stdout
    )
    assert (
        f"! {TEST_PREFIX}elsewhere: refused: disk vda: the pool 'no-such-pool' is neither"
        in result.stdout
    )
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert applied.returncode == 1
    assert f"its backing volume 'missing.qcow2' is not in the pool '{POOL}'" in applied.stdout
    assert f"! {TEST_PREFIX}nobase: applying failed: blocked: it needs the volume" in applied.stdout
    assert not list(pool_dir.glob("*.qcow2"))
    assert {f"{TEST_PREFIX}nobase", f"{TEST_PREFIX}elsewhere"}.isdisjoint(
        domain.name() for domain in system.listAllDomains()
    )


def test_a_pool_path_that_is_a_file_is_refused(system, tmp_path, pool_dir):
    pool_dir.parent.joinpath("file").write_text("not a directory")
    write(tmp_path, "pool", pool_spec(pool_dir.parent / "file"))
    result = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert result.returncode == 1
    assert "exists and is not a directory" in result.stdout


def test_overlapping_networks_are_refused(system, tmp_path):
    for index, address in enumerate(("10.253.80.1", "10.253.80.129")):
        write(
            tmp_path,
            f"net{index}",
            textwrap.dedent(
                f"""\
                apiVersion: vmspec/v1
                kind: Network
                metadata: {{name: {TEST_PREFIX}ov{index}}}
                spec: {{forward: isolated, ip: {{address: {address}, prefix: {24 if index == 0 else 25}}}}}
                """
            ),
        )
    result = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert result.returncode == 1
    assert f"its addresses overlap the network '{TEST_PREFIX}ov0'" in result.stdout


def test_a_cloud_init_seed_is_uploaded_attached_and_rebuilt_only_when_it_changes(
    system, tmp_path, pool_dir
):
    pycdlib = pytest.importorskip("pycdlib", reason="pycdlib builds the seeds; it is a dependency")

    write(tmp_path, "pool", pool_spec(pool_dir))
    cloud_init = f"cloudInit:\n  pool: {POOL}\n  userData: {{hostname: seeded}}\n"
    write(tmp_path, "vm", guest_spec("seeded", cloud_init, state="running"))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    seed = pool_dir / f"{TEST_PREFIX}seeded-cidata.iso"
    assert f"  volume {POOL}/{seed.name}: created" in applied.stdout

    iso = pycdlib.PyCdlib()
    iso.open(str(seed))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "cidata"
        user_data, meta_data = io.BytesIO(), io.BytesIO()
        iso.get_file_from_iso_fp(user_data, rr_path="/user-data")
        iso.get_file_from_iso_fp(meta_data, rr_path="/meta-data")
    finally:
        iso.close()
    assert user_data.getvalue() == b"#cloud-config\nhostname: seeded\n"
    assert f"instance-id: {TEST_PREFIX}seeded".encode() in meta_data.getvalue()
    running = system.lookupByName(f"{TEST_PREFIX}seeded").XMLDesc(0)
    assert f"<source pool='{POOL}' volume='{seed.name}'" in running and "<readonly/>" in running

    again = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert again.returncode == 0, again.stdout

    write(
        tmp_path,
        "vm",
        guest_spec("seeded", cloud_init.replace("seeded", "reseeded"), state="running"),
    )
    changed = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert changed.returncode == 2
    assert f"~ volume {POOL}/{seed.name}: replace" in changed.stdout
    assert f"the cloud-init data of {TEST_PREFIX}seeded changed" in changed.stdout
