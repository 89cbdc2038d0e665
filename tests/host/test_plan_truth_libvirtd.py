"""The plan is the truth and apply does exactly the plan, on the real libvirtd:
plan changes nothing, one apply converges a fresh setup, two applies at once both
converge, scopes keep repos apart, destroy asks first."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO
from tests.host.conftest import (
    SYSTEM_URI,
    TEST_PREFIX,
    TEST_SCOPE,
    guest_spec,
    run_subnet,
    vmspec,
    write,
)
from tests.host.test_storage_libvirtd import POOL, disk_vm, pool_dir, pool_spec  # noqa: F401


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


FROM_REPO = {"VMSPEC_SCOPE": ""}  # let the repo's .vmspec.yaml say the scope


def repo(directory: Path, scope: str) -> Path:
    """A repository that pins its scope in .vmspec.yaml, as a team commits it once."""
    (directory / ".git").mkdir(parents=True)
    (directory / ".vmspec.yaml").write_text(f"scope: {scope}\n")
    return directory


def test_plan_leaves_a_broken_pool_no_spec_uses_alone(system, tmp_path, pool_dir):  # noqa: F811
    pool_dir.mkdir()
    broken = system.storagePoolDefineXML(
        f"<pool type='dir'><name>{TEST_PREFIX}broken</name>"
        f"<target><path>{pool_dir}</path></target></pool>",
        0,
    )
    broken.create(0)
    pool_dir.rmdir()  # its folder is gone: a refresh would fail and stop the pool
    spec = write(tmp_path, "vm", guest_spec("vm", state="stopped"))
    result = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert result.returncode == 2, result.stdout + result.stderr
    assert broken.isActive()


def test_one_apply_converges_a_new_pool_over_a_folder_holding_the_base_image(
    system,
    tmp_path,
    pool_dir,  # noqa: F811
):
    pool_dir.mkdir()
    pool_dir.chmod(0o755)
    qemu_img("create", "-q", "-f", "qcow2", str(pool_dir / "base.qcow2"), "16M")
    write(tmp_path, "pool", pool_spec(pool_dir))
    write(tmp_path, "vm", disk_vm("vm", "64MiB", state="running"))
    plan = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "(known after apply)" in plan.stdout
    first = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr
    assert system.lookupByName(f"{TEST_PREFIX}vm").isActive()
    again = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_stopped_vm_with_a_missing_disk_file_is_refused_and_nothing_is_defined(system, tmp_path):
    missing = f"/var/lib/libvirt/images/{TEST_PREFIX}missing.qcow2"
    extra = f"disks: [{{target: vda, file: {missing}}}]\n"
    spec = write(tmp_path, "vm", guest_spec("vm", extra, state="stopped"))
    result = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert result.returncode == 1
    assert f"refused: disk vda: {missing} does not exist" in result.stdout
    assert f"{TEST_PREFIX}vm" not in {domain.name() for domain in system.listAllDomains()}


def test_two_applies_at_once_with_volumes_both_converge(system, tmp_path, pool_dir):  # noqa: F811
    write(tmp_path, "pool", pool_spec(pool_dir))
    for index in range(20):
        write(tmp_path, f"vm{index}", disk_vm(f"vm{index}", "16MiB", backing=None))
    command = [sys.executable, "-m", "vmspec", "apply", "-c", SYSTEM_URI, str(tmp_path)]
    runs = [
        subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "VMSPEC_SCOPE": TEST_SCOPE},
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    failed = [
        line[:400] for output in outputs for line in output.splitlines() if line.startswith("!")
    ]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(failed) or outputs
    names = {domain.name() for domain in system.listAllDomains()}
    assert {f"{TEST_PREFIX}vm{index}" for index in range(20)} <= names
    plan = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_prune_in_one_repo_leaves_another_repos_vms_and_network_alone(system, tmp_path):
    team_a, team_b = repo(tmp_path / "a", "team-a"), repo(tmp_path / "b", "team-b")
    network = textwrap.dedent(
        f"""\
        apiVersion: vmspec/v1
        kind: Network
        metadata: {{name: {TEST_PREFIX}a-net}}
        spec: {{forward: isolated, ip: {{address: {run_subnet(5)}.1, prefix: 24}}}}
        """
    )
    write(team_a, "net", network)
    write(team_a, "vm", guest_spec("a-vm", state="stopped"))
    write(team_b, "vm", guest_spec("b-vm", state="stopped"))
    assert vmspec("apply", "-c", SYSTEM_URI, str(team_a), env=FROM_REPO).returncode == 0
    assert vmspec("apply", "-c", SYSTEM_URI, str(team_b), env=FROM_REPO).returncode == 0

    (team_b / "vm.yaml").unlink()
    write(team_b, "other", guest_spec("b-other", state="stopped"))
    pruned = vmspec("apply", "--prune", "-c", SYSTEM_URI, str(team_b), env=FROM_REPO)
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert f"in scope 'team-b' (from {team_b / '.vmspec.yaml'})" in pruned.stdout
    assert f"- {TEST_PREFIX}b-vm: delete" in pruned.stdout
    assert f"{TEST_PREFIX}a-" not in pruned.stdout
    names = {domain.name() for domain in system.listAllDomains()}
    assert f"{TEST_PREFIX}a-vm" in names and f"{TEST_PREFIX}b-vm" not in names
    assert system.networkLookupByName(f"{TEST_PREFIX}a-net").isActive()

    # Team b's spec naming team a's VM: refused with the owner and the way to move it.
    write(team_b, "stolen", guest_spec("a-vm", state="stopped", memory="96MiB"))
    stolen = vmspec("plan", "-c", SYSTEM_URI, str(team_b), env=FROM_REPO)
    assert stolen.returncode == 1
    assert "it belongs to the scope 'team-a', not to 'team-b'" in stolen.stdout


def test_destroy_shows_the_plan_asks_for_yes_and_removes_only_its_own(system, tmp_path, pool_dir):  # noqa: F811
    write(tmp_path, "pool", pool_spec(pool_dir))
    write(tmp_path, "vm", disk_vm("vm", "16MiB", backing=None, state="running"))
    write(tmp_path, "hand", guest_spec("hand", state="stopped"))
    assert vmspec("apply", "-c", SYSTEM_URI, str(tmp_path)).returncode == 0
    # Made by hand meanwhile, under a name the specs use: not vmspec's to destroy.
    system.lookupByName(f"{TEST_PREFIX}hand").undefine()
    system.defineXML(
        f"<domain type='qemu'><name>{TEST_PREFIX}hand</name><memory>65536</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )

    asked = vmspec("destroy", "-c", SYSTEM_URI, "--delete-volumes", str(tmp_path))
    assert asked.returncode == 1
    assert f"- {TEST_PREFIX}vm: delete" in asked.stdout
    assert f"- volume {POOL}/{TEST_PREFIX}vm.qcow2: delete" in asked.stdout
    assert "add --yes to destroy" in asked.stderr
    assert system.lookupByName(f"{TEST_PREFIX}vm").isActive()

    done = vmspec("destroy", "-c", SYSTEM_URI, "--delete-volumes", "--yes", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"= {TEST_PREFIX}hand: no changes" in done.stdout
    names = {domain.name() for domain in system.listAllDomains()}
    assert f"{TEST_PREFIX}vm" not in names and f"{TEST_PREFIX}hand" in names
    pool = system.storagePoolLookupByName(POOL)
    pool.refresh(0)
    assert pool.listVolumes() == []  # the volume went; the pool stays (not named by --target)
