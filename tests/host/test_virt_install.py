"""VMs as virt-install makes them on the real libvirtd, imported from its --print-xml
output and from the host after `virsh define`, then adopted without any change and
planned to no changes. The XML is generated here, never committed; disks are empty
files, because --print-xml creates the volume of a `size=N` disk.

The whole matrix (32 VMs) is benchmarks/virt_install_report.py; these are the ones the
vocabulary covers so far, each a regression test for what made it importable.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from lxml import etree

from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, libvirt, vmspec, write
from vmspec.lift.sources import lift_xml

pytestmark = pytest.mark.skipif(
    shutil.which("virt-install") is None, reason="virt-install (Debian's virtinst) is missing"
)

# (name, extra virt-install options): VMs the vocabulary covers, each for a reason.
COVERED = (
    ("headless", ("--osinfo", "debian11", "--graphics", "none")),  # a bare pty console
    ("vnc", ("--osinfo", "debian11", "--graphics", "vnc")),  # the agent channel's bind
    ("alpine", ("--osinfo", "alpinelinux3.17", "--graphics", "none")),
    ("serial", ("--osinfo", "debian11", "--graphics", "none", "--serial", "pty")),  # alone
    # SPICE, virt-install's default: sound, USB redirection, the SPICE agent, vmport off,
    # image compression off, tlsPort -1.
    ("spice", ("--osinfo", "debian11")),
    # Windows: virt-install's three Hyper-V enlightenments, kept as they are, not the
    # policy's nine (features.hyperv), and hypervclock in the clock.
    ("windows", ("--osinfo", "win10")),
    ("sata", ("--osinfo", "ubuntu22.04", "--disk", "path={disk2},bus=sata")),
    # virtio-scsi, which libvirt would replace by lsilogic if an import dropped it.
    ("scsi", ("--osinfo", "ubuntu22.04", "--disk", "path={disk2},bus=scsi")),
    # Windows 7: USB 2 with its three USB 1 companions, which share the master's index.
    ("win7", ("--osinfo", "win7")),
    ("watchdog", ("--osinfo", "debian11", "--watchdog", "i6300esb,action=reset")),
    ("pinned", ("--osinfo", "debian11", "--vcpus", "2,cpuset=0")),
    # An emulated TPM: tpm-crb without a version, which libvirt fills in (2.0).
    ("tpm", ("--osinfo", "debian11", "--tpm", "emulator")),
    # UEFI: virt-install adds that TPM by itself to every UEFI guest.
    ("uefi", ("--osinfo", "debian11", "--boot", "uefi")),
    # Windows 11: UEFI, its TPM 2.0, and Windows' Hyper-V enlightenments.
    ("win11", ("--osinfo", "win11")),
    # <memoryBacking><hugepages/>: defined only, the host has no huge pages to start it on.
    ("hugepages", ("--osinfo", "fedora37", "--memorybacking", "hugepages=on")),
    # A virtiofs share, with the memfd shared memory libvirt requires for it.
    (
        "virtiofs",
        (
            "--osinfo",
            "rhel9.0",
            "--filesystem",
            "{share},share,driver.type=virtiofs",
            "--memorybacking",
            "source.type=memfd,access.mode=shared",
        ),
    ),
)


def print_xml(name: str, extra: tuple[str, ...], disk: Path) -> str:
    command = ["virt-install", "--print-xml", "--connect", SYSTEM_URI, "--name", name]
    command += ["--memory", "512", "--vcpus", "1", "--import", "--noautoconsole"]
    command += ["--disk", f"path={disk}", "--network", "network=default"]
    files = {"disk2": disk.with_name("disk2.img"), "share": disk.with_name("share")}
    command += [option.format(**files) for option in extra]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def default_network(system):
    """virt-install's NIC is on libvirt's network 'default'; made for the test if missing."""
    try:
        system.networkLookupByName("default")
        yield "default"
        return
    except libvirt.libvirtError:
        pass
    network = system.networkDefineXML(
        "<network><name>default</name><bridge name='vst-default'/></network>"
    )
    network.create()
    yield "default"
    network.destroy()
    network.undefine()


@pytest.mark.parametrize(("name", "extra"), COVERED, ids=[name for name, _ in COVERED])
def test_a_virt_install_vm_imports_and_is_adopted_unchanged(
    system, default_network, tmp_path, name, extra
):
    images = Path(f"/var/lib/libvirt/images/{TEST_PREFIX}vi-{name}")
    images.mkdir(parents=True, exist_ok=True)
    disk = images / "disk.img"
    disk.touch()
    disk.with_name("disk2.img").touch()
    disk.with_name("share").mkdir(exist_ok=True)
    domain_name = f"{TEST_PREFIX}vi-{name}"
    xml = print_xml(domain_name, extra, disk)
    try:
        from_xml = lift_xml(xml, name)
        assert from_xml.dropped == (), from_xml.dropped
        root = etree.fromstring(xml.encode())
        assert from_xml.document["spec"]["osinfo"] == root.find("metadata/{*}libosinfo/{*}os").get(
            "id"
        )

        system.defineXML(xml)
        before = system.lookupByName(domain_name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        imported = vmspec("import", "-c", SYSTEM_URI, domain_name)
        assert imported.returncode == 0, imported.stderr
        from_host = yaml.safe_load(imported.stdout)
        # The same VM gives the same spec, whichever way it is imported.
        assert from_host["spec"] == {**from_xml.document["spec"], **from_host["spec"]}
        spec = write(tmp_path, name, imported.stdout)
        adopted = vmspec("apply", "--adopt", "-c", SYSTEM_URI, str(spec))
        assert adopted.returncode == 0, adopted.stdout + adopted.stderr
        after = system.lookupByName(domain_name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        assert _without_marker(after) == _without_marker(before)
        plan = vmspec("plan", "-c", SYSTEM_URI, str(spec))
        assert plan.returncode == 0, plan.stdout
    finally:
        shutil.rmtree(images, ignore_errors=True)


def _without_marker(xml: str) -> bytes:
    root = etree.fromstring(xml.encode())
    for marker in root.findall("metadata/{https://vmspec.dev/xmlns/domain/1}domain"):
        marker.getparent().remove(marker)
    # libvirt sorts the controllers of a definition it parses by type and index, but
    # appends those it adds itself at define (a root port for a watchdog, say): defining
    # its own inactive XML again with virsh reorders them too. The order is libvirt's.
    devices = root.find("devices")
    controllers = devices.findall("controller")
    if controllers:
        first = list(devices).index(controllers[0])
        for controller in controllers:
            devices.remove(controller)
        ordered = sorted(controllers, key=lambda c: (c.get("type"), int(c.get("index", "0"))))
        for offset, controller in enumerate(ordered):
            devices.insert(first + offset, controller)
    return etree.tostring(root, method="c14n", exclusive=True)


def test_a_virtio_scsi_controller_survives_import_and_compile(system, tmp_path):
    # virt-install makes a storage pool of each disk's folder: one named after this run,
    # which the `system` fixture removes afterwards.
    images = Path(f"/var/lib/libvirt/images/{TEST_PREFIX}vi-scsi-compile")
    images.mkdir(parents=True, exist_ok=True)
    disk, second = images / "disk.img", images / "disk2.img"
    disk.touch()
    second.touch()
    xml = print_xml(
        "vi-scsi", ("--osinfo", "ubuntu22.04", "--disk", f"path={second},bus=scsi"), disk
    )
    lifted = lift_xml(xml, "vi-scsi")
    assert lifted.dropped == (), lifted.dropped
    assert {"type": "scsi", "model": "virtio-scsi"} in lifted.document["spec"]["controllers"]
    spec = write(tmp_path, "scsi", yaml.safe_dump(lifted.document))
    compiled = vmspec("compile", str(spec))
    assert compiled.returncode == 0, compiled.stderr
    # Without it, libvirt would give the SCSI disk its default lsilogic controller, which a
    # Windows guest booting from virtio-scsi cannot boot from.
    assert '<controller type="scsi" index="0" model="virtio-scsi"/>' in compiled.stdout
    shutil.rmtree(images, ignore_errors=True)
