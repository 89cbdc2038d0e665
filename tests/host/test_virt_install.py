"""VMs as virt-install makes them on the real libvirtd, imported from its --print-xml
output and from the host after `virsh define`, then adopted without any change and
planned to no changes. The XML is generated here, never committed; disks are empty
files, because --print-xml creates the volume of a `size=N` disk.

The matrix (32 VMs: distributions, Windows 7 to Server 2022, UEFI, cdrom installs,
SPICE/VNC/headless, SATA/SCSI/IDE, e1000, TPM, virtiofs, hugepages, watchdog, pinning)
is benchmarks/virt_install_report.py's, which prints the same as a scoreboard.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from lxml import etree

from benchmarks import virt_install_report as report
from benchmarks.virt_install_report import MATRIX
from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, libvirt, vmspec, write
from vmspec.lift.sources import lift_xml

pytestmark = pytest.mark.skipif(
    shutil.which("virt-install") is None, reason="virt-install (Debian's virtinst) is missing"
)


def print_xml(name: str, os_name: str, extra: tuple[str, ...], images: Path) -> str:
    """virt-install's definition of one VM of the matrix, its files in ``images``."""
    files = {name: str(images / name) for name in ("disk", "disk2", "iso", "share")}
    xml, error = report.print_xml(SYSTEM_URI, name, os_name, extra, files)
    assert xml is not None, error
    return xml


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


@pytest.mark.parametrize(("name", "os_name", "extra"), MATRIX, ids=[row[0] for row in MATRIX])
def test_a_virt_install_vm_imports_and_is_adopted_unchanged(
    system, default_network, tmp_path, name, os_name, extra
):
    images = Path(f"/var/lib/libvirt/images/{TEST_PREFIX}vi-{name}")
    images.mkdir(parents=True, exist_ok=True)
    for file in ("disk", "disk2", "iso"):
        (images / file).touch()
    (images / "share").mkdir(exist_ok=True)
    domain_name = f"{TEST_PREFIX}vi-{name}"
    xml = print_xml(domain_name, os_name, extra, images)
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
    for file in ("disk", "disk2"):
        (images / file).touch()
    xml = print_xml("vi-scsi", "ubuntu22.04", ("--disk", "path={disk2},bus=scsi"), images)
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
