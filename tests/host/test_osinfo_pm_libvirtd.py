"""virt-install's libosinfo id, <pm> and another application's <metadata> on the real
libvirtd: a domain defined by hand with them is imported without --lossy, adopted
without any change but vmspec's marker, and then plans to no changes."""

from __future__ import annotations

import yaml
from lxml import etree

from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, libvirt, vmspec, write
from vmspec.config.metadata import NAMESPACE as VMSPEC_NAMESPACE

LIBOSINFO = (
    "<libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
    "<libosinfo:os id='http://debian.org/debian/11'/></libosinfo:libosinfo>"
)
# Indented and with an unused declaration: libvirt re-indents what it stores.
FOREIGN = (
    "<app:info xmlns:app='https://example.com/app' xmlns:unused='urn:unused'>\n"
    "   <app:owner team='ops'>alice</app:owner><!-- kept --></app:info>"
)


def hand_written(name: str, metadata: str) -> str:
    """What someone keeps for virsh define: a TCG guest with virt-install's osinfo and pm,
    and the clock vmspec's policy would write (adopting other clocks is another matter)."""
    return (
        f"<domain type='qemu'><name>{name}</name><metadata>{metadata}</metadata>"
        "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>"
        "<features><acpi/><apic/></features>"
        "<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/>"
        "<timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock>"
        "<pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>"
        "<devices/></domain>"
    )


def without_vmspec_marker(xml: str) -> bytes:
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    for marker in root.findall(f"metadata/{{{VMSPEC_NAMESPACE}}}domain"):
        marker.getparent().remove(marker)
    # Exclusive C14N: a namespace declaration nothing uses is no part of the definition.
    return etree.tostring(root, method="c14n", exclusive=True)


def test_a_virt_install_domain_is_imported_and_adopted_unchanged(system, tmp_path):
    name = f"{TEST_PREFIX}osinfo-pm"
    system.defineXML(hand_written(name, LIBOSINFO + FOREIGN))
    before = system.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)

    imported = vmspec("import", "-c", SYSTEM_URI, name)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    spec = yaml.safe_load(imported.stdout)["spec"]
    assert spec["osinfo"] == "http://debian.org/debian/11"
    assert spec["pm"] == {"suspendToMem": False, "suspendToDisk": False}
    assert len(yaml.safe_load(imported.stdout)["metadata"]["foreign"]) == 1
    path = write(tmp_path, "osinfo-pm", imported.stdout)

    adopted = vmspec("apply", "--adopt", "-c", SYSTEM_URI, str(path))
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    after = system.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert f"{{{VMSPEC_NAMESPACE}}}domain" in {
        element.tag for element in etree.fromstring(after).iter()
    }
    assert without_vmspec_marker(after) == without_vmspec_marker(before)

    plan = vmspec("plan", "-c", SYSTEM_URI, str(path))
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_a_domain_without_clock_timers_is_adopted_without_gaining_the_policys(system, tmp_path):
    # Issue 11, item 5: the policy's rtc/pit/hpet timers would be a change the guest
    # sees; import says "none of them" (null), so adoption leaves the clock as it was.
    name = f"{TEST_PREFIX}no-timers"
    plain_clock = hand_written(name, LIBOSINFO).replace(
        "<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/>"
        "<timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock>",
        "<clock offset='utc'/>",
    )
    assert "<timer" not in plain_clock
    system.defineXML(plain_clock)
    before = system.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)

    imported = vmspec("import", "-c", SYSTEM_URI, name)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    clock = yaml.safe_load(imported.stdout)["spec"]["clock"]
    assert clock == {"timers": {"rtc": None, "pit": None, "hpet": None}}
    path = write(tmp_path, "no-timers", imported.stdout)

    adopted = vmspec("apply", "--adopt", "-c", SYSTEM_URI, str(path))
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    after = system.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert without_vmspec_marker(after) == without_vmspec_marker(before)
    assert vmspec("plan", "-c", SYSTEM_URI, str(path)).returncode == 0
