"""Normalization rule by rule, without libvirtd: a spec is lowered and emitted, the XML is
changed the way libvirt 9.0 changes a guest's definition when it starts it (each edit
copied from `virsh dumpxml` of a real running guest), and what remains must be nothing,
while a real change next to it must still show."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from vmspec.compare.diff import changes_between
from vmspec.compare.facts import HostFacts
from vmspec.compare.normalize import normalize_live, normalize_running
from vmspec.config.domain import Domain
from vmspec.config.xmlmap import from_element
from vmspec.emit import domain_xml
from vmspec.lower import lower_virtual_machine

Edit = Callable[[etree._Element], None]


def lowered(**spec: Any) -> Domain:
    document = {
        "apiVersion": "vmspec/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "running"},
        "spec": {"domainType": "qemu", "memory": "64MiB", "vcpus": 1, **spec},
    }
    return lower_virtual_machine(document)


def as_libvirt_writes_it(desired: Domain, *edits: Edit) -> Domain:
    element = etree.fromstring(domain_xml(desired))
    for edit in edits:
        edit(element)
    return from_element(Domain, element)


def running_changes(desired: Domain, *edits: Edit) -> list[str]:
    running = as_libvirt_writes_it(desired, *edits)
    normalized = normalize_running(desired, running, HostFacts())
    return [change.path for change in changes_between(normalized, desired)]


def stored_changes(desired: Domain, *edits: Edit) -> list[str]:
    live = as_libvirt_writes_it(desired, *edits)
    return [
        change.path
        for change in changes_between(normalize_live(desired, live, HostFacts()), desired)
    ]


def sub(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, tag, attributes)


def resolve_network(interface_type: str, **source: str) -> Edit:
    """What libvirt writes into a network NIC at start: the port and what it resolved to."""

    def edit(root: etree._Element) -> None:
        interface = root.find("devices/interface")
        interface.set("type", interface_type)
        interface.find("source").attrib.update(
            {"portid": "6a1d87bc-3e15-4d90-a31c-6241f8635b44", **source}
        )
        sub(interface, "target", dev="vnet0")
        sub(interface, "alias", name="net0")

    return edit


def test_a_network_nic_resolved_to_the_network_bridge_is_the_same_nic():
    desired = lowered(interfaces=[{"network": "lab"}])
    assert running_changes(desired, resolve_network("network", bridge="virbr1")) == []


def test_a_network_nic_over_a_host_bridge_runs_as_a_bridge_nic_and_is_the_same_nic():
    desired = lowered(interfaces=[{"network": "lan"}])
    assert running_changes(desired, resolve_network("bridge", bridge="br0")) == []


def test_a_network_nic_over_a_macvtap_network_runs_as_a_direct_nic_and_is_the_same_nic():
    desired = lowered(interfaces=[{"network": "passthrough"}])
    assert running_changes(desired, resolve_network("direct", dev="eth1", mode="bridge")) == []


def test_a_running_nic_on_another_network_is_still_a_change():
    desired = lowered(interfaces=[{"network": "lab"}])

    def other_network(root: etree._Element) -> None:
        root.find("devices/interface/source").set("network", "default")

    [change] = running_changes(desired, other_network, resolve_network("network", bridge="virbr0"))
    assert change.endswith("/source/@network")


def backing_chain(*files: str) -> etree._Element:
    """The chain libvirt reads from the image headers, ending in <backingStore/>."""
    top = parent = etree.Element("backingStore")
    for index, file in enumerate(files, start=2):
        parent.attrib.update({"type": "file", "index": str(index)})
        sub(parent, "format", type="qcow2")
        sub(parent, "source", file=file)
        parent = sub(parent, "backingStore")
    return top


def start_disks(chains: dict[str, tuple[str, ...]]) -> Edit:
    def edit(root: etree._Element) -> None:
        for disk in root.iterfind("devices/disk"):
            for stated in disk.findall("backingStore"):
                disk.remove(stated)
            source = disk.find("source")
            source.set("index", "1")
            source.addnext(backing_chain(*chains[disk.find("target").get("dev")]))
            sub(disk, "alias", name="virtio-disk0")

    return edit


def test_a_backing_chain_the_spec_does_not_state_is_the_image_own():
    desired = lowered(disks=[{"target": "vda", "file": "/images/over.qcow2"}])
    edit = start_disks({"vda": ("/images/mid.qcow2", "/images/base.qcow2")})
    assert running_changes(desired, edit) == []


def test_a_stated_backing_file_is_compared_and_what_lies_below_it_is_not():
    backing = {"file": "/images/base.qcow2", "format": "qcow2"}
    desired = lowered(
        disks=[{"target": "vda", "file": "/images/over.qcow2", "backingStore": backing}]
    )
    assert running_changes(desired, start_disks({"vda": ("/images/base.qcow2",)})) == []
    deeper = start_disks({"vda": ("/images/base.qcow2", "/images/root.qcow2")})
    assert running_changes(desired, deeper) == []
    other = start_disks({"vda": ("/images/other.qcow2",)})
    assert running_changes(desired, other) == ["devices/disk[vda]/backingStore/source/@file"]


def test_the_seed_cdrom_empty_backing_store_is_no_change():
    desired = lowered(cloudInit={"pool": "images", "userData": "#cloud-config\n"})
    assert running_changes(desired, start_disks({"sda": ()})) == []


def test_a_display_without_listen_address_is_stored_and_run_with_qemu_conf_default():
    desired = lowered(graphics=[{"type": "vnc"}, {"type": "spice"}])

    def stored(root: etree._Element) -> None:
        for graphics in root.iterfind("devices/graphics"):
            sub(graphics, "listen", type="address")

    def started(root: etree._Element) -> None:
        for port, graphics in enumerate(root.iterfind("devices/graphics"), start=5900):
            graphics.attrib.update({"port": str(port), "listen": "127.0.0.1"})
            graphics.find("listen").set("address", "127.0.0.1")

    assert stored_changes(desired, stored) == []
    assert running_changes(desired, stored, started) == []


def test_a_vnc_display_without_listen_address_on_qemu_conf_auto_socket_is_the_same():
    desired = lowered(graphics=[{"type": "vnc"}])

    def on_a_socket(root: etree._Element) -> None:
        graphics = root.find("devices/graphics")
        graphics.set("socket", "/var/lib/libvirt/qemu/domain-7-running/vnc.sock")
        sub(graphics, "listen", type="socket", socket=graphics.get("socket"))

    assert running_changes(desired, on_a_socket) == []


def test_a_display_listening_elsewhere_than_the_spec_says_is_still_a_change():
    desired = lowered(graphics=[{"type": "vnc", "listen": "127.0.0.1"}])

    def everywhere(root: etree._Element) -> None:
        graphics = root.find("devices/graphics")
        graphics.attrib.update({"port": "5900", "listen": "0.0.0.0"})
        graphics.find("listen").set("address", "0.0.0.0")

    assert running_changes(desired, everywhere) == [
        "devices/graphics[1]/@listen",
        "devices/graphics[1]/listen[1]/@address",
    ]


def test_a_pty_serial_and_the_agent_channel_name_what_was_allocated_for_them():
    desired = lowered(serials=[{"type": "pty"}], guestAgent=True)

    def allocated(root: etree._Element) -> None:
        for device in [*root.iterfind("devices/serial"), *root.iterfind("devices/console")]:
            device.insert(0, etree.Element("source", path="/dev/pts/3"))
        channel = root.find("devices/channel")
        channel.insert(
            0,
            etree.Element(
                "source", mode="bind", path="/var/lib/libvirt/qemu/channel/target/x/agent.0"
            ),
        )
        channel.find("target").set("state", "disconnected")

    assert running_changes(desired, allocated) == []


def test_efi_firmware_resolved_to_a_secure_boot_build_with_smm_is_the_same_firmware():
    desired = lowered(machine="q35", firmware="efi")

    def resolved(root: etree._Element) -> None:
        os = root.find("os")
        del os.attrib["firmware"]
        sub(os, "loader", readonly="yes", secure="yes", type="pflash").text = "/OVMF_CODE.ms.fd"
        sub(root.find("features"), "smm", state="on")

    assert running_changes(desired, resolved) == []


def test_smm_on_a_running_guest_without_efi_is_still_a_change():
    desired = lowered()

    def smm(root: etree._Element) -> None:
        sub(root.find("features"), "smm", state="on")

    assert running_changes(desired, smm) == ["features/smm"]


def test_what_the_mapping_leaves_out_of_a_running_guest_is_never_compared():
    """Aliases, addresses, seclabels, a NIC's target dev, a console's tty: if the mapping
    ever covers one of these, it needs a rule here first."""
    desired = lowered(interfaces=[{"bridge": "br0"}], serials=[{"type": "pty"}])

    def started(root: etree._Element) -> None:
        root.set("id", "7")
        interface = root.find("devices/interface")
        sub(interface, "target", dev="vnet3")
        sub(interface, "alias", name="net0")
        sub(interface, "address", type="pci", domain="0x0000", bus="0x01", slot="0x00")
        root.find("devices/console").set("tty", "/dev/pts/3")
        seclabel = sub(root, "seclabel", type="dynamic", model="dac", relabel="yes")
        sub(seclabel, "label").text = "+103:+994"
        sub(sub(root, "resource"), "partition").text = "/machine"

    assert running_changes(desired, started) == []


def test_a_spec_turning_acpi_and_apic_off_writes_no_empty_features_element():
    # libvirt drops an empty <features/>, which read as "(absent) → <features/>" forever.
    desired = lowered(features={"acpi": False, "apic": False})
    assert desired.features is None
    assert etree.fromstring(domain_xml(desired)).find("features") is None
    assert lowered(features={"acpi": False}).features.apic is not None
