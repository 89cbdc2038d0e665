"""The example specs: golden files, libvirt's schema, libvirt's parser, and round trips."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import (
    DOMAIN_RNG,
    EXAMPLE_DOMAINS,
    EXAMPLE_RESOURCES,
    EXAMPLE_SPECS,
    EXAMPLES,
    GOLDEN,
)
from vmspec.compile import NETWORK, STORAGE_POOL, VIRTUAL_MACHINE, VOLUME, compile_paths
from vmspec.config.domain import Domain
from vmspec.config.xmlmap import from_element, to_element
from vmspec.emit import domain_xml
from vmspec.lower import lower_virtual_machine

DOMAIN_IDS = [domain.name for domain in EXAMPLE_DOMAINS]
RESOURCE_IDS = [resource.output_path for resource in EXAMPLE_RESOURCES]
# libvirt's own schema for each kind, next to domain.rng.
RELAXNG = {
    VIRTUAL_MACHINE: "domain",
    STORAGE_POOL: "storagepool",
    NETWORK: "network",
    VOLUME: "storagevol",
}


@pytest.fixture(scope="session")
def relaxng():
    schemas = {
        kind: etree.RelaxNG(etree.parse(str(DOMAIN_RNG.with_name(f"{name}.rng"))))
        for kind, name in RELAXNG.items()
    }
    return schemas


def test_examples_cover_at_least_twelve_vms_and_every_other_kind():
    assert len(EXAMPLE_DOMAINS) >= 12
    assert {resource.kind for resource in EXAMPLE_RESOURCES} == set(RELAXNG)


@pytest.mark.parametrize("resource", EXAMPLE_RESOURCES, ids=RESOURCE_IDS)
def test_compiled_xml_matches_golden_file(resource, file_regression):
    file_regression.check(resource.xml, binary=True, fullpath=GOLDEN / resource.output_path)


@pytest.mark.parametrize("resource", EXAMPLE_RESOURCES, ids=RESOURCE_IDS)
def test_compiled_xml_is_valid_for_libvirts_relaxng_schema(resource, relaxng):
    schema = relaxng[resource.kind]
    assert schema.validate(etree.fromstring(resource.xml)), schema.error_log


def test_relaxng_check_rejects_invalid_domain_xml(domain_rng):
    # Guards the test above: the schema must be able to say no.
    broken = etree.fromstring(EXAMPLE_DOMAINS[0].xml)
    etree.SubElement(broken.find("devices"), "disk", type="floppy-drive")
    assert not domain_rng.validate(broken)


@pytest.mark.parametrize("domain", EXAMPLE_DOMAINS, ids=DOMAIN_IDS)
def test_test_driver_accepts_compiled_xml(domain, test_driver):
    defined = test_driver.defineXML(domain.xml.decode())
    try:
        assert defined.name() == domain.name
        assert defined.UUIDString() == etree.fromstring(domain.xml).findtext("uuid")
    finally:
        defined.undefine()


POOLS_AND_NETWORKS = [r for r in EXAMPLE_RESOURCES if r.kind in (STORAGE_POOL, NETWORK)]
VOLUMES = [r for r in EXAMPLE_RESOURCES if r.kind == VOLUME]


@pytest.mark.parametrize(
    "resource", POOLS_AND_NETWORKS, ids=[r.output_path for r in POOLS_AND_NETWORKS]
)
def test_test_driver_accepts_compiled_pools_and_networks(resource, test_driver):
    if resource.kind == STORAGE_POOL:
        defined = test_driver.storagePoolDefineXML(resource.xml.decode(), 0)
    else:
        defined = test_driver.networkDefineXML(resource.xml.decode())
    try:
        assert defined.name() == resource.name
    finally:
        defined.undefine()


@pytest.mark.parametrize("resource", VOLUMES, ids=[r.output_path for r in VOLUMES])
def test_test_driver_creates_compiled_volumes(resource, test_driver):
    pool = test_driver.storagePoolLookupByName("default-pool")
    volume = pool.createXML(resource.xml.decode(), 0)
    try:
        assert volume.name() == resource.name.split("/", 1)[1]
        assert volume.info()[1] == int(etree.fromstring(resource.xml).findtext("capacity"))
    finally:
        volume.delete(0)


@pytest.mark.parametrize("domain", EXAMPLE_DOMAINS, ids=DOMAIN_IDS)
def test_parse_of_emit_gives_back_the_same_config_objects(domain):
    lowered = lower_virtual_machine(EXAMPLE_SPECS[domain.name])
    uncovered: list[str] = []
    parsed = from_element(Domain, to_element(lowered), uncovered)
    assert parsed == lowered
    assert uncovered == []


@pytest.mark.parametrize("domain", EXAMPLE_DOMAINS, ids=DOMAIN_IDS)
def test_parsing_compiled_xml_and_emitting_again_is_byte_identical(domain):
    parsed = from_element(Domain, etree.fromstring(domain.xml))
    assert domain_xml(parsed) == domain.xml


def test_two_compiles_are_byte_identical():
    again = compile_paths([EXAMPLES]).resources
    assert [resource.xml for resource in again] == [resource.xml for resource in EXAMPLE_RESOURCES]


def test_every_golden_file_has_an_example():
    expected = {resource.output_path for resource in EXAMPLE_RESOURCES}
    assert {path.relative_to(GOLDEN).as_posix() for path in GOLDEN.rglob("*.xml")} == expected
