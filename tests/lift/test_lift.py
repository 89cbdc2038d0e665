"""lift on hand-written domain XML: what it keeps, what it leaves to the policy, and what
it refuses; and the examples, which must come back byte for byte."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import EXAMPLE_DOMAINS
from vmspec.arches import X86_ARCHES
from vmspec.emit import domain_xml
from vmspec.lift.sources import lift_xml
from vmspec.load import load_text
from vmspec.lower import lower_virtual_machine
from vmspec.lower.identity import domain_uuid as vmspec_uuid
from vmspec.schema import validate_document
from vmspec.yaml_text import dump_spec_yaml

NAME = "hand-01"
OTHER_UUID = "f0f8b0a6-5a09-5b8e-93c7-9b1f29e2bca3"  # not the one vmspec derives for hand-01


def domain(
    devices: str = "",
    *,
    memory: str = "<memory unit='KiB'>1048576</memory>",
    os: str = "",
    arch: str = "x86_64",
) -> str:
    """A small KVM domain, as someone would write it for virsh define."""
    return (
        f"<domain type='kvm'><name>{NAME}</name>{memory}<vcpu>1</vcpu>"
        f"<os><type arch='{arch}' machine='{'q35' if arch in X86_ARCHES else 'virt'}'>hvm</type>{os}</os>"
        f"<features><acpi/><apic/></features><cpu mode='host-model'/>"
        f"<devices>{devices}</devices></domain>"
    )


def spec_problems(document: dict) -> list[str]:
    """What `vmspec compile` says about the spec `vmspec import` writes for ``document``."""
    documents, problems = load_text(dump_spec_yaml(document), "imported.yaml")
    problems = problems or [p for found in documents for p in validate_document(found)]
    return [problem.message for problem in problems]


def compiled(name: str, spec: dict, **metadata: str) -> bytes:
    document = {
        "apiVersion": "vmspec/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, **metadata},
        "spec": {"domainType": "kvm", "memory": "1GiB", "vcpus": 1, **spec},
    }
    return domain_xml(lower_virtual_machine(document))


def macs(xml: bytes) -> list[str]:
    """The MACs of a domain, in NIC order."""
    return etree.fromstring(xml).xpath("devices/interface/mac/@address")


# --- what the vocabulary lacks is named -----------------------------------------------------


def test_an_iscsi_hostdev_is_not_lossless_and_is_named():
    hostdev = (
        "<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' "
        "name='iqn.1992-01.com.example/0'><host name='example.org' port='3260'/></source>"
        "</hostdev>"
    )
    lifted = lift_xml(domain(hostdev), "hostdev.xml")
    assert not lifted.lossless
    assert any("hostdev" in dropped for dropped in lifted.dropped), lifted.dropped


def test_a_pci_hostdev_is_imported_with_its_address():
    hostdev = (
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        "<address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source></hostdev>"
    )
    lifted = lift_xml(domain(hostdev), "hostdev.xml")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["spec"]["hostdevs"] == [{"pci": {"address": "0000:06:12.5"}}]


def test_a_domain_the_spec_can_say_is_lossless():
    lifted = lift_xml(
        domain(
            "<disk type='file' device='disk'><source file='/a.qcow2'/>"
            "<target dev='vda' bus='virtio'/></disk>"
        ),
        "plain.xml",
    )
    assert lifted.dropped == ()
    assert lifted.document["spec"]["disks"] == [{"target": "vda", "file": "/a.qcow2"}]


def test_a_user_alias_the_spec_cannot_name_is_reported_not_lost():
    """A disk's ``ua-`` alias (virsh attach-device with one, for hot-unplug by name):
    apply keeps it on the host, but the spec has no word for it, so import says so. A
    NIC's is the spec's (teaming names it): imported, not reported."""
    lifted = lift_xml(
        domain(
            "<disk type='file' device='disk'><source file='/a.qcow2'/>"
            "<target dev='vda' bus='virtio'/><alias name='ua-data'/></disk>"
            "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/>"
            "<alias name='ua-lan'/></interface>"
        ),
        "aliases.xml",
    )
    assert [d for d in lifted.dropped if "alias" in d] == [
        "devices/disk[vda]/alias/@name: ua-data (a user alias: apply keeps it on the host, "
        "the spec has no word for it)"
    ]
    assert lifted.document["spec"]["interfaces"][0]["alias"] == "ua-lan"


# --- sizes, uuid and MACs --------------------------------------------------------------------


def test_memory_in_mib_lifts_to_mib():
    lifted = lift_xml(domain(memory="<memory unit='MiB'>512</memory>"), "mib.xml")
    assert lifted.document["spec"]["memory"] == "512MiB"


def test_memory_in_another_unit_than_kib_is_no_loss():
    # 512 MiB and 524288 KiB are the same guest; only the unit of writing differs.
    lifted = lift_xml(domain(memory="<memory unit='MiB'>512</memory>"), "mib.xml")
    assert [item for item in lifted.dropped if "memory" in item.lower()] == []


def test_the_uuid_and_macs_vmspec_derives_are_left_out():
    xml = compiled(NAME, {"interfaces": [{"network": "default"}, {"bridge": "br0"}]})
    lifted = lift_xml(xml, "compiled.xml")
    assert lifted.lossless
    assert "uuid" not in lifted.document["metadata"]
    assert lifted.document["spec"]["interfaces"] == [{"network": "default"}, {"bridge": "br0"}]


def test_a_uuid_from_elsewhere_is_kept():
    xml = compiled(NAME, {}).decode()
    lifted = lift_xml(xml.replace(vmspec_uuid(NAME), OTHER_UUID), "changed.xml")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["metadata"]["uuid"] == OTHER_UUID


def test_a_mac_from_elsewhere_is_kept():
    xml = compiled(NAME, {"interfaces": [{"network": "default"}, {"bridge": "br0"}]})
    derived = macs(xml)
    lifted = lift_xml(xml.decode().replace(derived[1], "52:54:00:aa:bb:cc"), "changed.xml")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["spec"]["interfaces"] == [
        {"network": "default"},
        {"bridge": "br0", "mac": "52:54:00:aa:bb:cc"},
    ]


def test_a_kept_uuid_leaves_the_macs_derived_from_the_old_one_as_they_were():
    # A domain vmspec compiled, then given another uuid: its MACs no longer follow from
    # its uuid, so the spec must name them, not lose them.
    xml = compiled(NAME, {"interfaces": [{"network": "default"}]})
    derived = macs(xml)
    lifted = lift_xml(xml.decode().replace(vmspec_uuid(NAME), OTHER_UUID), "changed.xml")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["spec"]["interfaces"] == [{"network": "default", "mac": derived[0]}]


def test_macs_derived_from_a_given_uuid_are_left_out():
    xml = compiled(NAME, {"interfaces": [{"network": "default"}]}, uuid=OTHER_UUID)
    lifted = lift_xml(xml, "compiled.xml")
    assert lifted.document["metadata"]["uuid"] == OTHER_UUID
    assert lifted.document["spec"]["interfaces"] == [{"network": "default"}]


# --- the examples ----------------------------------------------------------------------------


@pytest.mark.parametrize("resource", EXAMPLE_DOMAINS, ids=[d.name for d in EXAMPLE_DOMAINS])
def test_every_example_lifts_losslessly_and_compiles_to_the_same_bytes(resource):
    lifted = lift_xml(resource.xml, resource.file)
    assert lifted.dropped == ()
    assert spec_problems(lifted.document) == []
    assert domain_xml(lower_virtual_machine(lifted.document)) == resource.xml


# --- refused, not a traceback; refused, not passed over (found by tests/lift/test_corpus.py) --


def test_an_interface_of_a_type_the_spec_lacks_is_refused():
    # libvirt's qemuxml2xmloutdata/net-user.xml (before the spec had user): lowering
    # raised KeyError: 'direct'.
    lifted = lift_xml(domain("<interface type='mcast'><model type='virtio'/></interface>"), "x")
    assert not lifted.lossless
    assert any("/domain/devices/interface[1]/@type: mcast" in item for item in lifted.dropped)


def test_a_unix_serial_without_a_path_is_refused():
    # libvirt's qemuxml2argvdata/serial-unix-missing-source.xml: KeyError: 'path'.
    lifted = lift_xml(domain("<serial type='unix'><target port='0'/></serial>"), "x")
    assert not lifted.lossless


def test_a_loader_without_firmware_efi_is_the_domains_own():
    # A UEFI guest configured by hand (firmware-manual-efi.xml) came back as a BIOS guest.
    loader = (
        "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
        "<nvram>/var/lib/libvirt/qemu/nvram/hand-01_VARS.fd</nvram>"
    )
    lifted = lift_xml(domain(os=loader), "x")
    assert lifted.lossless, lifted.dropped
    spec = lifted.document["spec"]
    assert spec["loader"] == {
        "path": "/usr/share/OVMF/OVMF_CODE.fd",
        "type": "pflash",
        "readonly": True,
    }
    # The NVRAM file is the one libvirt makes for hand-01 on define: the spec leaves it unsaid.
    assert "nvram" not in spec


def test_an_nvram_file_of_the_domains_own_is_kept():
    loader = (
        "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
        "<nvram template='/usr/share/OVMF/OVMF_VARS.fd'>/srv/nvram/hand-01.fd</nvram>"
    )
    lifted = lift_xml(domain(os=loader), "x")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["spec"]["nvram"] == {
        "path": "/srv/nvram/hand-01.fd",
        "template": "/usr/share/OVMF/OVMF_VARS.fd",
    }


def test_a_sound_backend_is_not_passed_over():
    # audio-pulseaudio-best.xml: the guest's sound went to a PulseAudio server.
    audio = "<audio id='1' type='pulseaudio' serverName='acme.example.org'/>"
    lifted = lift_xml(domain(audio), "x")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["spec"]["audio"] == [
        {"type": "pulseaudio", "serverName": "acme.example.org"}
    ]


def test_the_audio_backend_libvirt_adds_is_left_to_libvirt():
    # What libvirt 9.0 writes into a guest with a SPICE display and no backend of its own.
    spice = "<graphics type='spice' autoport='yes'><listen type='address'/></graphics>"
    lifted = lift_xml(domain(spice + "<audio id='1' type='spice'/>"), "x")
    assert lifted.lossless, lifted.dropped
    assert "audio" not in lifted.document["spec"]
    # Named by a display, it is said even where libvirt would add it.
    vnc = "<graphics type='vnc' port='-1' autoport='yes'><audio id='1'/></graphics>"
    lifted = lift_xml(domain(vnc + "<audio id='1' type='none'/>"), "x")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["spec"]["audio"] == [{"type": "none"}]
    # The same backend in a guest without SPICE is the domain's own choice.
    lifted = lift_xml(domain("<audio id='1' type='spice'/>"), "x")
    assert lifted.document["spec"]["audio"] == [{"type": "spice"}]


def test_a_serial_device_other_than_the_default_is_its_target():
    # serial-debugcon.xml: an isa-debugcon port once came back as a plain isa-serial port.
    serial = "<serial type='pty'><target type='isa-debug' port='0'/></serial>"
    lifted = lift_xml(domain(serial), "x")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["spec"]["serials"] == [{"type": "pty", "target": "isa-debug"}]


def test_a_serial_device_the_spec_has_no_type_for_is_not_passed_over():
    serial = "<serial type='dbus'><source channel='org.qemu.console.serial.0'/></serial>"
    lifted = lift_xml(domain(serial), "x")
    assert "/domain/devices/serial/@type" in lifted.dropped


GIB = "<memory>1048576</memory>"
FLOPPY = (
    "<disk type='file' device='floppy'><source file='/fd.img'/><target dev='fda' bus='fdc'/></disk>"
)
CDROM = (
    "<disk type='file' device='cdrom'><source file='/seed.iso'/>"
    "<target dev='sda' bus='sata'/><readonly/></disk>"
)
VNC = "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>"


@pytest.mark.parametrize(
    ("devices", "memory", "arch", "refused_as"),
    [
        ("", GIB, "ppc", "spec.arch: 'ppc' is not one of"),  # ppc-dtb.xml (32-bit PowerPC)
        ("", "<memory unit='KiB'>512</memory>", "x86_64", "spec.memory: 512KiB is too little"),
        ("<graphics type='rdp'/>", GIB, "x86_64", "spec.graphics[0].type: 'rdp'"),
        (FLOPPY, GIB, "x86_64", None),  # disk-floppy.xml, refused before floppies had a word
        ("", GIB, "x86_64", None),
        (CDROM, GIB, "x86_64", None),
        (VNC, GIB, "x86_64", None),
    ],
    ids=[
        "arch-ppc",
        "memory-512KiB",
        "graphics-rdp",
        "disk-floppy",
        "no-devices",
        "cdrom",
        "vnc",
    ],
)
def test_a_lift_is_a_spec_vmspec_compiles_or_names_what_it_would_refuse(
    devices, memory, arch, refused_as, domain_rng
):
    """Found by test_corpus.py: lift once wrote specs that validate refused. Now a spec
    validate would refuse is not lossless, and names the problem; a lossless one compiles
    to XML libvirt's schema takes, which lifts back to the same spec."""
    lifted = lift_xml(domain(devices, memory=memory, arch=arch), "x")
    if refused_as is not None:
        assert not lifted.lossless
        assert any(item.startswith(refused_as) for item in lifted.dropped), lifted.dropped
        return
    assert lifted.lossless, lifted.dropped
    assert spec_problems(lifted.document) == []
    xml = domain_xml(lower_virtual_machine(lifted.document))
    assert domain_rng.validate(etree.fromstring(xml)), domain_rng.error_log.last_error
    assert lift_xml(xml, "compiled.xml").document == lifted.document


