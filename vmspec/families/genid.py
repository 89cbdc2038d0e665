"""``<genid>``: a Virtual Machine Generation ID (formatdomain "General metadata").

The guest reads a 128-bit value that changes whenever it may have gone back in time (a
snapshot reverted, a backup restored, a clone): Windows Server domain controllers use it
to avoid reusing what a rolled-back copy already handed out. The value is libvirt's to
choose (``<genid/>``) and to change (at a snapshot revert), so the spec only says that
the guest has one; plan takes any value as the same, and apply carries the live value
over (vmspec/host/preserve.py), since a new value would tell the guest it was rolled back.
"""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.xmlmap import config_class, text
from vmspec.families.family import Family, Identity, Place, Spec


@config_class
class Genid:
    TAG: ClassVar[str] = "genid"
    value: str | None = text()


SCHEMA = {
    "const": True,
    "description": (
        "give the guest a VM generation ID (Windows Server domain controllers need one to "
        "survive a snapshot revert or a restore); libvirt picks its value and changes it "
        "when the guest is reverted, and vmspec keeps the value the domain has"
    ),
    "examples": [True],
}


def lower(spec: Spec, identity: Identity) -> Genid | None:
    return Genid() if spec.get("genid") else None


def lift(genid: Genid | None, spec: Spec, identity: Identity) -> bool | None:
    return True if genid is not None else None


def as_libvirt_stores_it(live: Genid | None, wanted: Genid | None) -> Genid | None:
    """libvirt writes the value it picked into ``<genid/>`` on define, and another after
    a snapshot revert: the same setting as the spec's ``genid: true``."""
    if live is not None and wanted is not None and wanted.value is None:
        return wanted
    return live


FAMILY = Family(
    spec_field="genid",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="genid",
    lower=lower,
    lift=lift,
    libvirt_fills_in=as_libvirt_stores_it,
)
