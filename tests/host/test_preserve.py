"""What apply carries over from the live domain into the spec's (vmspec/host/preserve.py),
over config objects, and display passwords set on them (vmspec/host/secrets.py); no
libvirt needed. The live domains are written as libvirt stores them."""

from __future__ import annotations

import dataclasses
import re

from lxml import etree

from tests.conftest import EXAMPLE_SPECS
from vmspec.compare.diff import changes_between
from vmspec.compare.facts import HostFacts
from vmspec.compare.normalize import normalize_live
from vmspec.config.allocation import DeviceAlias, PciAddress, UsbAddress
from vmspec.config.domain import Domain
from vmspec.config.xmlmap import SECRET, from_element
from vmspec.emit import domain_xml
from vmspec.host.preserve import with_live_allocations
from vmspec.host.secrets import with_passwords
from vmspec.lower import lower_virtual_machine

PCI = "<address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>"
Q35_TOPOLOGY = (
    "<controller type='pci' index='0' model='pcie-root'><pcihole64 unit='GiB'>2</pcihole64>"
    "</controller><controller type='pci' index='1' model='pcie-root-port'>"
    "<model name='pcie-root-port'/><target chassis='1' port='0x10' hotplug='off'/>"
    "<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' "
    "multifunction='on'/></controller>"
)


def parsed(inside: str, devices: str = "") -> Domain:
    uncovered: list[str] = []
    domain = from_element(
        Domain,
        etree.fromstring(
            f"<domain type='qemu'><name>x</name>{inside}<devices>{devices}</devices></domain>"
        ),
        uncovered,
    )
    assert uncovered == []  # every address and alias here is covered by the mapping
    return domain


def test_a_disk_keeps_its_address_on_the_same_bus_only():
    live = parsed(
        "",
        f"<disk type='file' device='disk'><target dev='vda' bus='virtio'/>{PCI}</disk>"
        "<interface type='network'><mac address='52:54:00:00:00:01'/>"
        "<source network='n'/><address type='pci' slot='0x03'/></interface>",
    )
    same_bus = parsed(
        "",
        "<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>"
        "<interface type='network'><mac address='52:54:00:00:00:01'/><source network='m'/></interface>",
    )
    kept = with_live_allocations(same_bus, live).devices
    assert kept.disks[0].address == live.devices.disks[0].address
    assert kept.disks[0].address.slot == "0x07"
    assert kept.interfaces[0].address == PciAddress(slot="0x03")
    assert kept.interfaces[0].source.network == "m"  # the spec's, not the live one's

    other_bus = parsed("", "<disk type='file' device='disk'><target dev='vda' bus='sata'/></disk>")
    assert with_live_allocations(other_bus, live).devices.disks[0].address is None


def test_two_devices_of_one_identity_keep_their_own_addresses():
    live = parsed(
        "",
        "<video><model type='qxl' primary='yes'/><address type='pci' slot='0x02'/></video>"
        "<video><model type='qxl'/><address type='pci' slot='0x04'/></video>",
    )
    desired = parsed(
        "", "<video><model type='qxl' primary='yes'/></video><video><model type='qxl'/></video>"
    )
    kept = with_live_allocations(desired, live)
    assert [video.address.slot for video in kept.devices.videos] == ["0x02", "0x04"]


def test_every_address_type_is_carried_over_as_libvirt_wrote_it():
    devices = (
        "<disk type='file' device='disk'><target dev='sda' bus='scsi'/>"
        "<address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>"
        "<disk type='file' device='disk'><target dev='vda' bus='virtio'/>"
        "<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/></disk>"
        "<disk type='file' device='disk'><target dev='vdb' bus='virtio'/>"
        "<address type='pci' domain='0x0001' bus='0x00' slot='0x01' function='0x0'>"
        "<zpci uid='0x0001' fid='0x00000000'/></address></disk>"
        "<disk type='file' device='disk'><target dev='vdc' bus='virtio'/>"
        "<address type='virtio-mmio'/></disk>"
        "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>"
        "<address type='virtio-serial' controller='0' bus='0' port='1'/></channel>"
        "<input type='tablet' bus='usb'><address type='usb' bus='0' port='1.2'/></input>"
        "<smartcard mode='host'><address type='ccid' controller='0' slot='0'/></smartcard>"
        "<serial type='pty'><target port='0'/><address type='spapr-vio' reg='0x30000000'/></serial>"
        "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x03' "
        "slot='0x00' function='0x0'/></source><address type='unassigned'/></hostdev>"
        "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target>"
        "<address type='dimm' slot='0' base='0x100000000'/></memory>"
        "<panic model='isa'><address type='isa' iobase='0x505'/></panic>"
    )
    live = parsed("", devices)
    desired = parsed("", re.sub(r"<address type=[^>]*?(?:/>|>.*?</address>)", "", devices))
    kept = with_live_allocations(desired, live)
    assert kept == live
    assert domain_xml(kept) == domain_xml(live)


