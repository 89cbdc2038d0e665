"""The features, firmware and sysinfo families: what libvirt 9.0 fills in or picks is no
difference, what a domain chose itself imports without loss, and what the spec has no
word for is reported dropped."""

from __future__ import annotations

import dataclasses

import pytest

from tests.compare.test_normalize import lowered
from vmspec.compare.facts import HostFacts
from vmspec.compare.normalize import normalize_live, normalize_running
from vmspec.families.features import Features, Gic
from vmspec.families.firmware import Loader, Nvram
from vmspec.lift.sources import lift_xml
from vmspec.load import load_text
from vmspec.schema import validate_document
from vmspec.schema.semantic import semantic_findings
from vmspec.yaml_text import dump_spec_yaml


def domain(features: str = "", *, os: str = "", arch: str = "x86_64", before_os: str = "") -> str:
    machine = "q35" if arch == "x86_64" else "virt"
    return (
        "<domain type='kvm'><name>feat</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        f"{before_os}<os><type arch='{arch}' machine='{machine}'>hvm</type>{os}</os>"
        f"<features>{features}</features></domain>"
    )


@pytest.mark.parametrize(
    ("features", "spec"),
    [
        ("<acpi/><apic eoi='off'/>", {"apicEoi": False}),
        ("<acpi/><apic/><ioapic driver='qemu'/>", {"ioapic": "qemu"}),
        ("<acpi/><apic/><pmu state='off'/><vmcoreinfo/>", {"pmu": False, "vmcoreinfo": True}),
        ("<acpi/><apic/><smm state='off'/>", {"smm": False}),
        (
            "<acpi/><apic/><smm state='on'><tseg unit='KiB'>49152</tseg></smm>",
            {"smm": True, "smmTseg": "48MiB"},
        ),
        ("<acpi/><apic/><hyperv mode='passthrough'/>", {"hyperv": {"passthrough": True}}),
        (
            "<acpi/><apic/><hyperv mode='custom'><spinlocks state='off'/>"
            "<stimer state='on'><direct state='on'/></stimer>"
            "<vendor_id state='on' value='KVM Hv'/></hyperv>",
            {
                "hyperv": {
                    "stimer": True,
                    "stimerDirect": True,
                    "spinlocks": False,
                    "vendorId": "KVM Hv",
                }
            },
        ),
        ("<acpi/><apic/><kvm><dirty-ring state='off'/></kvm>", {"kvm": {"dirtyRing": False}}),
    ],
)
def test_a_feature_of_the_domains_own_imports_without_loss(features, spec):
    lifted = lift_xml(domain(features), "feat")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["features"] == spec


def test_an_arm_gic_is_kept_and_one_libvirt_adds_is_no_change():
    lifted = lift_xml(domain("<gic version='2'/>", arch="aarch64"), "feat")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["features"] == {"gic": 2}
    # A spec that names none: libvirt gives the virt machine a GIC of its choosing.
    wanted = lowered(arch="aarch64", machine="virt")
    assert wanted.features is None
    live = dataclasses.replace(wanted, features=Features(gic=Gic(version="3")))
    assert normalize_live(wanted, live, HostFacts()).features is None


def test_a_feature_the_spec_lacks_is_dropped_not_read_as_an_empty_features():
    lifted = lift_xml(domain("<acpi/><apic/><msrs unknown='ignore'/>"), "feat")
    assert lifted.dropped == ("/domain/features/msrs",)


def test_a_pflash_loader_gets_libvirts_nvram_on_define_and_its_type_rom_by_default():
    wanted = lowered(
        loader={"path": "/usr/share/OVMF/OVMF_CODE_4M.fd", "type": "pflash", "readonly": True}
    )
    generated = Nvram(path="/var/lib/libvirt/qemu/nvram/running_VARS.fd")
    live = dataclasses.replace(wanted, os=dataclasses.replace(wanted.os, nvram=generated))
    assert normalize_live(wanted, live, HostFacts()).os.nvram is None
    rom = lowered(loader={"path": "/usr/share/seabios/bios.bin"})
    live = dataclasses.replace(
        rom,
        os=dataclasses.replace(
            rom.os, loader=Loader(type="rom", path="/usr/share/seabios/bios.bin")
        ),
    )
    assert normalize_live(rom, live, HostFacts()).os == rom.os


def test_the_firmware_libvirt_picks_at_start_is_no_change_but_a_loader_of_ones_own_is():
    wanted = lowered(machine="q35", firmware="efi", firmwareFeatures={"secureBoot": True})
    picked = Loader(
        readonly=True, secure=True, type="pflash", path="/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
    )
    running = dataclasses.replace(
        wanted,
        os=dataclasses.replace(
            wanted.os,
            firmware=None,
            loader=picked,
            nvram=Nvram(
                template="/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
                path="/var/lib/libvirt/qemu/nvram/running_VARS.fd",
            ),
        ),
    )
    assert normalize_running(wanted, running, HostFacts()).os == wanted.os
    # Without firmware='efi' nothing picks: a loader that appeared is a change.
    bios = lowered(machine="q35")
    live = dataclasses.replace(bios, os=dataclasses.replace(bios.os, loader=picked))
    assert normalize_live(bios, live, HostFacts()).os.loader == picked


def test_sysinfo_tables_come_with_smbios_mode_sysinfo_and_import_without_it():
    sysinfo = (
        "<sysinfo type='smbios'><system><entry name='manufacturer'>Example</entry></system>"
        "</sysinfo>"
    )
    lifted = lift_xml(
        domain("<acpi/><apic/>", before_os=sysinfo, os="<smbios mode='sysinfo'/>"), "f"
    )
    assert lifted.dropped == ()
    assert lifted.document["spec"]["sysinfo"] == {"system": {"manufacturer": "Example"}}
    assert "smbios" not in lifted.document["spec"]
    assert lowered(sysinfo={"system": {"manufacturer": "Example"}}).os.smbios.mode == "sysinfo"


def test_a_size_of_nothing_is_refused_rather_than_left_out():
    document = {
        "apiVersion": "vmspec/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "feat"},
        "spec": {
            "domainType": "qemu",
            "memory": "64MiB",
            "vcpus": 1,
            "features": {"tcgTbCache": "0MiB"},
        },
    }
    findings = semantic_findings(document)
    assert [finding.path for finding in findings] == [("spec", "features", "tcgTbCache")]


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        # found by drawing the fragments: each was compiled, and libvirt refused it
        ({"sysinfo": {"bios": {"date": "0"}}}, ("spec", "sysinfo", "bios", "date")),
        ({"loader": {"path": "/fw.bin", "stateless": False}}, ("spec", "loader", "stateless")),
        ({"firmware": "efi", "nvram": {"template": "/v.fd"}}, ("spec", "nvram", "template")),
        (
            {"arch": "ppc64le", "features": {"hpt": {"maxPageSize": "0.1KiB"}}},
            ("spec", "features", "hpt", "maxPageSize"),
        ),
    ],
)
def test_what_libvirt_would_refuse_is_refused_at_validate(extra, path):
    spec = {"domainType": "qemu", "memory": "64MiB", "vcpus": 1, **extra}
    document = {"apiVersion": "vmspec/v1", "kind": "VirtualMachine", "metadata": {"name": "f"}}
    documents, _ = load_text(dump_spec_yaml({**document, "spec": spec}), "f.yaml")
    problems = validate_document(documents[0])
    assert [problem.path for problem in problems] == [path], problems
