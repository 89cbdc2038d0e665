"""Many hosts from one repo (--inventory): two test:// hosts with node files of their own,
the real qemu:///system, a peer daemon (an unprivileged user's libvirtd,
scripts/peer-libvirtd) and hosts that do not answer; then a cold move of a VM with a
10 GiB qcow2 holding 64 MiB from the system daemon to the peer.

The test driver keeps nothing between processes (each `vmspec` run opens a fresh
test:///FILE), so the no-change re-plan is checked on the two real daemons."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, guest_spec, qcow2, vmspec, write
from vmspec.host.move import copy_volume

GiB, MiB = 1024**3, 1024**2
NODE = """\
<node>
  <cpu><mhz>2000</mhz><model>x86_64</model><active>4</active><nodes>1</nodes>
  <sockets>1</sockets><cores>4</cores><threads>1</threads></cpu>
  <memory>{kib}</memory>
</node>
"""


def _inventory(path: Path, hosts: list[tuple[str, str, dict[str, str]]]) -> Path:
    lines = [
        "apiVersion: vmspec/v1",
        "kind: Inventory",
        "metadata: {name: lab}",
        "spec:",
        "  hosts:",
    ]
    for name, uri, labels in hosts:
        lines.append(
            f"    - {{name: {name}, uri: {json.dumps(uri)}, labels: {json.dumps(labels)}}}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def silent_port():
    """A TCP port that accepts connections and never answers: a host that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_an_inventory_is_planned_and_applied_host_by_host(
    system, peer, peer_uri, tmp_path, silent_port
):
    for name, kib in (("a", 4 * 2**20), ("b", 16 * 2**20)):
        (tmp_path / f"node-{name}.xml").write_text(NODE.format(kib=kib))
    inventory = _inventory(
        tmp_path / "inventory.yaml",
        [
            ("test-a", f"test://{tmp_path}/node-a.xml", {"kind": "test"}),
            ("test-b", f"test://{tmp_path}/node-b.xml", {"kind": "test"}),
            ("system", SYSTEM_URI, {"kind": "real"}),
            ("peer", peer_uri, {"kind": "real"}),
            ("refused", "qemu+unix:///system?socket=/nonexistent/libvirt-sock", {}),
            ("silent", f"qemu+tcp://127.0.0.1:{silent_port}/system", {}),
        ],
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    write(
        specs, "t1", guest_spec("t1", "placement: {hostSelector: {kind: test}}\n", state="stopped")
    )
    write(specs, "s1", guest_spec("s1", "placement: {host: system}\n", state="stopped"))
    write(specs, "p1", guest_spec("p1", "placement: {host: peer}\n"))
    fleet = ("--inventory", str(inventory), "--connect-timeout", "3", str(specs))

    planned = vmspec("plan", *fleet)
    as_json = vmspec("plan", "--output", "json", *fleet)
    applied = vmspec("apply", *fleet)

    assert [planned.returncode, as_json.returncode, applied.returncode] == [1, 1, 1], (
        planned.stdout + planned.stderr + applied.stdout + applied.stderr
    )
    for result in (planned, applied):
        assert "== refused (qemu+unix:///system?socket=/nonexistent/libvirt-sock)" in result.stdout
        assert "Failed to connect socket to '/nonexistent/libvirt-sock'" in result.stdout
        assert "no answer within 3 s" in result.stdout  # the silent host, within the timeout
    # The selector chose the test host with the most memory (16 GiB against 4).
    assert (
        f"placement: {TEST_PREFIX}t1 on test-b: the matching host with the most free memory"
        in planned.stdout
    )
    hosts = {entry["name"]: entry for entry in json.loads(as_json.stdout)["hosts"]}
    assert list(hosts) == ["test-a", "test-b", "system", "peer", "refused", "silent"]
    assert not hosts["refused"]["reachable"] and hosts["system"]["reachable"]
    created = {r["name"] for h in hosts.values() if h["plan"] for r in h["plan"]["resources"]}
    assert created == {f"{TEST_PREFIX}t1", f"{TEST_PREFIX}s1", f"{TEST_PREFIX}p1"}
    assert f"{TEST_PREFIX}s1" in {d.name() for d in system.listAllDomains()}
    assert peer.lookupByName(f"{TEST_PREFIX}p1").isActive()  # a TCG guest on the peer

    real = ("--limit", "system", "--limit", "peer", "--inventory", str(inventory), str(specs))
    again = vmspec("plan", *real)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"placement: {TEST_PREFIX}p1 stays on peer, where it is defined" in again.stdout
    # --limit leaves the other hosts alone (the scope prefix itself may contain "test-a").
    assert "== test-a" not in again.stdout and "\ntest-a " not in again.stdout

    destroyed = vmspec("destroy", "--yes", *real)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert f"{TEST_PREFIX}p1: deleted (disks kept)" in destroyed.stdout
    assert f"{TEST_PREFIX}s1" not in {d.name() for d in system.listAllDomains()}
    assert f"{TEST_PREFIX}p1" not in {d.name() for d in peer.listAllDomains()}


def test_a_placement_naming_no_host_is_a_located_error(tmp_path):
    inventory = _inventory(
        tmp_path / "inventory.yaml", [("kvm-01", "test:///default", {"zone": "a"})]
    )
    spec = write(tmp_path, "vm", guest_spec("vm", "placement: {host: kvm-1}\n"))
    result = vmspec("plan", "--inventory", str(inventory), str(spec))
    assert result.returncode == 1
    assert f"{spec}:10:21: spec.placement.host: no host 'kvm-1' in the inventory" in result.stderr
    assert "did you mean 'kvm-01'?" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def move_pools(twin_pools):
    """The twin pools, with a 10 GiB qcow2 holding 64 MiB in the system daemon's."""
    source_pool = twin_pools[0]
    here, there = (Path(etree.fromstring(p.XMLDesc(0)).findtext("target/path")) for p in twin_pools)
    image = here / "data.qcow2"
    qcow2(image, "10G")
    subprocess.run(
        ["qemu-io", "-c", "write -P 0x5a 1G 64M", str(image)], check=True, capture_output=True
    )
    source_pool.refresh(0)
    return source_pool.name(), here, there, twin_pools


def _mover(pool: str, host: str) -> str:
    return guest_spec(
        "mover",
        f"""\
        placement: {{host: {host}}}
        disks:
          - target: vda
            volume: {{pool: {pool}, name: data.qcow2}}
            format: qcow2
        """,
    )


def test_a_vm_moves_cold_with_its_sparse_qcow2_and_a_second_plan_shows_nothing(
    system, peer, peer_uri, move_pools, tmp_path
):
    pool, here, there, _ = move_pools
    inventory = _inventory(
        tmp_path / "inventory.yaml", [("system", SYSTEM_URI, {}), ("peer", peer_uri, {})]
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    fleet = ("--inventory", str(inventory), str(specs))
    write(specs, "mover", _mover(pool, "system"))
    created = vmspec("apply", *fleet)
    assert created.returncode == 0, created.stdout + created.stderr
    assert system.lookupByName(f"{TEST_PREFIX}mover").isActive()

    write(specs, "mover", _mover(pool, "peer"))
    planned = vmspec("plan", *fleet)
    refused = vmspec("apply", *fleet)
    still_running = vmspec("apply", "--allow-move", *fleet)  # it runs: needs --restart
    # SeaBIOS alone ignores ACPI shutdown: the guest is powered off (--force) after 1 s.
    moved = vmspec(
        "apply", "--allow-move", "--restart", "--force", "--shutdown-timeout", "1", *fleet
    )
    after = vmspec("plan", *fleet)

    assert [r.returncode for r in (planned, refused, still_running, moved, after)] == [
        2,
        1,
        1,
        0,
        0,
    ], "\n".join(r.stdout + r.stderr for r in (planned, refused, still_running, moved, after))
    assert f"{TEST_PREFIX}mover: move system → peer (64." in planned.stdout  # allocated, not 10 GiB
    assert "apply moves VMs between hosts only with --allow-move" in refused.stdout
    assert "moving it means shutting it down: add --restart" in still_running.stdout
    assert "checksum verified" in moved.stdout
    assert f"{TEST_PREFIX}mover" not in {d.name() for d in system.listAllDomains()}
    assert peer.lookupByName(f"{TEST_PREFIX}mover").isActive()
    copy = etree.fromstring(
        peer.storagePoolLookupByName(pool).storageVolLookupByName("data.qcow2").XMLDesc(0)
    )
    assert copy.find("target/format").get("type") == "qcow2"
    assert int(copy.findtext("capacity")) == 10 * GiB
    assert 64 * MiB <= int(copy.findtext("allocation")) < 80 * MiB
    assert (here / "data.qcow2").exists()  # the source volume is kept without --delete-volumes
    compared = subprocess.run(
        ["qemu-img", "compare", "-U", str(here / "data.qcow2"), str(there / "data.qcow2")],
        capture_output=True,
        text=True,
    )
    assert compared.returncode == 0, compared.stdout + compared.stderr


def _stopped_on_system_then_placed_on_peer(pool: str, peer_uri: str, tmp_path: Path):
    """A stopped mover applied on the system daemon, whose spec now says the peer: the
    fleet's command-line arguments and the specs folder."""
    inventory = _inventory(
        tmp_path / "inventory.yaml", [("system", SYSTEM_URI, {}), ("peer", peer_uri, {})]
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    fleet = ("--inventory", str(inventory), str(specs))
    write(specs, "mover", _mover(pool, "system").replace("state: running", "state: stopped"))
    assert vmspec("apply", *fleet).returncode == 0
    write(specs, "mover", _mover(pool, "peer").replace("state: running", "state: stopped"))
    return fleet, specs


def test_a_move_stopped_after_the_copy_and_the_define_converges_when_run_again(
    system, peer, peer_uri, move_pools, tmp_path
):
    """The state an apply leaves when it stops between defining on the target and
    undefining on the source, made here step by step with libvirt itself."""
    pool, _, _, (source_pool, target_pool) = move_pools
    fleet, specs = _stopped_on_system_then_placed_on_peer(pool, peer_uri, tmp_path)
    compiled = vmspec("compile", str(specs))
    copy_volume(source_pool.storageVolLookupByName("data.qcow2"), target_pool)
    peer.defineXML(compiled.stdout)

    planned = vmspec("plan", *fleet)
    rerun = vmspec("apply", "--allow-move", *fleet)
    after = vmspec("plan", *fleet)

    assert [planned.returncode, rerun.returncode, after.returncode] == [2, 0, 0], (
        planned.stdout + rerun.stdout + rerun.stderr + after.stdout
    )
    assert "on peer already, same data" in rerun.stdout
    assert f"{TEST_PREFIX}mover" not in {d.name() for d in system.listAllDomains()}
    assert f"{TEST_PREFIX}mover" in {d.name() for d in peer.listAllDomains()}


def test_a_copy_stopped_halfway_is_copied_again_and_other_data_is_never_overwritten(
    system, peer, peer_uri, move_pools, tmp_path
):
    """What an apply leaves when it stops during a copy: the target's volume holds part of
    the data, and the marker beside it says it is this move's. Made here with libvirt."""
    pool, _, _, (_, target_pool) = move_pools
    fleet, _ = _stopped_on_system_then_placed_on_peer(pool, peer_uri, tmp_path)
    partial = "<volume><name>data.qcow2</name><capacity>1048576</capacity></volume>"
    target_pool.createXML(partial, 0)

    unmarked = vmspec("apply", "--allow-move", *fleet)
    assert unmarked.returncode == 1
    assert (
        "has a volume " in unmarked.stdout and "with other data: not overwritten" in unmarked.stdout
    )
    assert f"{TEST_PREFIX}mover" in {d.name() for d in system.listAllDomains()}

    marker = "<volume><name>data.qcow2.vmspec-copying</name><capacity>0</capacity></volume>"
    target_pool.createXML(marker, 0)
    rerun = vmspec("apply", "--allow-move", *fleet)
    after = vmspec("plan", *fleet)
    assert [rerun.returncode, after.returncode] == [0, 0], rerun.stdout + after.stdout
    assert "an unfinished copy on peer: copied again" in rerun.stdout
    assert {v.name() for v in target_pool.listAllVolumes()} == {"data.qcow2"}
    assert f"{TEST_PREFIX}mover" not in {d.name() for d in system.listAllDomains()}


def test_an_overlay_moves_onto_the_base_image_the_target_has_at_the_same_path(
    system, peer, peer_uri, twin_pools, tmp_path
):
    """A folder both daemons see holds the base image, in a same-named pool on each: the
    target has it already, so only the overlay travels, still naming the base by path.
    An overlay whose base the target lacks, at a path its pool cannot give, is refused."""
    base_pool = f"{TEST_PREFIX}base"
    shared = Path("/srv") / base_pool
    shared.mkdir(parents=True, exist_ok=True)
    shared.chmod(0o755)
    base = shared / "base.qcow2"
    qcow2(base)
    base.chmod(0o644)
    for connection in (system, peer):
        connection.storagePoolDefineXML(
            f"<pool type='dir'><name>{base_pool}</name><target><path>{shared}</path></target></pool>"
        ).create(0)
    source_pool = twin_pools[0]
    here = Path(etree.fromstring(source_pool.XMLDesc(0)).findtext("target/path"))
    qcow2(here / "overlay.qcow2", backing=base)
    qcow2(here / "lonely.qcow2", backing=qcow2(here / "lonely-base.qcow2"))
    source_pool.refresh(0)
    inventory = _inventory(
        tmp_path / "inventory.yaml", [("system", SYSTEM_URI, {}), ("peer", peer_uri, {})]
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    fleet = ("--inventory", str(inventory), str(specs))

    def spec(volume: str, host: str) -> str:
        disk = f"disks: [{{target: vda, volume: {{pool: {source_pool.name()}, name: {volume}}}, format: qcow2}}]\n"
        return guest_spec(
            volume.split(".")[0], f"placement: {{host: {host}}}\n{disk}", state="stopped"
        )

    try:
        write(
            specs, "vms", spec("overlay.qcow2", "system") + "---\n" + spec("lonely.qcow2", "system")
        )
        assert vmspec("apply", *fleet).returncode == 0
        write(specs, "vms", spec("overlay.qcow2", "peer") + "---\n" + spec("lonely.qcow2", "peer"))
        planned = vmspec("plan", *fleet)
        moved = vmspec("apply", "--allow-move", *fleet)

        assert planned.returncode == 1 and moved.returncode == 1, planned.stdout + moved.stdout
        assert f"the backing file of {source_pool.name()}/overlay.qcow2" in planned.stdout
        assert f"is backed by {here}/lonely-base.qcow2, which peer lacks" in planned.stdout
        assert f"volume {base_pool}/base.qcow2: on peer already, same data" in moved.stdout
        moved_overlay = peer.storagePoolLookupByName(source_pool.name()).storageVolLookupByName(
            "overlay.qcow2"
        )
        assert etree.fromstring(moved_overlay.XMLDesc(0)).findtext("backingStore/path") == str(base)
        assert f"{TEST_PREFIX}overlay" in {d.name() for d in peer.listAllDomains()}
        assert f"{TEST_PREFIX}lonely" in {d.name() for d in system.listAllDomains()}
    finally:
        for connection in (system, peer):
            pool = connection.storagePoolLookupByName(base_pool)
            pool.destroy()
            pool.undefine()
        shutil.rmtree(shared, ignore_errors=True)


def test_import_and_diagnostics_read_every_host_of_the_inventory(system, peer, peer_uri, tmp_path):
    inventory = _inventory(
        tmp_path / "inventory.yaml",
        [
            ("system", SYSTEM_URI, {}),
            ("peer", peer_uri, {}),
            ("refused", "qemu+unix:///system?socket=/nonexistent/libvirt-sock", {}),
        ],
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    write(specs, "here", guest_spec("here", "placement: {host: system}\n", state="stopped"))
    write(specs, "there", guest_spec("there", "placement: {host: peer}\n"))
    fleet = ("--inventory", str(inventory), "--limit", "system", "--limit", "peer")
    assert vmspec("apply", *fleet, str(specs)).returncode == 0

    names = (f"{TEST_PREFIX}here", f"{TEST_PREFIX}there")
    imported = vmspec("import", *fleet, *names, "-o", str(tmp_path / "imported"))
    diagnosed = vmspec("diagnostics", "--inventory", str(inventory), "--output", "json", *names)
    unknown = vmspec("import", *fleet, f"{TEST_PREFIX}nowhere")

    assert imported.returncode == 0, imported.stdout + imported.stderr
    there = (tmp_path / "imported" / f"{TEST_PREFIX}there.yaml").read_text()
    assert "placement:\n    host: peer" in there or "placement: {host: peer}" in there, there
    # The imported specs plan to no changes where they came from.
    replanned = vmspec("plan", *fleet, str(tmp_path / "imported"))
    assert replanned.returncode == 0, replanned.stdout + replanned.stderr

    assert diagnosed.returncode == 1  # the refused host
    hosts = {entry["name"]: entry for entry in json.loads(diagnosed.stdout)["hosts"]}
    assert [d["name"] for d in hosts["peer"]["diagnostics"]["domains"]] == [f"{TEST_PREFIX}there"]
    assert hosts["peer"]["diagnostics"]["domains"][0]["state"] == "running"
    assert "Failed to connect socket" in hosts["refused"]["error"]

    assert unknown.returncode == 1
    assert f"no domain named '{TEST_PREFIX}nowhere' on system, peer" in unknown.stderr