def test_libvirts_controllers_stay_with_their_topology_behind_the_root_the_spec_names():
    live = parsed(
        "",
        Q35_TOPOLOGY
        + "<controller type='usb' index='0' model='qemu-xhci'/>"
        + "<controller type='scsi' index='0' model='virtio-scsi'><driver iothread='1'/>"
        + "<alias name='ua-scsi'/><address type='pci' slot='0x05'/></controller>",
    )
    desired = parsed(
        "",
        "<controller type='pci' index='0' model='pcie-root'>"
        "<pcihole64 unit='KiB'>2097152</pcihole64></controller>",
    )
    controllers = with_live_allocations(desired, live).devices.controllers
    kinds = [(c.type, c.index) for c in controllers]
    assert kinds == [("pci", 0), ("pci", 1), ("usb", 0), ("scsi", 0)]
    assert controllers[1:] == live.devices.controllers[1:]  # whole, as libvirt stores them
    assert controllers[0].pcihole64.value == 2097152  # the spec's root, not the live one
    # The root port as libvirt stores it: model name, chassis, port, hotplug and address.
    assert controllers[1] == live.devices.controllers[1]
    assert controllers[1].target.hotplug is False and controllers[1].address.multifunction


def test_a_controller_of_a_type_the_spec_names_is_the_spec_s_and_keeps_its_address():
    live = parsed(
        "",
        "<controller type='scsi' index='0' model='lsilogic'><address type='pci' slot='0x05'/>"
        "</controller>",
    )
    desired = parsed("", "<controller type='scsi' index='0' model='virtio-scsi'/>")
    (controller,) = with_live_allocations(desired, live).devices.controllers
    assert controller.model == "virtio-scsi" and controller.address == PciAddress(slot="0x05")


def test_apply_keeps_the_generation_id_libvirt_chose():
    live = parsed("<genid>e9392370-2917-565e-692b-d057f46512d6</genid>")
    kept = with_live_allocations(parsed("<genid/>"), live)
    assert kept.genid.value == "e9392370-2917-565e-692b-d057f46512d6"
    chosen = parsed("<genid>00010203-0405-4607-8809-0a0b0c0d0e0f</genid>")
    assert with_live_allocations(chosen, live).genid == chosen.genid


def test_an_applied_example_plans_to_no_changes_with_libvirts_allocations():
    """The whole round: an example as apply defines it over a live domain that carries
    libvirt's addresses and aliases compares equal to the spec."""
    desired = lower_virtual_machine(EXAMPLE_SPECS["web-01"])
    live = _as_libvirt_allocates(desired)
    defined = with_live_allocations(desired, live)
    assert defined.devices.disks[0].address is not None
    assert changes_between(normalize_live(desired, defined, HostFacts()), desired) == []
    # and the marker's hash stays the spec's own: plan tells drift by it
    assert _marker_hash(domain_xml(defined, hash_of=desired)) == _marker_hash(domain_xml(desired))


def _as_libvirt_allocates(desired: Domain) -> Domain:
    devices = desired.devices
    disks = tuple(
        dataclasses.replace(
            disk, address=PciAddress(slot=f"0x{index + 4:02x}"), alias=DeviceAlias(name="ua-d")
        )
        for index, disk in enumerate(devices.disks)
    )
    inputs = tuple(
        dataclasses.replace(i, address=UsbAddress(bus="0", port="1")) for i in devices.inputs
    )
    return dataclasses.replace(
        desired, devices=dataclasses.replace(devices, disks=disks, inputs=inputs)
    )


def _marker_hash(xml: bytes) -> str:
    return etree.fromstring(xml).xpath("string(metadata/*/@hash)")


def test_a_password_reaches_the_xml_and_no_repr_or_diff():
    desired = lower_virtual_machine(EXAMPLE_SPECS["web-01"])
    kinds = [graphics.type for graphics in desired.devices.graphics]
    assert kinds  # the example has a display
    secret = "Vn9!x#2q"
    with_password = with_passwords(desired, {kinds[0]: secret})
    assert with_password.devices.graphics[0].passwd == secret
    assert f'passwd="{secret}"' in domain_xml(with_password).decode()
    assert secret not in repr(with_password)
    changes = changes_between(desired, with_password)
    assert [(change.before, change.after) for change in changes] == [(None, SECRET)]
    assert secret not in repr(changes)
    removed = dataclasses.replace(with_password.devices, graphics=())
    shown = changes_between(with_password, dataclasses.replace(with_password, devices=removed))
    assert secret not in repr(shown) and SECRET in shown[0].before


def test_a_users_alias_the_spec_cannot_name_stays_and_the_spec_s_own_alias_rules():
    """A ua- alias on a disk is the user's, which plan passes over (the spec has no word
    for it): a redefine keeps it. A NIC's alias the spec names (teaming): the spec's."""
    live = parsed(
        "",
        "<disk type='file' device='disk'><target dev='vda' bus='virtio'/>"
        f"<alias name='ua-boot'/>{PCI}</disk>"
        "<interface type='user'><mac address='52:54:00:00:00:01'/><alias name='ua-lan'/>"
        "</interface>",
    )
    desired = parsed(
        "",
        "<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>"
        "<interface type='user'><mac address='52:54:00:00:00:01'/></interface>",
    )
    kept = with_live_allocations(desired, live).devices
    assert kept.disks[0].alias == DeviceAlias(name="ua-boot")
    assert kept.interfaces[0].alias is None  # the spec names none: it goes
    changes = changes_between(normalize_live(desired, live, HostFacts()), desired)
    assert [(change.path, change.before, change.after) for change in changes] == [
        ("devices/interface[52:54:00:00:00:01]/alias", '<alias name="ua-lan"/>', None)
    ]  # which plan says, as for any setting of the spec's; the disk's alias it passes over
