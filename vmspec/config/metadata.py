"""``<metadata>`` and vmspec's ownership marker in its own XML namespace.

libvirt keeps one element per namespace in ``<metadata>`` untouched, so the
marker (the spec's name, a hash of what vmspec defined, and the labels) is how
apply later tells the domains vmspec manages from all others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, children, text

NAMESPACE = "https://vmspec.dev/xmlns/domain/1"
PREFIX = "vmspec"


@dataclass(**CONFIG)
class Label:
    TAG: ClassVar[str] = f"{{{NAMESPACE}}}label"
    key: str | None = attr("key")
    value: str | None = text()


@dataclass(**CONFIG)
class OwnershipMarker:
    TAG: ClassVar[str] = f"{{{NAMESPACE}}}domain"
    NSMAP: ClassVar[dict[str, str]] = {PREFIX: NAMESPACE}
    spec: str | None = attr("spec")
    scope: str | None = attr("scope")  # absent: the default scope
    hash: str | None = attr("hash")
    labels: tuple[Label, ...] = children()


@dataclass(**CONFIG)
class Metadata:
    TAG: ClassVar[str] = "metadata"
    vmspec: OwnershipMarker | None = child()
