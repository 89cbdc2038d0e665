"""``<redirdev>``: USB devices of the SPICE client's, passed to the guest
(formatdomain "Redirected devices"). The spec says how many at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import attr, child, config_class
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@config_class
class Redirdev:
    TAG: ClassVar[str] = "redirdev"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@bus", "@type")
    bus: str | None = attr("bus")
    type: str | None = attr("type")
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


# Each one lets the SPICE client pass one USB device to the guest at a time.
SPICE_REDIRECTION = Redirdev(bus="usb", type="spicevmc")

SCHEMA = {
    "type": "integer",
    "minimum": 0,
    "maximum": 16,
    "description": "how many USB devices of the SPICE client the guest can take at once (one spicevmc redirdev each); needs a spice display",
    "examples": [2],
}


def lower(spec: Spec, identity: Identity) -> tuple[Redirdev, ...]:
    return (SPICE_REDIRECTION,) * spec.get("usbRedirection", 0)


def lift(redirdevs: tuple[Redirdev, ...], spec: Spec, identity: Identity) -> int | None:
    # Any other kind of redirdev is left for the self-check to name.
    return redirdevs.count(SPICE_REDIRECTION) or None


def _needs_spice(spec: Spec) -> Iterator[Finding]:
    # Redirected USB devices travel over the SPICE connection.
    spice = any(graphics["type"] == "spice" for graphics in spec.get("graphics", []))
    if spec.get("usbRedirection") and not spice:
        yield Finding(
            ("spec", "usbRedirection"), "USB redirection needs a spice display in graphics"
        )


FAMILY = Family(
    spec_field="usbRedirection",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="redirdevs",
    lower=lower,
    lift=lift,
    checks=(_needs_spice,),
)
