"""Running TCG guests on the real libvirtd: after apply, plan compares the spec with what
each guest was started with (libvirt fills in bridges, backing chains, ports, listen
addresses, pty paths and sockets then), and must find nothing that needs a restart."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
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

NETWORK = f"{TEST_PREFIX}net"
POOL = f"{TEST_PREFIX}pool"
CLEAN = "No changes: the host matches the specs."


@pytest.fixture
def images():
    """A 0755 folder outside pytest's private /tmp one, since libvirt-qemu opens the images.
    Tests ask for it (and host_bridge) before system, so that system's cleanup removes
    their guests before the folder and the bridge go."""
    Path("/var/lib/libvirt/images").mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=TEST_PREFIX, dir="/var/lib/libvirt/images"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def host_bridge():
    name = run_bridge_name("b")
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=True)


def isolated_network_spec() -> str:
    settings = (
        f"{{forward: isolated, bridge: {run_bridge_name('n')}, "
        f"ip: {{address: {run_subnet(5)}.1, prefix: 24}}}}"
    )
    return (
        f"apiVersion: vmspec/v1\nkind: Network\nmetadata: {{name: {NETWORK}}}\nspec: {settings}\n"
    )


def bridge_network_spec(bridge: str) -> str:
    return (
        f"apiVersion: vmspec/v1\nkind: Network\nmetadata: {{name: {NETWORK}}}\n"
        f"spec: {{forward: bridge, bridge: {bridge}}}\n"
    )


def pool_spec(path: Path) -> str:
    return (
        f"apiVersion: vmspec/v1\nkind: StoragePool\nmetadata: {{name: {POOL}}}\n"
        f"spec: {{type: dir, path: {path}}}\n"
    )


def qcow2(path: Path, backing: Path | None = None) -> Path:
    backing_args = ["-b", str(backing), "-F", "qcow2"] if backing else []
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", *backing_args, str(path), "32M"], check=True
    )
    return path


def apply_and_see_it_run(system, specs: Path, name: str) -> None:
    applied = vmspec("apply", "-c", SYSTEM_URI, str(specs))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # A stopped guest has no running definition to compare: the test would prove nothing.
    assert system.lookupByName(f"{TEST_PREFIX}{name}").isActive()


def assert_plan_is_clean(specs: Path) -> None:
    plan = vmspec("plan", "-c", SYSTEM_URI, str(specs))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert plan.stdout.splitlines()[-1] == CLEAN, plan.stdout
    assert "restart" not in plan.stdout
    as_json = vmspec("plan", "--output", "json", "-c", SYSTEM_URI, str(specs))
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    restarts = {
        resource["name"]: resource["restartChanges"]
        for resource in json.loads(as_json.stdout)["resources"]
        if resource["restart"]
    }
    assert restarts == {}


def test_apply_then_plan_is_clean_for_a_running_guest_with_a_network_nic(system, tmp_path):
    # libvirt writes the network's bridge and a port id into the NIC's source at start.
    write(tmp_path, "net", isolated_network_spec())
    write(tmp_path, "vm", guest_spec("netnic", f"interfaces: [{{network: {NETWORK}}}]\n"))
    apply_and_see_it_run(system, tmp_path, "netnic")
    assert_plan_is_clean(tmp_path)


def test_apply_then_plan_is_clean_for_a_running_guest_with_a_bridge_nic(
    host_bridge, system, tmp_path
):
    write(tmp_path, "vm", guest_spec("brnic", f"interfaces: [{{bridge: {host_bridge}}}]\n"))
    apply_and_see_it_run(system, tmp_path, "brnic")
    assert_plan_is_clean(tmp_path)


def test_apply_then_plan_is_clean_for_a_running_guest_on_a_network_over_a_host_bridge(
    host_bridge, system, tmp_path
):
    # The running NIC turns into <interface type='bridge'> naming the host bridge.
    write(tmp_path, "net", bridge_network_spec(host_bridge))
    write(tmp_path, "vm", guest_spec("brnet", f"interfaces: [{{network: {NETWORK}}}]\n"))
    apply_and_see_it_run(system, tmp_path, "brnet")
    assert_plan_is_clean(tmp_path)


def test_apply_then_plan_is_clean_for_a_running_guest_with_qcow2_overlays(images, system, tmp_path):
    """Three overlays: one whose backing file the spec does not state (libvirt reads it
    from the header), one that states it, and a volume vmspec creates over a base volume."""
    base = qcow2(images / "base.qcow2")
    unstated = qcow2(images / "unstated.qcow2", base)
    stated = qcow2(images / "stated.qcow2", base)
    pool = images / "pool"
    write(tmp_path, "pool", pool_spec(pool))
    assert vmspec("apply", "-c", SYSTEM_URI, str(tmp_path)).returncode == 0
    qcow2(pool / "base.qcow2")
    disks = f"""\
        disks:
          - {{target: vda, file: {unstated}, format: qcow2}}
          - target: vdb
            file: {stated}
            format: qcow2
            backingStore: {{file: {base}, format: qcow2}}
          - target: vdc
            volume:
              pool: {POOL}
              name: {TEST_PREFIX}overlay.qcow2
              create: {{capacity: 32MiB, format: qcow2, backingStore: base.qcow2}}
        """
    write(tmp_path, "vm", guest_spec("overlay", disks))
    apply_and_see_it_run(system, tmp_path, "overlay")
    assert_plan_is_clean(tmp_path)


def test_apply_then_plan_is_clean_for_a_running_guest_with_a_cloud_init_seed(
    images, system, tmp_path
):
    write(tmp_path, "pool", pool_spec(images))
    seed = f"cloudInit: {{pool: {POOL}, userData: {{hostname: seeded}}}}\n"
    write(tmp_path, "vm", guest_spec("seed", seed))
    apply_and_see_it_run(system, tmp_path, "seed")
    assert_plan_is_clean(tmp_path)


def test_apply_then_plan_is_clean_for_a_running_guest_with_vnc_and_spice(system, tmp_path):
    # Without a listen address each display listens where qemu.conf says; the ports are
    # picked at start.
    write(tmp_path, "vm", guest_spec("displays", "graphics: [{type: vnc}, {type: spice}]\n"))
    apply_and_see_it_run(system, tmp_path, "displays")
    assert_plan_is_clean(tmp_path)
    write(
        tmp_path,
        "vm",
        guest_spec("displays", "graphics: [{type: vnc, listen: 127.0.0.1}, {type: spice}]\n"),
    )
    apply_and_see_it_run(system, tmp_path, "displays")
    assert_plan_is_clean(tmp_path)


def test_apply_then_plan_is_clean_for_a_running_guest_with_a_pty_serial_and_agent(system, tmp_path):
    write(tmp_path, "vm", guest_spec("chardevs", "serials: [{type: pty}]\nguestAgent: true\n"))
    apply_and_see_it_run(system, tmp_path, "chardevs")
    assert_plan_is_clean(tmp_path)


def test_apply_then_plan_is_clean_for_a_running_guest_without_acpi_and_apic(system, tmp_path):
    write(tmp_path, "vm", guest_spec("noacpi", "features: {acpi: false, apic: false}\n"))
    apply_and_see_it_run(system, tmp_path, "noacpi")
    assert_plan_is_clean(tmp_path)


@pytest.mark.skipif(
    not Path("/usr/share/OVMF").is_dir(), reason="no OVMF build (Debian's ovmf) to boot EFI"
)
def test_apply_then_plan_is_clean_for_a_running_guest_with_efi_firmware(system, tmp_path):
    # libvirt resolves firmware='efi' to a loader and NVRAM at start, and the secure-boot
    # build it picks turns SMM on.
    write(tmp_path, "vm", guest_spec("efi", "machine: q35\nfirmware: efi\n", memory="128MiB"))
    apply_and_see_it_run(system, tmp_path, "efi")
    assert_plan_is_clean(tmp_path)


def test_apply_then_plan_is_clean_for_a_running_guest_with_everything_at_once(
    images, host_bridge, system, tmp_path
):
    base = qcow2(images / "base.qcow2")
    overlay = qcow2(images / "overlay.qcow2", base)
    write(tmp_path, "net", isolated_network_spec())
    write(tmp_path, "pool", pool_spec(images / "pool"))
    everything = f"""\
        disks: [{{target: vda, file: {overlay}, format: qcow2}}]
        interfaces: [{{network: {NETWORK}}}, {{bridge: {host_bridge}}}]
        graphics: [{{type: vnc}}, {{type: spice, listen: 127.0.0.1}}]
        serials: [{{type: pty}}]
        guestAgent: true
        cloudInit: {{pool: {POOL}, userData: {{hostname: everything}}}}
        """
    write(tmp_path, "vm", guest_spec("all", everything))
    apply_and_see_it_run(system, tmp_path, "all")
    assert_plan_is_clean(tmp_path)


def test_a_pending_restart_names_its_fields_in_text_and_json(system, tmp_path):
    name = f"{TEST_PREFIX}grown"
    write(tmp_path, "vm", guest_spec("grown", memory="64MiB"))
    apply_and_see_it_run(system, tmp_path, "grown")
    running_id = system.lookupByName(name).ID()

    write(tmp_path, "vm", guest_spec("grown", memory="96MiB"))
    apply_and_see_it_run(system, tmp_path, "grown")
    assert system.lookupByName(name).ID() == running_id, "apply restarted the guest"

    plan = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert plan.returncode in (0, 2), plan.stdout + plan.stderr
    assert f"{name}: restart needed" in plan.stdout
    restart_lines = [line.strip() for line in plan.stdout.splitlines() if "restart]" in line]
    assert any(line.startswith("memory: 65536 → 98304") for line in restart_lines), plan.stdout

    as_json = vmspec("plan", "--output", "json", "-c", SYSTEM_URI, str(tmp_path))
    [resource] = [r for r in json.loads(as_json.stdout)["resources"] if r["name"] == name]
    assert resource["restart"] == "needed"
    paths = {change["path"] for change in resource["restartChanges"]}
    assert "memory" in paths
    # Only what the spec changed needs the restart: nothing libvirt filled in at start.
    assert paths <= {"memory", "currentMemory"}, resource["restartChanges"]
