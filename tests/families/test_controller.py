"""Controllers a spec names beside libvirt's: the PCI root for its pcihole64, whose root
ports and bridges stay libvirt's on import and on apply."""

from __future__ import annotations

from vmspec.lift.sources import lift_xml

Q35_TOPOLOGY = (
    "<controller type='pci' index='0' model='pcie-root'><pcihole64 unit='GiB'>2</pcihole64>"
    "</controller><controller type='pci' index='1' model='pcie-root-port'>"
    "<model name='pcie-root-port'/><target chassis='1' port='0x10'/></controller>"
)


def domain(devices: str) -> str:
    return (
        "<domain type='kvm'><name>hole</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
        f"<devices>{devices}</devices></domain>"
    )


def test_a_pci_root_with_a_hole_imports_and_its_root_ports_stay_libvirts():
    lifted = lift_xml(domain(Q35_TOPOLOGY), "hole")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["controllers"] == [{"type": "pci", "pcihole64": "2GiB"}]


def test_ich9_companions_written_without_master_get_libvirts_ports():
    usb = (
        "<controller type='usb' index='0' model='ich9-ehci1'/>"
        "<controller type='usb' index='0' model='ich9-uhci1'/>"
        "<controller type='usb' index='0' model='ich9-uhci2'/>"
    )
    lifted = lift_xml(domain(usb), "usb")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["controllers"] == [
        {"type": "usb", "model": "ich9-ehci1"},
        {"type": "usb", "model": "ich9-uhci1", "startport": 0},
        {"type": "usb", "model": "ich9-uhci2", "startport": 2},
    ]
