"""Device identity, declared once per device class (vmspec/config/matching.py), as plan's
diff and apply's address keeping both use it."""

from __future__ import annotations

import dataclasses
import typing

from lxml import etree

from tests.conftest import EXAMPLE_SPECS
from vmspec.compare.diff import changes_between
from vmspec.compare.model import ChangeClass
from vmspec.config.allocation import allocated
from vmspec.config.domain import Devices
from vmspec.config.matching import config_identity, config_slot, device_fields
from vmspec.config.xmlmap import child_classes, from_element
from vmspec.families.memory_device import MemoryDevice
from vmspec.lower import lower_virtual_machine


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


def test_every_device_class_that_libvirt_addresses_declares_its_alias_and_address():
    # Without them, apply cannot carry the address over (the device moves to another slot)
    # and parsing leaves them uncovered. Variants (chardevs, smartcards) each declare them.
    unaddressed = {"graphics", "audio"}  # no <address> or <alias> in domaincommon.rng
    for field in device_fields():
        hint = typing.get_type_hints(Devices)[field]
        for cls in _classes(hint):
            if cls.TAG not in unaddressed:
                assert allocated(cls), f"{cls.__name__} ({field}) declares no alias and address"


def _classes(hint: object) -> list[type]:
    if dataclasses.is_dataclass(hint):
        return [hint]
    return [cls for arg in typing.get_args(hint) for cls in _classes(arg)]


def test_a_memory_device_is_the_same_device_in_two_parses():
    # Its identity names elements (target/node): their text, not the parsed element, which
    # differs on every parse (a plan then removed and added every memory device).
    xml = (
        "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node>"
        "</target></memory>"
    )
    first, second = (from_element(MemoryDevice, etree.fromstring(xml)) for _ in range(2))
    assert config_identity(first) == config_identity(second) == "dimm,0"
    assert config_slot(first) == config_slot(second) == ("dimm", None, "0", "524288")
