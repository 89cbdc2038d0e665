"""The plan as a dependency graph on libvirt's test driver: references checked
whatever the power state, refusals that block dependents, "known after apply",
prune that keeps what others use, and --target."""

from __future__ import annotations

import textwrap

import pytest

from tests.host.conftest import TEST_PREFIX, guest_spec, write
from tests.host.test_scopes import apply_in, by_key, network_spec, plan_in
from vmspec.compare.model import Action, Options
from vmspec.host.apply import apply_plan, resources_to_apply
from vmspec.host.graph import TargetError
from vmspec.host.report import plan_lines

POOL = TEST_PREFIX + "pool"


def pool_spec(path: str = "/var/lib/vmspec-tests/pool") -> str:
    return (
        f"apiVersion: vmspec/v1\nkind: StoragePool\nmetadata: {{name: {POOL}}}\n"
        f"spec: {{type: dir, path: {path}}}\n"
    )


def volume_vm(name: str, disk: str, state: str = "stopped") -> str:
    return guest_spec(name, "disks:\n" + textwrap.indent(textwrap.dedent(disk), "  "), state=state)


def test_a_refused_pool_blocks_its_volumes_and_their_vm_and_apply_touches_none(host, tmp_path):
    # A pool of that name made by hand: vmspec refuses it, so nothing that needs it may go on.
    host.connection.storagePoolDefineXML(
        f"<pool type='dir'><name>{POOL}</name><target><path>/tmp/elsewhere</path></target></pool>",
        0,
    )
    write(tmp_path, "pool", pool_spec())
    write(
        tmp_path,
        "vm",
        volume_vm(
            "vm",
            f"- target: vda\n  volume: {{pool: {POOL}, name: vm.qcow2, create: {{capacity: 1GiB}}}}\n",
        ),
    )
    the_plan = plan_in("default", host, tmp_path)
    actions = by_key(the_plan)
    assert actions[f"pool/{POOL}"] == Action.REFUSE
    assert actions[f"volume/{POOL}/vm.qcow2"] == Action.BLOCKED
    assert actions[f"domain/{TEST_PREFIX}vm"] == Action.BLOCKED
    text = "\n".join(plan_lines(the_plan))
    assert f"! {TEST_PREFIX}vm: blocked: it needs the pool {POOL}, which is refused" in text
    assert f"! volume {POOL}/vm.qcow2: blocked: it needs the pool {POOL}, which is refused" in text
    assert len(the_plan.refused) == 3  # what makes plan and apply exit 1
    assert apply_plan(host, the_plan, Options(), lambda _: None) == []
    assert f"{TEST_PREFIX}vm" not in {d.name() for d in host.connection.listAllDomains()}


def test_a_backing_volume_known_only_after_apply_is_checked_then_and_blocks_the_vm(host, tmp_path):
    write(tmp_path, "pool", pool_spec())
    disk = f"""\
        - target: vda
          volume:
            pool: {POOL}
            name: vm.qcow2
            create: {{capacity: 1GiB, format: qcow2, backingStore: base.qcow2}}
        """
    write(tmp_path, "vm", volume_vm("vm", disk))
    the_plan = plan_in("default", host, tmp_path)
    (volume,) = [plan for plan in the_plan.resources if plan.kind == "volume"]
    assert volume.action == Action.CREATE
    assert (
        volume.known_after_apply and f"the pool {POOL} does not run yet" in volume.known_after_apply
    )
    assert "(known after apply)" in "\n".join(plan_lines(the_plan))
    done: list[str] = []
    taken_up = [plan.key for plan in resources_to_apply(the_plan)]
    counted: list[str] = []
    failures = apply_plan(
        host, the_plan, Options(), done.append, done=lambda plan: counted.append(plan.key)
    )
    # The pool is made; the backing volume is not in it, so the volume fails and the VM
    # that needs it is never defined: nothing is half-applied.
    assert [error.operation for error in failures] == ["checking the volume", "applying"]
    # A progress bar counts the failed volume and the blocked VM too: it ends full.
    assert counted == taken_up and len(counted) == 3
    assert "backing volume 'base.qcow2' is not in the pool" in str(failures[0])
    assert f"blocked: it needs the volume {POOL}/vm.qcow2, which failed" in str(failures[1])
    assert host.connection.storagePoolLookupByName(POOL).isActive()
    assert f"{TEST_PREFIX}vm" not in {d.name() for d in host.connection.listAllDomains()}


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            "interfaces: [{network: nowhere}]",
            "interface 1: the network 'nowhere' is neither in the specs nor on the host",
        ),
        (
            "disks: [{target: vda, volume: {pool: nowhere, name: a.img}}]",
            "disk vda: the pool 'nowhere' is neither in the specs nor on the host",
        ),
        (
            "disks: [{target: vda, volume: {pool: default-pool, name: missing.img}}]",
            "disk vda: the volume default-pool/missing.img does not exist",
        ),
    ],
)
def test_a_stopped_vm_that_refers_to_nothing_is_refused(host, tmp_path, extra, reason):
    host.connection.storagePoolDefineXML(
        "<pool type='dir'><name>default-pool</name><target><path>/default-pool</path></target></pool>",
        0,
    ).create(0)
    spec = write(tmp_path, "vm", guest_spec("vm", extra, state="stopped"))
    (resource,) = plan_in("default", host, spec).resources
    assert (resource.action, resource.reason) == (Action.REFUSE, reason)


