"""The interface family on the XML libvirt writes for each interface type: import gives
the spec's shape of it, and compiling that gives the same XML back."""

from __future__ import annotations

import pytest
from lxml import etree

from vmspec.config.domain import Domain
from vmspec.config.xmlmap import canonical_xml, from_element
from vmspec.emit import domain_xml
from vmspec.lift.machine import lift_domain
from vmspec.lower import lower_virtual_machine

NAME = "nic-01"


def domain(interface: str) -> str:
    """A small TCG domain with one NIC, as ``virsh dumpxml --inactive`` shows it."""
    return (
        f"<domain type='qemu'><name>{NAME}</name><memory unit='KiB'>1048576</memory>"
        "<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os>"
        f"<devices>{interface}</devices></domain>"
    )


def lifted(xml: str):
    uncovered: list[str] = []
    parsed = from_element(Domain, etree.fromstring(xml), uncovered)
    return lift_domain(parsed, uncovered)


# What libvirt 9.0 writes back for each (virsh define, then dumpxml --inactive; the
# address left out), and the spec it imports as.
WRITTEN_BY_LIBVIRT = [
    pytest.param(
        "<interface type='user'><mac address='52:54:00:00:00:01'/>"
        "<model type='e1000'/></interface>",
        {"user": {}, "model": "e1000", "mac": "52:54:00:00:00:01"},
        id="user",
    ),
    pytest.param(
        "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/>"
        "<driver name='qemu' txmode='iothread' ioeventfd='on' event_idx='off' queues='1' "
        "rx_queue_size='512' tx_queue_size='256' rss='on' rss_hash_report='off' iommu='off' "
        "ats='off' packed='on' page_per_vq='off'/></interface>",
        {
            "user": {},
            "mac": "52:54:00:00:00:01",
            "driver": {
                "name": "qemu",
                "txmode": "iothread",
                "ioeventfd": True,
                "eventIdx": False,
                "queues": 1,
                "rxQueueSize": 512,
                "txQueueSize": 256,
                "rss": True,
                "rssHashReport": False,
                "iommu": False,
                "ats": False,
                "packed": True,
                "pagePerVq": False,
            },
        },
        id="driver",
    ),
    pytest.param(
        "<interface type='ethernet'><mac address='52:54:00:00:00:01'/>"
        "<script path='/etc/qemu-ifup'/><target dev='tap9' managed='no'/>"
        "<model type='virtio'/></interface>",
        {
            "ethernet": {"target": "tap9", "managed": False, "script": "/etc/qemu-ifup"},
            "mac": "52:54:00:00:00:01",
        },
        id="ethernet",
    ),
    pytest.param(
        "<interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
        "<source type='unix' path='/tmp/vhost-probe.sock' mode='client'/>"
        "<model type='virtio'/></interface>",
        {
            "vhostuser": {"path": "/tmp/vhost-probe.sock", "mode": "client"},
            "mac": "52:54:00:00:00:01",
        },
        id="vhostuser",
    ),
]


@pytest.mark.parametrize(("interface", "spec"), WRITTEN_BY_LIBVIRT)
def test_an_interface_libvirt_wrote_imports_as_its_shape_and_compiles_back(interface, spec):
    result = lifted(domain(interface))
    assert result.lossless, result.dropped
    assert result.document["spec"]["interfaces"] == [spec]
    compiled = etree.fromstring(domain_xml(lower_virtual_machine(result.document)))
    (nic,) = compiled.iterfind("devices/interface")
    assert canonical_xml(nic) == canonical_xml(etree.fromstring(interface))


def test_a_tap_device_libvirt_named_itself_is_no_difference():
    # A running guest's NIC, as libvirt shows it: vnet3 is libvirt's pick.
    result = lifted(
        domain(
            "<interface type='ethernet'><mac address='52:54:00:00:00:01'/>"
            "<target dev='vnet3'/><model type='virtio'/></interface>"
        )
    )
    assert result.lossless, result.dropped
    assert result.document["spec"]["interfaces"] == [{"ethernet": {}, "mac": "52:54:00:00:00:01"}]


def test_a_tap_device_named_by_hand_on_a_bridge_is_a_loss_not_libvirts():
    result = lifted(
        domain(
            "<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
            "<source bridge='br0'/><target dev='mytap0'/><model type='virtio'/></interface>"
        )
    )
    assert not result.lossless
    assert any("mytap0" in item for item in result.dropped), result.dropped
