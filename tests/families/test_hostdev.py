"""The hostdev family on the XML libvirt writes for each kind of host device: import
gives the spec's shape of it, and compiling that gives the same XML back."""

from __future__ import annotations

import pytest
from lxml import etree

from vmspec.config.domain import Domain
from vmspec.config.xmlmap import canonical_xml, from_element
from vmspec.emit import domain_xml
from vmspec.lift.machine import lift_domain
from vmspec.lower import lower_virtual_machine


def lifted(devices: str, arch: str = "x86_64", machine: str = "q35"):
    xml = (
        "<domain type='qemu'><name>hostdev-01</name><memory unit='KiB'>1048576</memory>"
        f"<vcpu>1</vcpu><os><type arch='{arch}' machine='{machine}'>hvm</type></os>"
        f"<devices>{devices}</devices></domain>"
    )
    uncovered: list[str] = []
    return lift_domain(from_element(Domain, etree.fromstring(xml), uncovered), uncovered)


# As libvirt 9.0 writes them back (its test suite's qemuxml2xmloutdata, addresses left out).
WRITTEN_BY_LIBVIRT = [
    pytest.param(
        "<hostdev mode='subsystem' type='scsi' managed='no'><source>"
        "<adapter name='scsi_host0'/><address bus='0' target='0' unit='1074872354'/>"
        "</source><readonly/><shareable/></hostdev>",
        {
            "scsi": {
                "adapter": "scsi_host0",
                "bus": 0,
                "target": 0,
                "unit": 1074872354,
                "readonly": True,
                "shareable": True,
            }
        },
        id="scsi",
    ),
    pytest.param(
        "<hostdev mode='subsystem' type='scsi_host' managed='no'>"
        "<source protocol='vhost' wwpn='naa.5123456789abcde0'/><boot order='1'/></hostdev>",
        {"scsiHost": {"wwpn": "naa.5123456789abcde0"}, "boot": 1},
        id="vhost-scsi",
    ),
    pytest.param(
        "<hostdev mode='subsystem' type='usb' managed='no'><source guestReset='uninitialized' "
        "startupPolicy='optional'><address bus='14' device='6'/></source></hostdev>",
        {
            "usb": {
                "bus": 14,
                "device": 6,
                "startupPolicy": "optional",
                "guestReset": "uninitialized",
            }
        },
        id="usb-guest-reset",
    ),
]


@pytest.mark.parametrize(("hostdev", "spec"), WRITTEN_BY_LIBVIRT)
def test_a_hostdev_libvirt_wrote_imports_as_its_shape_and_compiles_back(hostdev, spec):
    result = lifted(hostdev)
    assert result.lossless, result.dropped
    assert result.document["spec"]["hostdevs"] == [spec]
    compiled = etree.fromstring(domain_xml(lower_virtual_machine(result.document)))
    (written,) = compiled.iterfind("devices/hostdev")
    assert canonical_xml(written) == canonical_xml(etree.fromstring(hostdev))


def test_a_device_boot_order_leaves_out_the_os_boot_list():
    # libvirt refuses <boot order> on a device together with <os><boot dev>.
    result = lifted(
        "<interface type='network'><mac address='52:54:00:00:00:01'/>"
        "<source network='default'/><model type='virtio'/><boot order='1'/></interface>"
    )
    assert result.lossless, result.dropped
    assert result.document["spec"]["interfaces"][0]["boot"] == 1
    compiled = etree.fromstring(domain_xml(lower_virtual_machine(result.document)))
    assert compiled.find("os/boot") is None
    assert compiled.find("devices/interface/boot").get("order") == "1"


def test_an_s390x_channel_io_device_imports_with_its_model():
    hostdev = (
        "<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-ccw'><source>"
        "<address uuid='90c6c135-ad44-41d0-b1b7-bae47de48627'/></source><boot order='1'/>"
        "</hostdev>"
    )
    result = lifted(hostdev, arch="s390x", machine="s390-ccw-virtio")
    assert result.lossless, result.dropped
    assert result.document["spec"]["hostdevs"] == [
        {"mdev": {"uuid": "90c6c135-ad44-41d0-b1b7-bae47de48627", "model": "vfio-ccw"}, "boot": 1}
    ]


def findings(spec):
    from vmspec.families import hostdev

    return [
        (finding.path, finding.message)
        for check in hostdev.FAMILY.checks
        for finding in check(spec)
    ]


def test_an_acpi_index_is_taken_once_by_nics_and_host_devices():
    spec = {
        "interfaces": [{"network": "default", "acpiIndex": 3}],
        "hostdevs": [{"pci": {"address": "0000:03:00.0"}, "acpiIndex": 3}],
    }
    assert findings(spec) == [
        (("spec", "hostdevs", 0, "acpiIndex"), "ACPI index 3 is interfaces[0]'s already")
    ]


def test_an_s390x_mediated_device_is_refused_elsewhere():
    spec = {
        "hostdevs": [{"mdev": {"uuid": "90c6c135-ad44-41d0-b1b7-bae47de48627", "model": "vfio-ap"}}]
    }
    assert findings(spec) == [
        (("spec", "hostdevs", 0, "mdev", "model"), "vfio-ap is s390x's: QEMU has it there only")
    ]
    assert findings({**spec, "arch": "s390x"}) == []
