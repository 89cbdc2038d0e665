"""The example specs: golden files, libvirt's schema, libvirt's parser, and round trips."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import EXAMPLE_DOMAINS, EXAMPLE_SPECS, EXAMPLES, GOLDEN
from vmspec.compile import compile_paths
from vmspec.config.domain import Domain
from vmspec.config.xmlmap import from_element, to_element
from vmspec.emit import domain_xml
from vmspec.lower import lower_virtual_machine

DOMAIN_IDS = [domain.name for domain in EXAMPLE_DOMAINS]


def test_examples_cover_at_least_twelve_vms():
    assert len(EXAMPLE_DOMAINS) >= 12


@pytest.mark.parametrize("domain", EXAMPLE_DOMAINS, ids=DOMAIN_IDS)
def test_compiled_xml_matches_golden_file(domain, file_regression):
    file_regression.check(domain.xml, binary=True, fullpath=GOLDEN / f"{domain.name}.xml")


@pytest.mark.parametrize("domain", EXAMPLE_DOMAINS, ids=DOMAIN_IDS)
def test_compiled_xml_is_valid_for_libvirts_relaxng_schema(domain, domain_rng):
    document = etree.fromstring(domain.xml)
    assert domain_rng.validate(document), domain_rng.error_log


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
    again = compile_paths([EXAMPLES]).domains
    assert [domain.xml for domain in again] == [domain.xml for domain in EXAMPLE_DOMAINS]


def test_every_golden_file_has_an_example():
    names = {domain.name for domain in EXAMPLE_DOMAINS}
    assert {path.stem for path in GOLDEN.glob("*.xml")} == names
