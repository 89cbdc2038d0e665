"""TPMs on the real libvirtd: an emulated TPM's state (swtpm's, under
/var/lib/libvirt/swtpm/UUID) survives an apply that changes another field, since apply
redefines with the same uuid and never undefines; and each kind of TPM plans to no
changes after apply, what libvirt fills in or drops on define included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, guest_spec, vmspec, write

SWTPM_STATE = Path("/var/lib/libvirt/swtpm")


def state_files(uuid: str) -> list[str]:
    folder = SWTPM_STATE / uuid
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_an_emulated_tpm_keeps_its_state_through_an_update_and_a_restart(system, tmp_path):
    spec = write(tmp_path, "tpm", guest_spec("tpm", "tpm: {}\n"))
    created = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert created.returncode == 0, created.stdout + created.stderr
    domain = system.lookupByName(f"{TEST_PREFIX}tpm")
    uuid = domain.UUIDString()
    assert domain.isActive()
    # swtpm_setup made the TPM 2.0's state at the first start: its keys live here. A file
    # of the test's own beside it shows the folder is the same one, not made again
    # (undefine would remove the whole folder).
    assert "tpm2/tpm2-00.permall" in state_files(uuid)
    (SWTPM_STATE / uuid / "vmspec-test-mark").write_text(uuid)
    before = state_files(uuid)

    write(tmp_path, "tpm", guest_spec("tpm", "tpm: {}\n", memory="96MiB"))
    updated = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert state_files(uuid) == before

    restarted = vmspec(
        "apply", "--restart", "--force", "--shutdown-timeout", "1", "-c", SYSTEM_URI, str(spec)
    )
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert system.lookupByName(f"{TEST_PREFIX}tpm").isActive()
    # The same state, not a new one: swtpm_setup runs only where there is none.
    assert state_files(uuid) == before
    plan = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert plan.returncode == 0, plan.stdout + plan.stderr


@pytest.mark.parametrize(
    "tpm",
    [
        "{}",
        "{model: tpm-tis, version: '1.2'}",
        "{version: '2.0', persistentState: false}",  # libvirt drops persistent_state='no'
        "{persistentState: true}",
        # A passthrough TPM: tests/host/test_families_libvirtd.py applies the family's
        # example where /dev/tpm0 exists, and checks that plan refuses it where not.
    ],
)
def test_every_kind_of_tpm_plans_to_no_changes_after_apply(system, tmp_path, tpm):
    spec = write(tmp_path, "tpm", guest_spec("tpm", f"tpm: {tpm}\n", state="stopped"))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    plan = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_pruning_a_vm_keeps_its_tpm_state_as_it_keeps_its_disks(system, tmp_path):
    # libvirt removes swtpm's folder on undefine unless told to keep it; a pruned Windows
    # guest would lose BitLocker's sealed keys with it, while its disks stay.
    spec = write(tmp_path, "tpm", guest_spec("tpm", "tpm: {}\n"))
    created = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert created.returncode == 0, created.stdout + created.stderr
    uuid = system.lookupByName(f"{TEST_PREFIX}tpm").UUIDString()
    assert "tpm2/tpm2-00.permall" in state_files(uuid)

    other = write(tmp_path, "other", guest_spec("other", state="stopped"))
    pruned = vmspec("apply", "--prune", "--force", "-c", SYSTEM_URI, str(other))
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert f"{TEST_PREFIX}tpm" not in [domain.name() for domain in system.listAllDomains()]
    assert "tpm2/tpm2-00.permall" in state_files(uuid)
    shutil.rmtree(SWTPM_STATE / uuid)
