"""Emitting: config objects → canonical, byte-stable domain XML.

Canonical means: element and attribute order from the config classes (libvirt's
formatting order), 2-space indentation, UTF-8, no XML declaration, a trailing
newline, and an ownership marker whose hash covers everything else.
"""

from __future__ import annotations

import hashlib

from lxml import etree

from vmspec.config.domain import Domain
from vmspec.config.metadata import NAMESPACE, PREFIX, OwnershipMarker
from vmspec.config.xmlmap import to_element

_MARKER_TAG = OwnershipMarker.TAG


def domain_xml(domain: Domain, *, hash_of: Domain | None = None) -> bytes:
    """The canonical XML of ``domain``, with the marker's ``hash`` set to
    ``sha256:`` of that same XML written without the hash attribute.

    ``hash_of``: the domain whose XML the hash covers instead. Apply defines the spec's
    domain with what libvirt allocated and the display passwords added; its marker
    still records the spec's own hash, which is what plan compares to tell drift."""
    root = to_element(domain)
    if hash_of is None and _marker_without_a_hash(domain):
        # The XML is the covered XML with the hash added: serialized once, not twice.
        covered = _serialize(root)
        spliced = _with_hash(covered, hashlib.sha256(covered).hexdigest())
        if spliced is not None:
            return spliced
    marker = _marker_without_hash(root)
    if marker is None:
        return _serialize(root)
    covered_root = root if hash_of is None else to_element(hash_of)
    _marker_without_hash(covered_root)
    digest = hashlib.sha256(_serialize(covered_root)).hexdigest()
    marker.set("hash", f"sha256:{digest}")
    return _serialize(root)


# The marker declares its namespace itself, and text and attribute values before it have
# their "<" escaped: the first occurrence of its start tag's opening is the marker.
_MARKER_OPENING = f'<{PREFIX}:domain xmlns:{PREFIX}="{NAMESPACE}"'.encode()


def _with_hash(covered: bytes, digest: str) -> bytes | None:
    """``covered`` with ``hash="sha256:DIGEST"`` as the marker's last attribute, as
    lxml writes an attribute set last; None where the marker is not found as expected."""
    start = covered.find(_MARKER_OPENING)
    if start < 0:
        return None
    end = covered.find(b">", start)  # lxml escapes ">" in attribute values
    if covered[end - 1 : end] == b"/":
        end -= 1
    return b'%s hash="sha256:%s"%s' % (covered[:end], digest.encode(), covered[end:])


def _marker_without_a_hash(domain: Domain) -> bool:
    """Whether the domain has a marker and the marker no hash yet (as compile makes it):
    then its XML, serialized, is the XML the hash covers. Told from the config object,
    which is cheaper than finding the element."""
    metadata = domain.metadata
    return metadata is not None and metadata.vmspec is not None and metadata.vmspec.hash is None


def _marker_without_hash(root: etree._Element) -> etree._Element | None:
    marker = root.find(f"metadata/{_MARKER_TAG}")
    if marker is not None:
        marker.attrib.pop("hash", None)
    return marker


def resource_xml(config: object) -> bytes:
    """The canonical XML of a pool, network or volume: no marker (their uuid is it)."""
    return _serialize(to_element(config))


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
