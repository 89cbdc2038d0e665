"""Device identity, declared once per device class (vmspec/config/matching.py), as plan's
diff and apply's address keeping both use it."""

from __future__ import annotations

import dataclasses

from lxml import etree

from tests.conftest import EXAMPLE_SPECS
from vmspec.compare.diff import changes_between
from vmspec.compare.model import ChangeClass
from vmspec.config.domain import Devices
from vmspec.config.xmlmap import child_classes
from vmspec.host.preserve import with_live_allocations
from vmspec.lower import lower_virtual_machine

PCI = "<address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>"


def domain_xml(devices: str) -> str:
    return f"<domain type='qemu'><name>x</name><devices>{devices}</devices></domain>"


def test_a_disk_keeps_its_address_on_the_same_bus_only():
    live = domain_xml(
        f"<disk type='file' device='disk'><target dev='vda' bus='virtio'/>{PCI}</disk>"
        "<interface type='network'><mac address='52:54:00:00:00:01'/>"
        "<source network='n'/><address type='pci' slot='0x03'/></interface>"
    )
    same_bus = domain_xml(
        "<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>"
        "<interface type='network'><mac address='52:54:00:00:00:01'/><source network='m'/></interface>"
    )
    kept = etree.fromstring(with_live_allocations(same_bus.encode(), live))
    assert kept.find("devices/disk/address").get("slot") == "0x07"
    assert kept.find("devices/interface/address").get("slot") == "0x03"

    other_bus = domain_xml("<disk type='file' device='disk'><target dev='vda' bus='sata'/></disk>")
    moved = etree.fromstring(with_live_allocations(other_bus.encode(), live))
    assert moved.find("devices/disk/address") is None


def test_removing_the_first_disk_is_one_removal_and_a_hotplug():
    spec = EXAMPLE_SPECS["web-01"]
    before = lower_virtual_machine(spec)
    after = dataclasses.replace(
        before,
        devices=dataclasses.replace(before.devices, disks=before.devices.disks[1:]),
    )
    changes = changes_between(before, after)
    removed = before.devices.disks[0].target.dev
    assert [(c.path, c.after, c.change_class) for c in changes] == [
        (f"devices/disk[{removed}]", None, ChangeClass.LIVE)
    ]


def test_a_changed_video_model_is_a_restart_of_that_video():
    domain = lower_virtual_machine(EXAMPLE_SPECS["web-01"])
    (video,) = domain.devices.videos
    other = dataclasses.replace(video, model=dataclasses.replace(video.model, type="qxl"))
    changed = dataclasses.replace(
        domain, devices=dataclasses.replace(domain.devices, videos=(other,))
    )
    changes = changes_between(domain, changed)
    assert {(c.path, c.change_class) for c in changes} == {
        (f"devices/video[{video.model.type}]", ChangeClass.RESTART),
        ("devices/video[qxl]", ChangeClass.RESTART),
    }


def test_every_device_class_that_libvirt_addresses_declares_its_identity():
    # A device libvirt gives an <address> keeps it across updates only if its class says
    # how to find it again; forgetting that moves a NIC to another PCI slot.
    unaddressed = {"graphics", "audio", "emulator"}  # no <address> in formatdomain
    for tag, cls in child_classes(Devices).items():
        if tag not in unaddressed:
            assert getattr(cls, "IDENTITY", None), f"{cls.__name__} ({tag}) declares no IDENTITY"


def test_two_devices_of_one_identity_keep_their_own_addresses():
    live = domain_xml(
        "<video><model type='qxl' primary='yes'/><address type='pci' slot='0x02'/></video>"
        "<video><model type='qxl'/><address type='pci' slot='0x04'/></video>"
    )
    desired = domain_xml(
        "<video><model type='qxl' primary='yes'/></video><video><model type='qxl'/></video>"
    )
    kept = etree.fromstring(with_live_allocations(desired.encode(), live))
    assert [a.get("slot") for a in kept.iterfind("devices/video/address")] == ["0x02", "0x04"]
