"""``<metadata>``: vmspec's ownership marker in its own XML namespace, and libosinfo's.

libvirt keeps one element per namespace in ``<metadata>`` untouched, so the
marker (the spec's name, a hash of what vmspec defined, and the labels) is how
apply later tells the domains vmspec manages from all others. virt-install and
virt-manager record the guest's operating system in libosinfo's namespace
(``<libosinfo:os id="http://debian.org/debian/11"/>``); the spec keeps that id.
Other applications' elements are carried through whole, as canonical XML text.
"""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.xmlmap import (
    attr,
    child,
    children,
    config_class,
    elements_of_other_namespaces,
    text,
)

NAMESPACE = "https://vmspec.dev/xmlns/domain/1"
PREFIX = "vmspec"
LIBOSINFO_NAMESPACE = "http://libosinfo.org/xmlns/libvirt/domain/1.0"
LIBOSINFO_PREFIX = "libosinfo"


@config_class
class Label:
    TAG: ClassVar[str] = f"{{{NAMESPACE}}}label"
    key: str | None = attr("key")
    value: str | None = text()


@config_class
class OwnershipMarker:
    TAG: ClassVar[str] = f"{{{NAMESPACE}}}domain"
    NSMAP: ClassVar[dict[str, str]] = {PREFIX: NAMESPACE}
    spec: str | None = attr("spec")
    scope: str | None = attr("scope")  # absent: the default scope
    hash: str | None = attr("hash")
    labels: tuple[Label, ...] = children()


@config_class
class OsinfoOs:
    TAG: ClassVar[str] = f"{{{LIBOSINFO_NAMESPACE}}}os"
    id: str | None = attr("id")


@config_class
class Libosinfo:
    TAG: ClassVar[str] = f"{{{LIBOSINFO_NAMESPACE}}}libosinfo"
    NSMAP: ClassVar[dict[str, str]] = {LIBOSINFO_PREFIX: LIBOSINFO_NAMESPACE}
    os: OsinfoOs | None = child()


@config_class
class Metadata:
    TAG: ClassVar[str] = "metadata"
    vmspec: OwnershipMarker | None = child()
    libosinfo: Libosinfo | None = child()
    # libvirt keeps the first element of each namespace and drops elements of none.
    foreign: tuple[str, ...] = elements_of_other_namespaces(known=(NAMESPACE, LIBOSINFO_NAMESPACE))
