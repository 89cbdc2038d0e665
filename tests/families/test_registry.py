"""The family registry holds together: the committed schema is the assembly of the
fragments, every family has its place in the config tree, and what a family lowers
its lift gives back (compile(import(compile(spec))) is compile(spec))."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from typing import Any

import pytest
from lxml import etree

from vmspec.config.boot import OperatingSystem
from vmspec.config.domain import Devices, Domain
from vmspec.config.xmlmap import from_element
from vmspec.emit import domain_xml
from vmspec.families import FAMILIES, Place
from vmspec.families.cpu import Cpu
from vmspec.lift.machine import lift_domain
from vmspec.lower import lower_virtual_machine
from vmspec.schema import validate_document
from vmspec.schema.assemble import ASSEMBLED_FILE, assembled_schema, schema_text


def test_the_committed_schema_is_the_assembly_of_core_and_families():
    committed = resources.files("vmspec.schema").joinpath(ASSEMBLED_FILE).read_text("utf-8")
    assert committed == schema_text(assembled_schema()), (
        "vmspec.schema.json is out of date: run python -m vmspec.schema.assemble"
    )


def test_spec_fields_and_config_fields_are_unique():
    assert len({family.spec_field for family in FAMILIES}) == len(FAMILIES)
    places = [(family.place, family.config_field) for family in FAMILIES]
    assert len(set(places)) == len(places)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.spec_field)
def test_every_family_has_its_field_in_the_config_tree(family):
    holder = {
        Place.DOMAIN: Domain,
        Place.DEVICES: Devices,
        Place.OS: OperatingSystem,
        Place.CPU: Cpu,
    }[family.place]
    assert family.config_field in {field.name for field in dataclasses.fields(holder)}


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.spec_field)
def test_every_family_schema_is_described_with_examples(family):
    assert family.schema.get("description"), f"{family.spec_field} has no description"
    assert family.schema.get("examples"), f"{family.spec_field} has no examples"


# What some families need around them, and what changes nothing for the rest: a SPICE
# display (USB redirection) and shared memory (virtiofs); a memoryBacking example
# replaces the latter.
COMPANIONS: dict[str, Any] = {
    "graphics": [{"type": "spice"}],
    "memoryBacking": {"source": "memfd", "access": "shared"},
}

# The guest some families' examples are written for (the host tests' guests have 64 MiB
# and one vCPU otherwise):
# memory to split or leave out, vCPUs to place or lay out, NUMA cells to tune or hotplug into, I/O
# threads to pin.
_TWO_CELLS = [{"cpus": "0", "memory": "512MiB"}, {"cpus": "1", "memory": "512MiB"}]
SURROUNDINGS: dict[str, dict[str, Any]] = {
    "currentMemory": {"memory": "1GiB"},
    "iommu": {"machine": "q35"},  # VT-d is q35's (and virtio-iommu needs PCIe)
    "numa": {"memory": "1GiB", "vcpus": 2},
    "cpu": {"vcpus": 2},
    "maxMemory": {"memory": "1GiB", "vcpus": 2, "numa": _TWO_CELLS},
    "numatune": {"memory": "1GiB", "vcpus": 2, "numa": _TWO_CELLS},
    "cputune": {"vcpus": 2, "iothreads": 2},
    "memoryBacking": {
        "memory": "64MiB",
        "vcpus": 2,
        "numa": [{"cpus": "0", "memory": "32MiB"}, {"cpus": "1", "memory": "32MiB"}],
    },
    # Every example's devices hold 128 MiB, in the room maxMemory makes.
    "memoryDevices": {
        "memory": "256MiB",
        "vcpus": 2,
        "numa": [{"cpus": "0", "memory": "64MiB"}, {"cpus": "1", "memory": "64MiB"}],
        "maxMemory": {"size": "1GiB", "slots": 4},
    },
    # the firmware libvirt picks by its features (OVMF's secure-boot builds are q35's), and
    # the pflash loader whose NVRAM store an nvram example describes
    "firmwareFeatures": {"firmware": "efi", "machine": "q35"},
    "bios": {"serials": [{"type": "pty"}]},  # useSerial's port
    "nvram": {
        "loader": {"path": "/usr/share/OVMF/OVMF_CODE_4M.fd", "type": "pflash", "readonly": True}
    },
}


def _document(field: str, value: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "domainType": "qemu",
        "memory": "1GiB",
        "vcpus": 1,
        **COMPANIONS,
        **SURROUNDINGS.get(field, {}),
        field: value,
    }
    return {
        "apiVersion": "vmspec/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "family-example"},
        "spec": spec,
    }


EXAMPLES = [
    pytest.param(family, example, id=f"{family.spec_field}[{index}]")
    for family in FAMILIES
    for index, example in enumerate(family.schema["examples"])
]


@pytest.mark.parametrize(("family", "example"), EXAMPLES)
def test_every_schema_example_survives_import_after_lowering(family, example):
    document = _document(family.spec_field, example)
    assert [problem.message for problem in _problems(document)] == []
    compiled = domain_xml(lower_virtual_machine(document))
    uncovered: list[str] = []
    parsed = from_element(Domain, etree.fromstring(compiled), uncovered)
    lifted = lift_domain(parsed, uncovered)
    assert lifted.lossless, lifted.dropped
    assert domain_xml(lower_virtual_machine(lifted.document)) == compiled
    if lower_virtual_machine(document) != lower_virtual_machine(_without(document, family)):
        # It says something policy would not: import writes it, in the family's own field.
        assert family.spec_field in lifted.document["spec"], json.dumps(lifted.document)


def _without(document: dict[str, Any], family) -> dict[str, Any]:
    spec = {key: value for key, value in document["spec"].items() if key != family.spec_field}
    return {**document, "spec": spec}


def _problems(document: dict[str, Any]):
    from vmspec.load import load_text
    from vmspec.yaml_text import dump_spec_yaml

    documents, problems = load_text(dump_spec_yaml(document), "example.yaml")
    return [*problems, *(p for loaded in documents for p in validate_document(loaded))]