def test_prune_keeps_a_network_that_a_remaining_guest_uses(host, tmp_path):
    network = f"{TEST_PREFIX}net"
    write(tmp_path, "net", network_spec("net", "10.251.3"))
    write(tmp_path, "vm", guest_spec("user", f"interfaces: [{{network: {network}}}]"))
    apply_in("default", host, tmp_path)
    (tmp_path / "net.yaml").unlink()
    pruned = apply_in("default", host, tmp_path, prune=True)
    (kept,) = [plan for plan in pruned.resources if plan.key == f"network/{network}"]
    assert kept.action == Action.NONE
    assert kept.notes == [f"kept: {TEST_PREFIX}user still use(s) it"]
    assert host.connection.networkLookupByName(network).isActive()

    (tmp_path / "vm.yaml").unlink()
    write(tmp_path, "other", guest_spec("other", state="stopped"))
    gone = plan_in("default", host, tmp_path, prune=True, force=True)
    assert by_key(gone)[f"network/{network}"] == Action.DELETE  # its last user goes in the same run


def test_a_target_brings_what_it_needs_and_nothing_else(host, tmp_path):
    write(tmp_path, "pool", pool_spec())
    disk = f"- target: vda\n  volume: {{pool: {POOL}, name: a.img, create: {{capacity: 1GiB}}}}\n"
    write(tmp_path, "a", volume_vm("a", disk))
    write(tmp_path, "b", guest_spec("b", state="stopped"))
    documents_plan = plan_in("default", host, tmp_path)
    from vmspec.host.graph import with_dependencies

    targeted = with_dependencies(documents_plan.resources, [f"domain/{TEST_PREFIX}a"])
    assert [plan.key for plan in targeted] == [
        f"pool/{POOL}",
        f"volume/{POOL}/a.img",
        f"domain/{TEST_PREFIX}a",
    ]
    with pytest.raises(TargetError, match="--target domain/nope: no spec describes it"):
        with_dependencies(documents_plan.resources, ["domain/nope"])


def test_destroy_removes_pools_and_networks_only_when_targeted_and_unused(host, tmp_path):
    from vmspec.compile import ValidDocuments
    from vmspec.host.destroy import plan_destroy

    network = f"{TEST_PREFIX}net"
    write(tmp_path, "pool", pool_spec())
    write(tmp_path, "net", network_spec("net", "10.251.4"))
    write(tmp_path, "vm", guest_spec("user", f"interfaces: [{{network: {network}}}]"))
    apply_in("default", host, tmp_path)
    # A domain outside the specs that uses the network too: it stays, so the network does.
    host.connection.defineXML(
        f"<domain type='test'><name>{TEST_PREFIX}outsider</name><memory>65536</memory>"
        f"<os><type>hvm</type></os><devices><interface type='network'><source network='{network}'/>"
        "</interface></devices></domain>"
    )

    def destroy(*targets: str):
        options = Options(force=True, targets=targets)
        return plan_destroy(host, list(ValidDocuments([tmp_path])), options)

    untargeted = by_key(destroy())
    assert untargeted == {f"domain/{TEST_PREFIX}user": Action.DELETE}
    targeted = destroy(f"domain/{TEST_PREFIX}user", f"pool/{POOL}", f"network/{network}")
    assert by_key(targeted) == {
        f"domain/{TEST_PREFIX}user": Action.DELETE,
        f"pool/{POOL}": Action.DELETE,
        f"network/{network}": Action.NONE,
    }
    (kept,) = [plan for plan in targeted.resources if plan.kind == "network"]
    assert kept.notes == [f"kept: {TEST_PREFIX}outsider still use(s) it"]
    assert apply_plan(host, targeted, Options(force=True), lambda _: None) == []
    assert POOL not in {pool.name() for pool in host.connection.listAllStoragePools()}
    assert host.connection.networkLookupByName(network).isActive()
