"""vmspec import against the real libvirtd: specs that plan to "no changes", and adoption
of a domain vmspec did not create."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.host.conftest import (
    SYSTEM_URI,
    TEST_PREFIX,
    libvirt,
    run_bridge_name,
    vmspec,
    write,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "specs" / "examples"


def test_every_example_that_runs_here_round_trips_through_import(
    system, tmp_path, examples_runnable_here
):
    specs = tmp_path / "specs"
    specs.mkdir()
    names = []
    for document in examples_runnable_here:
        if document["kind"] == "VirtualMachine":
            names.append(document["metadata"]["name"])
        (specs / f"{document['metadata']['name']}.yaml").write_text(yaml.safe_dump(document))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(specs))
    assert applied.returncode == 0, applied.stdout + applied.stderr

    imported = tmp_path / "imported"
    result = vmspec("import", "-c", SYSTEM_URI, "-o", str(imported), *names)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(path.stem for path in imported.glob("*.yaml")) == sorted(names)
    plan = vmspec("plan", "-c", SYSTEM_URI, str(imported))
    assert plan.returncode == 0, plan.stdout
    assert plan.stdout.splitlines()[-1] == "No changes: the host matches the specs."


@pytest.fixture
def host_bridge():
    """A Linux bridge of this run's: plan refuses a NIC on a bridge the host lacks."""
    bridge = run_bridge_name("h")
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    yield bridge
    subprocess.run(["ip", "link", "del", bridge], check=False)


def test_a_domain_defined_by_hand_is_imported_and_adopted_unchanged(system, tmp_path, host_bridge):
    name = f"{TEST_PREFIX}byhand"
    system.defineXML(
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>96</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>"
        "<features><acpi/><apic/></features>"
        "<devices><serial type='pty'/><interface type='bridge'><mac address='52:54:00:01:02:03'/>"
        f"<source bridge='{host_bridge}'/><model type='e1000'/></interface></devices></domain>"
    )
    before = system.lookupByName(name)
    uuid = before.UUIDString()

    result = vmspec("import", "-c", SYSTEM_URI, name)
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load(result.stdout)
    assert document["metadata"]["uuid"] == uuid  # not vmspec's derived one: kept
    assert document["spec"]["memory"] == "96MiB"
    assert document["spec"]["interfaces"] == [
        {"bridge": host_bridge, "model": "e1000", "mac": "52:54:00:01:02:03"}
    ]
    spec = write(tmp_path, "byhand", result.stdout)

    adopted = vmspec("apply", "--adopt", "-c", SYSTEM_URI, str(spec))
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    after = system.lookupByName(name)
    assert after.UUIDString() == uuid
    xml = after.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert (
        "52:54:00:01:02:03" in xml and "e1000" in xml and "<memory unit='KiB'>98304</memory>" in xml
    )
    assert vmspec("plan", "-c", SYSTEM_URI, str(spec)).returncode == 0


def test_what_the_spec_cannot_express_is_listed_and_refused_unless_lossy(system, tmp_path):
    name = f"{TEST_PREFIX}lossy"
    system.defineXML(
        guest_domain_xml(name).replace(
            "</devices>",
            "<shmem name='lossy'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>"
            "</devices>",
        )
    )
    refused = vmspec("import", "-c", SYSTEM_URI, name)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert f"{name}: not imported; the spec cannot express:" in refused.stderr
    assert "/domain/devices/shmem" in refused.stderr

    lossy = vmspec("import", "--lossy", "-c", SYSTEM_URI, name)
    assert lossy.returncode == 0
    assert yaml.safe_load(lossy.stdout)["metadata"]["name"] == name
    assert "dropped /domain/devices/shmem" in lossy.stderr


def test_an_unknown_name_is_an_error_that_names_it(system):
    result = vmspec("import", "-c", SYSTEM_URI, f"{TEST_PREFIX}nobody")
    assert result.returncode == 1
    assert f"'{TEST_PREFIX}nobody'" in result.stderr
    assert "Traceback" not in result.stderr


def test_offline_import_of_xml_files(tmp_path):
    xml = tmp_path / "dumped.xml"
    xml.write_text(guest_domain_xml("offline"))
    out = tmp_path / "out"
    result = vmspec("import", "--xml", str(xml), "-o", str(out))
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load((out / "offline.yaml").read_text())
    assert document["spec"]["domainType"] == "qemu"
    assert vmspec("validate", str(out)).returncode == 0


def guest_domain_xml(name: str) -> str:
    return (
        f"<domain type='qemu'><name>{name}</name><memory unit='KiB'>65536</memory>"
        "<currentMemory unit='KiB'>65536</currentMemory><vcpu placement='static'>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os><features><acpi/><apic/></features>"
        "<clock offset='utc'><timer name='pit' tickpolicy='delay'/><timer name='rtc' tickpolicy='catchup'/>"
        "<timer name='hpet' present='no'/></clock><on_poweroff>destroy</on_poweroff>"
        "<on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
        "<devices><memballoon model='virtio'/></devices></domain>"
    )
