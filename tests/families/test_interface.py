"""The interface family on the XML libvirt writes for each interface type: import gives
the spec's shape of it, and compiling that gives the same XML back."""

from __future__ import annotations

import dataclasses

import pytest
from lxml import etree

from vmspec.config.domain import Domain
from vmspec.config.xmlmap import canonical_xml, from_element
from vmspec.emit import domain_xml
from vmspec.families.family import Identity
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
    pytest.param(
        "<interface type='hostdev' managed='yes'><mac address='52:54:00:00:00:01'/>"
        "<source><address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/>"
        "</source><vlan><tag id='42'/></vlan><virtualport type='802.1Qbg'><parameters "
        "managerid='11' typeid='1193047' typeidversion='2' "
        "instanceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/></virtualport>"
        "<model type='virtio'/><driver name='vfio'/></interface>",
        {
            "hostdev": {"address": "0000:03:07.1", "driver": "vfio"},
            "mac": "52:54:00:00:00:01",
            "vlan": {"tags": [42]},
            "virtualport": {
                "managerid": 11,
                "typeid": 1193047,
                "typeidversion": 2,
                "instanceid": "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f",
                "type": "802.1Qbg",
            },
        },
        id="hostdev",
    ),
    pytest.param(
        "<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='ovsbr'/>"
        "<vlan trunk='yes'><tag id='42' nativeMode='untagged'/><tag id='48'/></vlan>"
        "<virtualport type='openvswitch'><parameters profileid='web' "
        "interfaceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/></virtualport>"
        "<model type='virtio'/></interface>",
        {
            "bridge": "ovsbr",
            "mac": "52:54:00:00:00:01",
            "vlan": {"tags": [42, 48], "native": {"tag": 42, "mode": "untagged"}},
            "virtualport": {
                "profileid": "web",
                "interfaceid": "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f",
                "type": "openvswitch",
            },
        },
        id="openvswitch",
    ),
    pytest.param(
        "<interface type='udp'><mac address='52:54:00:00:00:01'/>"
        "<source address='192.168.10.1' port='5555'><local address='192.168.10.1' "
        "port='5556'/></source><model type='rtl8139'/></interface>",
        {
            "udp": {
                "address": "192.168.10.1",
                "port": 5555,
                "local": {"address": "192.168.10.1", "port": 5556},
            },
            "model": "rtl8139",
            "mac": "52:54:00:00:00:01",
        },
        id="udp",
    ),
    pytest.param(
        "<interface type='server'><mac address='52:54:00:00:00:01'/><source port='2015'/>"
        "<model type='virtio'/></interface>",
        {"server": {"port": 2015}, "mac": "52:54:00:00:00:01"},
        id="server",
    ),
    pytest.param(
        "<interface type='vdpa'><mac address='52:54:00:00:00:01'/>"
        "<source dev='/dev/vhost-vdpa-0'/><model type='virtio'/><driver queues='2'/></interface>",
        {"vdpa": {"dev": "/dev/vhost-vdpa-0"}, "mac": "52:54:00:00:00:01", "driver": {"queues": 2}},
        id="vdpa",
    ),
    pytest.param(
        "<interface type='network' trustGuestRxFilters='yes'><mac address='52:54:00:00:00:01'/>"
        "<source network='default' portgroup='web'/><bandwidth><inbound average='1000' "
        "peak='4000' floor='200' burst='1024'/><outbound average='128'/></bandwidth>"
        "<port isolated='yes'/><model type='virtio'/><driver><host csum='off' "
        "mrg_rxbuf='off'/><guest tso4='off'/></driver><backend tap='/dev/net/tun' "
        "vhost='/dev/vhost-net'/><tune><sndbuf>1600</sndbuf></tune><link state='down'/>"
        "<mtu size='9000'/><coalesce><rx><frames max='7'/></rx></coalesce>"
        "<rom bar='off' file='/etc/fake/bootrom.bin'/></interface>",
        {
            "network": "default",
            "mac": "52:54:00:00:00:01",
            "driver": {"host": {"csum": False, "mrgRxbuf": False}, "guest": {"tso4": False}},
            "portgroup": "web",
            "trustGuestRxFilters": True,
            "bandwidth": {
                "inbound": {"average": 1000, "peak": 4000, "floor": 200, "burst": 1024},
                "outbound": {"average": 128},
            },
            "port": {"isolated": True},
            "rom": {"bar": False, "file": "/etc/fake/bootrom.bin"},
            "backend": {"tap": "/dev/net/tun", "vhost": "/dev/vhost-net"},
            "sndbuf": 1600,
            "link": "down",
            "mtu": 9000,
            "coalesce": {"rxMaxFrames": 7},
        },
        id="options",
    ),
    pytest.param(
        "<interface type='ethernet'><mac address='52:54:00:00:00:01'/>"
        "<script path='/home/ifup.sh'/><downscript path='/home/ifdown.sh'/>"
        "<model type='virtio'/></interface>",
        {
            "ethernet": {"script": "/home/ifup.sh", "downscript": "/home/ifdown.sh"},
            "mac": "52:54:00:00:00:01",
        },
        id="downscript",
    ),
    pytest.param(
        "<interface type='user'><mac address='52:54:00:00:00:01'/>"
        "<ip address='172.17.2.0' family='ipv4' prefix='24'/>"
        "<ip address='2001:db8:ac10:fd01::' family='ipv6' prefix='64'/>"
        "<model type='virtio'/></interface>",
        {
            "user": {
                "ips": [
                    {"address": "172.17.2.0", "prefix": 24},
                    {"address": "2001:db8:ac10:fd01::", "prefix": 64},
                ]
            },
            "mac": "52:54:00:00:00:01",
        },
        id="user-addresses",
    ),
    pytest.param(
        "<interface type='ethernet'><mac address='52:54:00:00:00:01'/><source>"
        "<ip address='192.168.125.1' family='ipv4' prefix='24' peer='192.168.125.2'/>"
        "<route family='ipv4' address='10.20.0.0' prefix='16' gateway='192.168.125.2'/>"
        "</source><model type='virtio'/></interface>",
        {
            "ethernet": {
                "ips": [{"address": "192.168.125.1", "prefix": 24, "peer": "192.168.125.2"}],
                "routes": [{"address": "10.20.0.0", "prefix": 16, "gateway": "192.168.125.2"}],
            },
            "mac": "52:54:00:00:00:01",
        },
        id="ethernet-host-addresses",
    ),
    pytest.param(
        "<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
        "<source bridge='br0'/><target dev='mytap0'/><model type='virtio-transitional'/>"
        "</interface>",
        {
            "bridge": "br0",
            "model": "virtio-transitional",
            "mac": "52:54:00:00:00:01",
            "target": "mytap0",
        },
        id="tap-named-on-a-bridge",
    ),
    pytest.param(
        "<interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
        "<source type='unix' path='/tmp/vhost3.sock' mode='client'><reconnect enabled='no'/>"
        "</source><model type='virtio'/></interface>",
        {
            "vhostuser": {"path": "/tmp/vhost3.sock", "mode": "client", "reconnect": False},
            "mac": "52:54:00:00:00:01",
        },
        id="vhostuser-reconnect-off",
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


def test_the_virtualport_ids_libvirt_makes_up_are_no_difference():
    # libvirt 9.0 gives an Open vSwitch port without an interfaceid a random one at define.
    from vmspec.families import interface

    spec = {"interfaces": [{"bridge": "ovsbr", "virtualport": {"type": "openvswitch"}}]}
    wanted = interface.lower(spec, Identity(NAME, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"))
    (nic,) = wanted
    parameters = interface.nic_options.VirtualPortParameters(
        interfaceid="09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"
    )
    live = (
        dataclasses.replace(
            nic, virtualport=dataclasses.replace(nic.virtualport, parameters=parameters)
        ),
    )
    assert interface.libvirt_fills_in(live, wanted) == wanted
    # ...but an interfaceid the spec gives is the spec's, and another one is a difference.
    assert interface.libvirt_fills_in(live, live) == live


# What the spec has no word for, and the XPath import names it by.
NAMED_AS_DROPPED = [
    # Debian's libvirt 9.0 is built without passt (Disable-passt-support.patch).
    pytest.param(
        "<interface type='user'><mac address='52:54:00:00:00:01'/>"
        "<source dev='eth42'/><model type='virtio'/><backend type='passt'/></interface>",
        "backend/@type",
        id="passt",
    ),
]


@pytest.mark.parametrize(("interface", "named"), NAMED_AS_DROPPED)
def test_what_the_spec_cannot_say_is_a_named_loss(interface, named):
    result = lifted(domain(interface))
    assert not result.lossless
    assert any(named in item for item in result.dropped), result.dropped


def test_a_failover_pair_imports_with_its_alias_teaming_and_shared_mac():
    # As libvirt 9.0 writes net-virtio-teaming.xml (addresses left out).
    pair = (
        "<interface type='user'><mac address='00:11:22:33:44:55'/><model type='virtio'/>"
        "<teaming type='persistent'/><alias name='ua-backup0'/></interface>"
        "<interface type='hostdev' managed='yes'><mac address='00:11:22:33:44:55'/>"
        "<source><address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/>"
        "</source><teaming type='transient' persistent='ua-backup0'/></interface>"
    )
    result = lifted(domain(pair))
    assert result.lossless, result.dropped
    assert result.document["spec"]["interfaces"] == [
        {"user": {}, "mac": "00:11:22:33:44:55", "alias": "ua-backup0", "teaming": "persistent"},
        {
            "hostdev": {"address": "0000:03:07.1"},
            "mac": "00:11:22:33:44:55",
            "teaming": {"persistent": "ua-backup0"},
        },
    ]


def findings(spec):
    from vmspec.families import interface

    return [(f.path, f.message) for check in interface.FAMILY.checks for f in check(spec)]


@pytest.mark.parametrize(
    ("nic", "path", "message"),
    [
        (
            {"ethernet": {"target": "tap-lab"}, "coalesce": {"rxMaxFrames": 7}},
            ("coalesce",),
            "coalesce is for interface types network or bridge, not ethernet",
        ),
        (
            {"user": {}, "teaming": {"persistent": "ua-backup0"}},
            ("teaming",),
            "a transient failover NIC is a hostdev (or network) one, not user",
        ),
        (
            {"direct": {"dev": "eth0"}, "virtualport": {"type": "802.1Qbg", "managerid": 11}},
            ("virtualport",),
            "a virtualport of type 802.1Qbg needs typeid",
        ),
        (
            {"network": "default", "bandwidth": {"outbound": {"peak": 100}}},
            ("bandwidth", "outbound"),
            "a rate needs its average (or floor)",
        ),
    ],
)
def test_what_libvirt_refuses_on_a_nic_is_a_located_finding(nic, path, message):
    found = findings({"interfaces": [nic]})
    assert any(
        where == ("spec", "interfaces", 0, *path) and text.startswith(message)
        for where, text in found
    ), found
