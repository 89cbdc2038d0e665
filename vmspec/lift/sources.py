"""Where imported domains come from: domain XML files people keep, or a libvirt host."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from vmspec.compare.normalize import unexplained
from vmspec.config.domain import Domain
from vmspec.config.xmlmap import XmlMappingError, from_element
from vmspec.lift.machine import Lifted, lift_domain


def lift_xml(
    xml: bytes | str, origin: str, *, autostart: bool | None = None, running: bool | None = None
) -> Lifted:
    """Lift one domain XML document; ``origin`` names it when it cannot be read at all."""
    try:
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    except etree.XMLSyntaxError as error:
        return Lifted(origin, {}, (f"not XML: {error}",))
    if root.tag != "domain":
        return Lifted(origin, {}, (f"/{root.tag}: not a domain",))
    uncovered: list[str] = []
    try:
        domain = from_element(Domain, root, uncovered)
    except XmlMappingError as error:
        return Lifted(root.findtext("name") or origin, {}, (f"{error.xpath}: {error}",))
    if not domain.name:
        return Lifted(origin, {}, ("/domain/name: missing",))
    efi = bool(domain.os and domain.os.firmware == "efi")
    return lift_domain(
        domain, unexplained(tuple(uncovered), efi=efi), autostart=autostart, running=running
    )


def lift_files(paths: list[Path]) -> list[Lifted]:
    lifted = []
    for path in paths:
        try:
            content = path.read_bytes()
        except OSError as error:
            lifted.append(Lifted(str(path), {}, (f"cannot read: {error.strerror}",)))
            continue
        lifted.append(lift_xml(content, str(path)))
    return lifted