def test_labels_of_blanks_and_an_empty_description_survive_import():
    # libvirt keeps a label of spaces as it is, stores an empty one as <label key="b"/>,
    # and drops an empty <description>: none of them may read as a change or a loss.
    document = {
        "apiVersion": "vmspec/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "blanks", "labels": {"a": "  ", "b": ""}, "description": ""},
        "spec": {"domainType": "qemu", "memory": "64MiB", "vcpus": 1},
    }
    xml = domain_xml(lower_virtual_machine(document))
    assert b"<description" not in xml
    lifted = lift_xml(xml, "blanks")
    assert lifted.lossless, lifted.dropped
    assert lifted.document["metadata"]["labels"] == {"a": "  ", "b": ""}
    assert domain_xml(lower_virtual_machine(lifted.document)) == xml


def test_addresses_and_libvirts_aliases_import_as_nothing_and_a_password_is_never_shown():
    devices = (
        "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/a.qcow2'/>"
        "<target dev='vda' bus='virtio'/><alias name='virtio-disk0'/>"
        "<address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></disk>"
        "<controller type='pci' index='1' model='pcie-root-port'><model name='pcie-root-port'/>"
        "<target chassis='1' port='0x10'/><address type='pci' bus='0x00' slot='0x02'/></controller>"
    )
    plain = lift_xml(domain(devices), NAME)
    assert plain.dropped == ()
    assert "address" not in str(plain.document) and "alias" not in str(plain.document)
    display = "<graphics type='vnc' port='-1' autoport='yes' passwd='Vn9!x#2q'/>"
    with_password = lift_xml(domain(devices + display), NAME)
    assert [d for d in with_password.dropped if "passwd" in d] == [
        "devices/graphics[1]/@passwd: (secret) (the spec gives nothing)"
    ]
    assert "Vn9!x#2q" not in str(with_password)
