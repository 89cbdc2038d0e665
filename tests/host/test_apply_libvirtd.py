"""plan/apply against Debian's real libvirtd and QEMU, through the command as users run it."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from lxml import etree

from tests.host.conftest import (
    SYSTEM_URI,
    TEST_PREFIX,
    guest_spec,
    libvirt,
    remove_test_domains,
    vmspec,
    write,
)

HAS_KVM = Path("/dev/kvm").exists()


def virsh(*args: str) -> str:
    return subprocess.run(
        ["virsh", "-c", SYSTEM_URI, *args], capture_output=True, text=True, check=True
    ).stdout


def test_create_then_a_second_apply_changes_nothing(system, tmp_path):
    # The devices whose running form differs most from their definition: a VNC port is
    # picked at start, a pty names its /dev/pts/N, the agent channel gets a socket path.
    running_devices = (
        "autostart: true\n"
        "graphics: [{type: vnc, listen: 127.0.0.1}]\n"
        "serials: [{type: pty}]\n"
        "guestAgent: true\n"
        "rng: {backend: /dev/urandom}\n"
    )
    write(tmp_path, "web", guest_spec("web", running_devices))

    write(tmp_path, "db", guest_spec("db", state="stopped"))
    first = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"+ {TEST_PREFIX}web: create; start; autostart on" in first.stdout
    assert f"  {TEST_PREFIX}web: started" in first.stdout
    web = system.lookupByName(f"{TEST_PREFIX}web")
    assert web.isActive() and web.autostart()
    assert not system.lookupByName(f"{TEST_PREFIX}db").isActive()

    second = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert second.returncode == 0
    assert second.stdout.strip() == f"No changes: {SYSTEM_URI} matches the specs."
    plan = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert plan.returncode == 0, plan.stdout
    assert plan.stdout.splitlines()[-1] == "No changes: the host matches the specs."
    assert "restart" not in plan.stdout


def test_every_example_defines_without_a_perpetual_diff(system, tmp_path, examples_runnable_here):
    # Defined, not started: their disks are empty files. Those that need pools and seeds
    # are tested with their pools elsewhere.
    (tmp_path / "examples.yaml").write_text(yaml.safe_dump_all(examples_runnable_here))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    plan = vmspec("plan", "-c", SYSTEM_URI, str(tmp_path))
    assert plan.returncode == 0, plan.stdout


def test_drift_is_shown_field_by_field_and_repaired(system, tmp_path):
    spec = write(tmp_path, "drift", guest_spec("drift", state="stopped"))
    assert vmspec("apply", "-c", SYSTEM_URI, str(spec)).returncode == 0
    name = f"{TEST_PREFIX}drift"
    virsh("setmaxmem", name, "262144", "--config")
    disk = tmp_path / "extra.xml"
    disk.write_text(
        "<disk type='file' device='disk'><source file='/tmp/x.img'/><target dev='vdz' bus='virtio'/></disk>"
    )
    virsh("attach-device", name, str(disk), "--config")
    xml = system.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    system.defineXML(
        xml.replace("<timer name='hpet' present='no'/>", "<timer name='hpet' present='yes'/>")
    )

    plan = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert plan.returncode == 2
    assert f"~ {name}: update (drift: changed behind vmspec's back)" in plan.stdout
    assert "    memory: 262144 → 65536  [restart]" in plan.stdout
    assert "    clock/timer[hpet]/@present: yes → no  [restart]" in plan.stdout
    assert "    devices/disk[vdz]: <disk" in plan.stdout

    applied = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert system.lookupByName(name).maxMemory() == 65536
    assert vmspec("plan", "-c", SYSTEM_URI, str(spec)).returncode == 0


def test_an_unmanaged_domain_is_refused_and_untouched_until_adopted(system, tmp_path):
    name = f"{TEST_PREFIX}handmade"
    handmade = (
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    domain = system.defineXML(handmade)
    before = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    spec = write(tmp_path, "handmade", guest_spec("handmade", state="stopped"))

    refused = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert refused.returncode == 1
    assert (
        f"{name}: refused: a domain named '{name}' exists but vmspec does not manage it (use --adopt"
        in refused.stderr
    )
    assert system.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before

    adopted = vmspec("apply", "--adopt", "-c", SYSTEM_URI, str(spec))
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert f"  {name}: adopted" in adopted.stdout
    assert system.lookupByName(name).UUIDString() == domain.UUIDString()
    assert vmspec("plan", "-c", SYSTEM_URI, str(spec)).returncode == 0


def test_prune_deletes_the_domain_but_keeps_its_disk(system, tmp_path):
    image = tmp_path / "keep.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "16M"], check=True)
    specs = tmp_path / "specs"
    specs.mkdir()
    write(
        specs,
        "keep",
        guest_spec("keep", f"disks:\n  - target: vda\n    file: {image}\n", state="stopped"),
    )
    assert vmspec("apply", "-c", SYSTEM_URI, str(specs)).returncode == 0
    (specs / "keep.yaml").unlink()
    write(specs, "other", guest_spec("other", state="stopped"))
    pruned = vmspec("apply", "--prune", "-c", SYSTEM_URI, str(specs))
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert f"  {TEST_PREFIX}keep: deleted (disks kept)" in pruned.stdout
    assert f"{TEST_PREFIX}keep" not in {d.name() for d in system.listAllDomains()}
    assert image.exists()


def test_update_in_place_keeps_the_uuid_and_a_running_guest_waits_for_restart(system, tmp_path):
    spec = write(tmp_path, "upd", guest_spec("upd"))
    assert vmspec("apply", "-c", SYSTEM_URI, str(spec)).returncode == 0
    name = f"{TEST_PREFIX}upd"
    uuid = system.lookupByName(name).UUIDString()
    write(tmp_path, "upd", guest_spec("upd", memory="96MiB"))

    plan = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert plan.returncode == 2
    assert (
        f"~ {name}: update; restart needed (running; apply --restart to restart it now)"
        in plan.stdout
    )
    applied = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    domain = system.lookupByName(name)
    assert domain.UUIDString() == uuid and domain.isActive()
    definition = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert "<memory unit='KiB'>98304</memory>" in definition  # the definition is current...
    again = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert "need a restart" in again.stdout  # ...and the guest still runs the old one

    restarted = vmspec(
        "apply", "--restart", "--force", "--shutdown-timeout", "1", "-c", SYSTEM_URI, str(spec)
    )
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert f"  {name}: powered off for restart (--force)" in restarted.stdout
    assert system.lookupByName(name).isActive()
    final = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert (
        final.returncode == 0
        and final.stdout.splitlines()[-1] == "No changes: the host matches the specs."
    )


def test_a_restart_without_force_reports_a_guest_that_does_not_shut_down(system, tmp_path):
    spec = write(tmp_path, "stuck", guest_spec("stuck"))
    assert vmspec("apply", "-c", SYSTEM_URI, str(spec)).returncode == 0
    write(tmp_path, "stuck", guest_spec("stuck", memory="96MiB"))
    result = vmspec("apply", "--restart", "--shutdown-timeout", "1", "-c", SYSTEM_URI, str(spec))
    assert result.returncode == 1
    assert "did not shut down within 1 s (add --force to power it off)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert system.lookupByName(f"{TEST_PREFIX}stuck").isActive()


@pytest.mark.skipif(not HAS_KVM, reason="no /dev/kvm on this machine")
def test_on_a_nested_host_kvm_defaults_to_no_cpu_and_starts(system, tmp_path):
    capabilities = system.getCapabilities()
    if "name='hypervisor'" not in capabilities:
        pytest.skip("this host is not itself a VM")
    spec = write(tmp_path, "kvm", guest_spec("kvm", domain_type="kvm"))
    plan = vmspec("plan", "--output", "json", "-c", SYSTEM_URI, str(spec))
    (entry,) = json.loads(plan.stdout)["resources"]
    assert any("hypervisor" in note for note in entry["notes"])
    applied = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    domain = system.lookupByName(f"{TEST_PREFIX}kvm")
    assert domain.isActive()
    assert "<cpu mode='host-model'" not in domain.XMLDesc(0)


@pytest.mark.skipif(not HAS_KVM, reason="no /dev/kvm on this machine")
def test_an_explicit_host_model_on_a_nested_host_is_kept(system, tmp_path):
    if "name='hypervisor'" not in system.getCapabilities():
        pytest.skip("this host is not itself a VM")
    spec = write(tmp_path, "hm", guest_spec("hm", "cpu: {mode: host-model}\n", domain_type="kvm"))
    plan = vmspec("plan", "--output", "json", "-c", SYSTEM_URI, str(spec))
    assert json.loads(plan.stdout)["resources"][0]["notes"] == []  # the spec chose; no override
    result = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    # Whether it starts depends on the outer hypervisor (here, with no guest OS, it does);
    # when it does not, the error says what to change, and the creation is rolled back.
    if result.returncode != 0:
        assert "leave spec.cpu out or set cpu: {mode: none}" in result.stdout
        assert "undefined again, since it could not start" in result.stdout
        return
    definition = system.lookupByName(f"{TEST_PREFIX}hm").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert "<cpu mode='host-model'" in definition


def test_plan_output_json_is_one_document(system, tmp_path):
    spec = write(tmp_path, "json", guest_spec("json"))
    result = vmspec("plan", "--output", "json", "-c", SYSTEM_URI, str(spec))
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["uri"] == SYSTEM_URI
    assert document["resources"][0]["action"] == "create"


def test_libvirt_default_uri_comes_from_the_environment(system, tmp_path):
    spec = write(tmp_path, "env", guest_spec("env"))
    result = vmspec("plan", str(spec), env={"LIBVIRT_DEFAULT_URI": SYSTEM_URI})
    assert result.returncode == 2
    assert result.stdout.startswith(f"Plan for {SYSTEM_URI}")


def test_live_attaches_a_new_disk_to_a_running_guest(system, tmp_path):
    # QEMU runs as libvirt-qemu and cannot reach into pytest's private /tmp folder.
    Path("/var/lib/libvirt/images").mkdir(parents=True, exist_ok=True)
    images = Path(tempfile.mkdtemp(prefix=TEST_PREFIX, dir="/var/lib/libvirt/images"))
    images.chmod(0o755)
    image = images / "hot.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "16M"], check=True)
    spec = write(tmp_path, "hot", guest_spec("hot"))
    assert vmspec("apply", "-c", SYSTEM_URI, str(spec)).returncode == 0
    write(tmp_path, "hot", guest_spec("hot", f"disks:\n  - target: vdb\n    file: {image}\n"))

    plan = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert "    devices/disk[vdb]: (absent) → <disk" in plan.stdout and "[live]" in plan.stdout
    assert "restart needed" in plan.stdout  # without --live, the disk waits for the next boot
    applied = vmspec("apply", "--live", "-c", SYSTEM_URI, str(spec))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"  {TEST_PREFIX}hot: attached devices/disk[vdb] to the running guest" in applied.stdout
    running = system.lookupByName(f"{TEST_PREFIX}hot").XMLDesc(0)
    assert str(image) in running
    after = vmspec("plan", "--live", "-c", SYSTEM_URI, str(spec))
    assert after.returncode == 0, after.stdout
    remove_test_domains(system)
    shutil.rmtree(images)


def test_a_missing_disk_file_is_refused_before_anything_is_defined(system, tmp_path):
    image = tmp_path / "later.img"
    spec = write(
        tmp_path, "nodisk", guest_spec("nodisk", f"disks: [{{target: vda, file: {image}}}]\n")
    )
    refused = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert refused.returncode == 1
    assert f"refused: disk vda: {image} does not exist" in refused.stdout
    assert f"{TEST_PREFIX}nodisk" not in {domain.name() for domain in system.listAllDomains()}


def test_a_guest_that_fails_to_start_is_rolled_back_and_a_fixed_spec_converges(system, tmp_path):
    # A serial log in a folder that does not exist: nothing a plan checks, so only the
    # start fails (QEMU cannot open it).
    console = f"/var/lib/libvirt/images/{TEST_PREFIX}no-such-folder/console.log"
    spec = write(
        tmp_path,
        "nobridge",
        guest_spec("nobridge", f"serials: [{{type: file, path: {console}}}]\n"),
    )
    failed = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert failed.returncode == 1
    assert "Traceback" not in failed.stdout + failed.stderr
    assert f"! {TEST_PREFIX}nobridge: starting failed:" in failed.stdout
    assert console in failed.stdout  # libvirt's own message names the file
    assert f"  {TEST_PREFIX}nobridge: undefined again, since it could not start" in failed.stdout
    assert f"{TEST_PREFIX}nobridge" not in {domain.name() for domain in system.listAllDomains()}

    write(tmp_path, "nobridge", guest_spec("nobridge"))
    fixed = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert system.lookupByName(f"{TEST_PREFIX}nobridge").isActive()


def test_an_update_keeps_the_addresses_and_controllers_libvirt_allocated(system, tmp_path):
    """libvirt picks PCI slots and adds root ports at the first define; an update defines
    the spec again with them (vmspec/host/preserve.py). Without that, the NIC put first
    would take the first NIC's slot, and the guest would rename that NIC (enp1s0 → enp2s0)
    and lose its network. The display password is set again too."""
    image = tmp_path / "keep.img"
    image.touch()
    nics = "  - {user: {}, mac: '52:54:00:aa:00:01'}\n  - {user: {}, mac: '52:54:00:aa:00:02'}\n"
    devices = (
        "machine: q35\n"
        f"disks:\n  - target: vda\n    file: {image}\n"
        "graphics: [{type: vnc, listen: 127.0.0.1, passwordEnv: VMSPEC_TEST_VNC_PASSWORD}]\n"
    )
    env = {"VMSPEC_TEST_VNC_PASSWORD": "Vn9!x#2q"}
    spec = write(
        tmp_path, "alloc", guest_spec("alloc", devices + f"interfaces:\n{nics}", state="stopped")
    )
    assert vmspec("apply", "-c", SYSTEM_URI, str(spec), env=env).returncode == 0
    name = f"{TEST_PREFIX}alloc"
    before = _allocations(system.lookupByName(name))

    first = "  - {user: {}, mac: '52:54:00:aa:00:00'}\n"
    write(
        tmp_path,
        "alloc",
        guest_spec("alloc", devices + f"interfaces:\n{first}{nics}", state="stopped"),
    )
    applied = vmspec("apply", "-c", SYSTEM_URI, str(spec), env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    domain = system.lookupByName(name)
    after = _allocations(domain)
    assert {device: after[device] for device in before} == before
    assert after["interface 52:54:00:aa:00:00"] not in before.values()
    assert "passwd='Vn9!x#2q'" in domain.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
    plan = vmspec("plan", "-c", SYSTEM_URI, str(spec), env=env)
    assert plan.returncode == 0, plan.stdout  # no drift: the marker's hash is the spec's
    assert "Vn9!x#2q" not in plan.stdout + applied.stdout


def _allocations(domain) -> dict[str, str]:
    """Each device's address and each controller (with its PCI topology), as libvirt
    stores them."""
    root = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    found = {}
    for device in root.find("devices"):
        address = device.find("address")
        if device.tag == "controller":
            key = f"controller {device.get('type')} {device.get('index')}"
            found[key] = etree.tostring(device).decode()
        elif address is not None:
            named = ("mac/@address", "target/@dev", "model/@type", "@model", "@type")
            name = next(filter(None, (device.xpath(f"string({xpath})") for xpath in named)))
            found[f"{device.tag} {name}"] = etree.tostring(address).decode()
    return found
