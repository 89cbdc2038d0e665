"""In the spirit of virt-manager's test_checkprops: every field a config class declares
is exercised by some golden file, so no declared mapping goes untested by the golden
files' checks (libvirt's RelaxNG schema, define on the test driver, parse(emit(x)))."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

from lxml import etree

from vmspec.config import allocation
from vmspec.config.domain import Domain
from vmspec.config.metadata import LIBOSINFO_NAMESPACE
from vmspec.config.metadata import NAMESPACE as VMSPEC_NAMESPACE
from vmspec.config.xmlmap import DeclaredField, declared_fields
from vmspec.families.controller import PciControllerTarget, PciModelName

GOLDEN = Path(__file__).resolve().parents[2] / "golden"

# Fields vmspec reads but never writes, each with the reason: they come from libvirt
# (or another tool) when a domain is parsed for plan or import.
READ_ONLY = {
    (
        "OwnershipMarker",
        "scope",
    ): "written only outside the default scope (tests/test_scope.py); golden files are compiled in the default scope",
    (
        "MemoryDeviceTarget",
        "current",
    ): "how much a running virtio-mem device gives the guest at this moment: no setting",
    ("Devices", "emulator"): "the QEMU binary libvirt writes into every definition",
    ("Genid", "value"): "the generation ID libvirt picks for <genid/> and writes in itself",
    (
        "SecurityLabel",
        "imagelabel",
    ): "output only: the label libvirt gives the guest's files at start",
    (
        "Disk",
        "auth",
    ): "a disk's <auth> where libvirt before 3.9 wrote it; vmspec writes it in <source>",
    (
        "Disk",
        "encryption",
    ): "a disk's <encryption> where libvirt before 4.5 wrote it; vmspec writes it in <source>",
    ("Graphics", "passwd"): "set by apply alone, from passwordFile or passwordEnv; never compiled",
    (
        "Controller",
        "pci_model",
    ): "libvirt's PCI topology: apply carries it over, a spec never says it",
    (
        "ControllerDriver",
        "iothread",
    ): "virtio-scsi's I/O thread, no spec word yet: read so that apply keeps it",
    ("Controller", "target"): "libvirt's PCI topology: apply carries it over, a spec never says it",
    **{
        (cls.__name__, field.name): "libvirt's PCI topology: apply carries it over"
        for cls in (PciModelName, PciControllerTarget)
        for field in dataclasses.fields(cls)
    },
}


def _libvirts_allocation(declared: DeclaredField) -> bool:
    """An address or an alias (vmspec/config/allocation.py): libvirt allocates them, apply
    carries them over, compile writes none (only the interface's user alias, which the
    spec names, so it is in golden files)."""
    if declared.cls.__module__ == allocation.__name__:
        return True
    return declared.field_name in ("alias", "address") and allocation.allocated(declared.cls)


def _paths_in(root: etree._Element) -> set[str]:
    found: set[str] = set()

    def walk(element: etree._Element, path: str) -> None:
        found.add(path)
        found.update(f"{path}/@{name}" for name in element.attrib)
        if element.text and element.text.strip():
            found.add(f"{path}/text()")
        for item in element:
            if isinstance(item.tag, str):
                walk(item, f"{path}/{item.tag}")

    walk(root, f"/{root.tag}")
    return found


def _exercised(xpath: str, golden: set[str]) -> bool:
    if xpath.endswith("/*"):  # elements of other namespaces than vmspec's own ones
        parent = xpath[:-1]
        known = (f"{parent}{{{VMSPEC_NAMESPACE}}}", f"{parent}{{{LIBOSINFO_NAMESPACE}}}")
        return any(path.startswith(f"{parent}{{") and not path.startswith(known) for path in golden)
    return xpath in golden


def test_every_declared_field_appears_in_some_golden_file():
    golden: set[str] = set()
    for path in GOLDEN.glob("*.xml"):
        golden |= _paths_in(etree.parse(str(path)).getroot())
    places: dict[tuple[str, str], list[str]] = defaultdict(list)
    allocations: set[tuple[str, str]] = set()
    for declared in declared_fields(Domain):
        places[(declared.cls.__name__, declared.field_name)].append(declared.xpath)
        if _libvirts_allocation(declared):
            allocations.add((declared.cls.__name__, declared.field_name))
    never = {
        field: xpaths[0]
        for field, xpaths in places.items()
        if not any(_exercised(xpath, golden) for xpath in xpaths) and field not in allocations
    }
    assert sorted(set(never) - set(READ_ONLY)) == [], (
        "declared but in no golden file (add it to an example in specs/examples): "
        + ", ".join(f"{never[field]}" for field in sorted(set(never) - set(READ_ONLY)))
    )
    assert sorted(set(READ_ONLY) - set(never)) == [], "now in a golden file: not read-only"
