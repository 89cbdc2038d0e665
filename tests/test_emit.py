"""The marker's hash, spliced into the one serialization of the domain, must read as
if the attribute had been set on the tree and the tree serialized again."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import EXAMPLE_SPECS
from vmspec.emit import domain_xml
from vmspec.lower import lower_virtual_machine


def _lowered(name):
    return lower_virtual_machine(EXAMPLE_SPECS[name])


@pytest.mark.parametrize("name", sorted(EXAMPLE_SPECS))
def test_spliced_hash_reads_as_the_tree_serialized_with_it(name):
    domain = _lowered(name)
    # hash_of takes the path that sets the attribute on the tree and serializes again.
    assert domain_xml(domain) == domain_xml(domain, hash_of=domain)


def test_spliced_hash_in_a_marker_without_labels():
    domain = _lowered(sorted(EXAMPLE_SPECS)[0])
    marker = dataclasses.replace(domain.metadata.vmspec, labels=(), scope="team-a")
    bare = dataclasses.replace(domain, metadata=dataclasses.replace(domain.metadata, vmspec=marker))
    xml = domain_xml(bare)
    assert b'scope="team-a" hash="sha256:' in xml and b"/>" in xml.split(b"hash=")[1][:80]
    assert xml == domain_xml(bare, hash_of=bare)
