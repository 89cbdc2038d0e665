"""The generic engine: one declaration emits and parses, and parse reports what it does not cover."""

from __future__ import annotations

import pytest
from lxml import etree

from vmspec.config.domain import Domain
from vmspec.config.xmlmap import XmlMappingError, from_element, to_element
from vmspec.families.disk.config import Disk, DiskDriver, DiskSource, DiskTarget
from vmspec.families.features import Features


def test_emit_writes_fields_in_declared_order_and_leaves_out_unset_ones():
    disk = Disk(
        type="file",
        device="disk",
        target=DiskTarget(dev="vda", bus="virtio"),
        source=DiskSource(file="/a.qcow2"),
        driver=DiskDriver(name="qemu", type="qcow2"),
        serial="s1",
    )
    xml = etree.tostring(to_element(disk)).decode()
    assert xml == (
        '<disk type="file" device="disk"><driver name="qemu" type="qcow2"/>'
        '<source file="/a.qcow2"/><target dev="vda" bus="virtio"/><serial>s1</serial></disk>'
    )


def test_parse_reports_every_uncovered_attribute_and_element_as_an_xpath():
    element = etree.fromstring(
        "<domain type='kvm' id='3'><name>x</name><idmap><uid start='0'/></idmap>"
        "<devices><disk type='file'><geometry cyls='1'/><geometry cyls='2'/></disk>"
        "<shmem name='ivshmem'/></devices></domain>"
    )
    uncovered: list[str] = []
    domain = from_element(Domain, element, uncovered)
    assert domain.name == "x"
    assert sorted(uncovered) == [
        "/domain/@id",
        "/domain/devices/disk/geometry[1]",
        "/domain/devices/disk/geometry[2]",
        "/domain/devices/shmem",
        "/domain/idmap",
    ]


def test_flags_parse_to_true_and_report_unexpected_content():
    uncovered: list[str] = []
    features = from_element(
        Features, etree.fromstring("<features><acpi/><pae mode='on'/></features>"), uncovered
    )
    assert features.acpi and features.pae and features.apic is None
    assert uncovered == ["/features/pae/@mode"]


def test_a_value_that_cannot_be_read_names_its_xpath():
    with pytest.raises(XmlMappingError, match=r"/domain/vcpu/text\(\)"):
        from_element(Domain, etree.fromstring("<domain><vcpu>two</vcpu></domain>"))


def test_yes_no_attributes_refuse_other_words():
    with pytest.raises(XmlMappingError, match="expected 'yes' or 'no'"):
        from_element(
            Domain,
            etree.fromstring(
                "<domain><clock><timer name='hpet' present='maybe'/></clock></domain>"
            ),
        )


def test_text_is_escaped_not_parsed():
    domain = Domain(name="n", description="<b>&]]>\"'")
    element = to_element(domain)
    assert element.find("description").text == "<b>&]]>\"'"
    assert len(element.find("description")) == 0
    assert from_element(Domain, etree.fromstring(etree.tostring(element))) == domain


def test_whitespace_alone_is_indentation_not_a_text_value():
    from vmspec.families.rng import RngBackend

    pretty = etree.fromstring(
        "<backend model='egd' type='udp'>\n    <source mode='connect'/>\n  </backend>"
    )
    uncovered: list[str] = []
    backend = from_element(RngBackend, pretty, uncovered)
    assert backend.path is None
    assert uncovered == ["/backend/@type", "/backend/source"]
    assert from_element(RngBackend, etree.fromstring("<backend>/dev/urandom</backend>")).path == (
        "/dev/urandom"
    )


def test_a_tagged_union_parses_each_variant_into_its_own_class():
    from vmspec.families.tpm import Tpm, TpmEmulator, TpmPassthrough

    def parsed(backend: str) -> tuple[Tpm, list[str]]:
        uncovered: list[str] = []
        tpm = from_element(
            Tpm, etree.fromstring(f"<tpm model='tpm-crb'>{backend}</tpm>"), uncovered
        )
        return tpm, uncovered

    emulator, uncovered = parsed("<backend type='emulator' version='2.0'/>")
    assert emulator.backend == TpmEmulator(version="2.0") and uncovered == []
    passthrough, uncovered = parsed(
        "<backend type='passthrough'><device path='/dev/tpm0'/></backend>"
    )
    assert isinstance(passthrough.backend, TpmPassthrough)
    assert passthrough.backend.device.path == "/dev/tpm0" and uncovered == []
    # An emulator's attribute on a passthrough backend belongs to no variant's class.
    _, uncovered = parsed("<backend type='passthrough' version='2.0'/>")
    assert uncovered == ["/tpm/backend/@version"]
    # A type no variant names: uncovered, and no backend rather than a wrong one.
    external, uncovered = parsed("<backend type='external'><source type='unix'/></backend>")
    assert external.backend is None and uncovered == ["/tpm/backend/@type"]
    # Each variant emits its own discriminator.
    assert etree.tostring(to_element(passthrough)) == (
        b'<tpm model="tpm-crb"><backend type="passthrough"><device path="/dev/tpm0"/>'
        b"</backend></tpm>"
    )
