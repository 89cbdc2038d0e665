"""What virt-install writes into every domain it makes, libosinfo's OS id in <metadata>
and <pm>, and other applications' elements in <metadata>, import without loss and
compile back to the same elements; a domain without them compiles without them."""

from __future__ import annotations

from lxml import etree

from vmspec.config.xmlmap import canonical_xml
from vmspec.emit import domain_xml
from vmspec.lift.sources import lift_xml
from vmspec.lower import lower_virtual_machine

NAME = "osinfo-01"
LIBOSINFO = (
    '<libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">'
    '<libosinfo:os id="http://debian.org/debian/11"/></libosinfo:libosinfo>'
)
VIRT_INSTALL_PM = '<pm><suspend-to-mem enabled="no"/><suspend-to-disk enabled="no"/></pm>'
NAMESPACES = {"libosinfo": "http://libosinfo.org/xmlns/libvirt/domain/1.0"}


def domain(*, metadata: str = "", pm: str = "") -> str:
    """A small KVM domain with what virt-install puts around the devices."""
    return (
        f"<domain type='kvm'><name>{NAME}</name><metadata>{metadata}</metadata>"
        "<memory unit='KiB'>1048576</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
        "<features><acpi/><apic/></features><cpu mode='host-model'/>"
        "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>"
        f"<on_crash>destroy</on_crash>{pm}<devices/></domain>"
    )


WITHOUT_INDENTATION = etree.XMLParser(remove_blank_text=True)


def compile_back(document: dict) -> etree._Element:
    return etree.fromstring(domain_xml(lower_virtual_machine(document)), WITHOUT_INDENTATION)


def canonical(element: etree._Element | None) -> bytes:
    assert element is not None
    return etree.tostring(element, method="c14n", exclusive=True)


def canonical_text(xml: str) -> bytes:
    return canonical(etree.fromstring(xml))


def test_virt_install_osinfo_and_pm_import_without_loss():
    lifted = lift_xml(domain(metadata=LIBOSINFO, pm=VIRT_INSTALL_PM), "virt-install.xml")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["osinfo"] == "http://debian.org/debian/11"
    assert lifted.document["spec"]["pm"] == {"suspendToMem": False, "suspendToDisk": False}


def test_osinfo_and_pm_compile_back_to_the_same_elements():
    lifted = lift_xml(domain(metadata=LIBOSINFO, pm=VIRT_INSTALL_PM), "virt-install.xml")
    compiled = compile_back(lifted.document)
    libosinfo = compiled.find("metadata/libosinfo:libosinfo", NAMESPACES)
    assert canonical(libosinfo) == canonical_text(LIBOSINFO)
    assert canonical(compiled.find("pm")) == canonical_text(VIRT_INSTALL_PM)


def test_pm_comes_back_after_on_crash_and_before_devices():
    lifted = lift_xml(domain(pm=VIRT_INSTALL_PM), "pm.xml")
    tags = [child.tag for child in compile_back(lifted.document)]
    assert tags[tags.index("on_crash") + 1 : tags.index("devices")] == ["pm"]


def test_pm_written_in_another_order_is_the_same_setting():
    reordered = '<pm><suspend-to-disk enabled="yes"/><suspend-to-mem enabled="no"/></pm>'
    lifted = lift_xml(domain(pm=reordered), "pm.xml")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["pm"] == {"suspendToMem": False, "suspendToDisk": True}


def test_one_pm_setting_stays_one_setting():
    lifted = lift_xml(domain(pm='<pm><suspend-to-disk enabled="yes"/></pm>'), "pm.xml")
    assert lifted.document["spec"]["pm"] == {"suspendToDisk": True}
    assert [child.tag for child in compile_back(lifted.document).find("pm")] == ["suspend-to-disk"]


def test_a_domain_without_osinfo_and_pm_compiles_without_them():
    lifted = lift_xml(domain(), "plain.xml")
    assert lifted.dropped == ()
    assert "osinfo" not in lifted.document["spec"]
    assert "pm" not in lifted.document["spec"]
    compiled = compile_back(lifted.document)
    assert compiled.find("pm") is None
    assert compiled.find("metadata/libosinfo:libosinfo", NAMESPACES) is None


def test_an_empty_pm_is_what_libvirt_stores_as_no_pm():
    # libvirt drops a suspend setting without 'enabled', and the <pm/> left empty.
    lifted = lift_xml(domain(pm="<pm><suspend-to-mem/></pm>"), "pm.xml")
    assert lifted.dropped == ()
    assert "pm" not in lifted.document["spec"]


def test_an_osinfo_id_that_is_not_a_uri_is_refused_and_named():
    short_name = LIBOSINFO.replace("http://debian.org/debian/11", "debian11")
    lifted = lift_xml(domain(metadata=short_name), "short-name.xml")
    assert not lifted.lossless
    assert any(item.startswith("spec.osinfo:") for item in lifted.dropped), lifted.dropped


def test_a_libosinfo_element_without_an_os_id_is_not_passed_over():
    without_id = LIBOSINFO.replace(' id="http://debian.org/debian/11"', "")
    lifted = lift_xml(domain(metadata=without_id), "no-id.xml")
    assert not lifted.lossless
    assert any("libosinfo" in item for item in lifted.dropped), lifted.dropped


FOREIGN = (
    "<app:info xmlns:app='https://example.com/app' xmlns:unused='urn:unused'>"
    "\n    <app:owner  team='ops'>alice</app:owner><!-- kept -->\n</app:info>"
    "<other xmlns='urn:default-ns' a='1'><inner/></other>"
)


def test_other_applications_metadata_imports_without_loss():
    lifted = lift_xml(domain(metadata=LIBOSINFO + FOREIGN, pm=VIRT_INSTALL_PM), "foreign.xml")
    assert lifted.dropped == ()
    assert lifted.document["metadata"]["foreign"] == [
        '<app:info xmlns:app="https://example.com/app"><app:owner team="ops">alice</app:owner>'
        "<!-- kept --></app:info>",
        '<other xmlns="urn:default-ns" a="1"><inner></inner></other>',
    ]


def test_other_applications_metadata_compiles_back_to_the_same_elements():
    lifted = lift_xml(domain(metadata=LIBOSINFO + FOREIGN), "foreign.xml")
    compiled = compile_back(lifted.document).find("metadata")
    original = etree.fromstring(domain(metadata=LIBOSINFO + FOREIGN)).find("metadata")
    assert [canonical_xml(item) for item in compiled[1:]] == [
        canonical_xml(item) for item in original
    ]


def test_metadata_of_no_namespace_is_named_as_dropped():
    # libvirt drops it on define; from a file it is a loss to name, not to carry.
    lifted = lift_xml(domain(metadata=LIBOSINFO + "<plain/>"), "plain.xml")
    assert lifted.dropped == ("/domain/metadata/plain",)
