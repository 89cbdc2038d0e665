"""Host devices on libvirt. libvirt defines a domain whose hostdev names a device the
host lacks (it looks for the device only when the guest starts), so plan looks first:
on the real libvirtd a missing one is refused; one the host has is defined and plans to
no changes. None of these guests ever starts: a started PCI hostdev takes the device
from the host."""

from __future__ import annotations

import pytest

from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, guest_spec, vmspec, write
from tests.host.test_apply_test_driver import apply, plan
from vmspec.compare.model import Action
from vmspec.host.references import read_host_devices

# Every kind the spec says; the test driver has no devices to assign, so none is looked up.
EVERY_KIND = """\
graphics: [{type: vnc}]
hostdevs:
  - pci: {address: "0000:03:00.0", driver: vfio}
    rom: {bar: false, file: /usr/share/misc/rom.bin}
  - usb: {vendor: 0x1234, product: 0xbeef}
  - usb: {bus: 1, device: 3}
    managed: true
  - mdev: {uuid: c2177883-f1bb-47f0-914d-32a22e3a8804, display: true, ramfb: false}
"""


def test_every_kind_of_hostdev_applies_on_the_test_driver_and_plans_to_no_changes(host, tmp_path):
    spec = write(tmp_path, "every", guest_spec("every", EVERY_KIND, state="stopped"))
    first, _ = apply(host, spec)
    assert [domain.action for domain in first.resources] == [Action.CREATE]
    second = plan(host, spec)
    assert not second.has_changes, [(d.name, d.changes) for d in second.resources]


def test_a_hostdev_the_host_lacks_is_refused_by_plan(system, tmp_path):
    spec = write(
        tmp_path,
        "missing",
        guest_spec("missing", 'hostdevs: [{pci: {address: "0000:7f:1f.7"}}]', state="stopped"),
    )
    planned = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert "hostdev 1: the PCI device 0000:7f:1f.7 is not on the host" in planned.stdout


def test_a_pci_device_of_the_hosts_is_defined_and_plans_to_no_changes(system, tmp_path):
    devices = read_host_devices(system)
    if devices is None or not devices.pci:
        pytest.skip("this libvirtd lists no PCI devices")
    domain, bus, slot, function = sorted(devices.pci)[0]
    address = f"{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"
    # managed: false and stopped: even a start by hand fails rather than detach the device.
    extra = f'hostdevs: [{{pci: {{address: "{address}"}}, managed: false}}]'
    spec = write(tmp_path, "pci", guest_spec("pci", extra, state="stopped"))
    applied = vmspec("apply", "-c", SYSTEM_URI, str(spec))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    defined = system.lookupByName(f"{TEST_PREFIX}pci")
    assert not defined.isActive()
    assert "<hostdev mode='subsystem' type='pci' managed='no'>" in defined.XMLDesc(0)
    planned = vmspec("plan", "-c", SYSTEM_URI, str(spec))
    assert planned.returncode == 0, planned.stdout + planned.stderr
