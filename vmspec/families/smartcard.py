"""``<smartcard>``: a CCID smartcard reader in the guest (formatdomain "Smartcard
devices"), a tagged union on ``mode``: the host's own reader (host), a card emulated
from three certificates of an NSS database (host-certificates), or a card the SPICE
client or a remote reader passes through a chardev (passthrough). libvirt adds the
CCID controller the reader sits on (the controller family counts it as libvirt's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import (
    attr,
    child,
    children,
    config_class,
    discriminator,
    text,
    text_child,
)
from vmspec.families import chardev
from vmspec.families.chardev import ChardevTcp, Protocol
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding

# One reader at most (QEMU 7.2 has no multiple smartcard support, libvirt says): its mode.
_IDENTITY = ("@mode",)


@config_class
class SmartcardHost:
    """The host's own smartcard reader, through NSS."""

    TAG: ClassVar[str] = "smartcard"
    IDENTITY: ClassVar[tuple[str, ...]] = _IDENTITY
    mode: str = discriminator("mode", "host")
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


@config_class
class Certificate:
    TAG: ClassVar[str] = "certificate"
    name: str | None = text()


@config_class
class SmartcardCertificates:
    TAG: ClassVar[str] = "smartcard"
    IDENTITY: ClassVar[tuple[str, ...]] = _IDENTITY
    mode: str = discriminator("mode", "host-certificates")
    certificates: tuple[Certificate, ...] = children()
    database: str | None = text_child("database")
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


@config_class
class SmartcardPassthrough:
    """A card whose APDUs travel over a chardev: the SPICE client's (spicevmc) or a
    remote reader's (tcp, vscclient's protocol)."""

    TAG: ClassVar[str] = "smartcard"
    IDENTITY: ClassVar[tuple[str, ...]] = _IDENTITY
    mode: str = discriminator("mode", "passthrough")
    type: str | None = attr("type")
    source: ChardevTcp | None = child()
    protocol: Protocol | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


AnySmartcard = SmartcardHost | SmartcardCertificates | SmartcardPassthrough

# The chardev types a passed-through card travels over in the spec.
PASSTHROUGH_TYPES = ("spicevmc", "tcp")

SCHEMA = {
    "type": "array",
    "maxItems": 1,
    "description": "a CCID smartcard reader (one: QEMU has no multiple smartcard support): the host's own (host), a card of three certificates (host-certificates), or a card passed through from the SPICE client or a remote reader (passthrough)",
    "items": {
        "type": "object",
        "properties": {
            "mode": {
                "enum": ["host", "host-certificates", "passthrough"],
                "description": "where the card comes from: the host's reader (host), three certificates of an NSS database (host-certificates), or a chardev (passthrough)",
            },
            "certificates": {
                "type": "array",
                "minItems": 3,
                "maxItems": 3,
                "items": {"type": "string", "pattern": "^[^\\n]+$", "maxLength": 256},
                "description": "host-certificates: the nicknames of three certificates in the NSS database",
            },
            "database": {
                "$ref": "#/$defs/absolutePath",
                "description": "host-certificates: the NSS database's folder; default: /etc/pki/nssdb",
                "examples": ["/etc/pki/nssdb"],
            },
            "source": {
                "type": "object",
                "description": "passthrough: the chardev the card travels over: spicevmc (the SPICE client's reader) or tcp",
                "properties": {
                    key: chardev.SOURCE_PROPERTIES[key]
                    for key in ("host", "port", "mode", "protocol", "tls")
                }
                | {
                    "type": {
                        "enum": list(PASSTHROUGH_TYPES),
                        "description": "the chardev's type: spicevmc (the SPICE client's reader) or tcp (a remote reader, with host and port)",
                    }
                },
                "required": ["type"],
                "additionalProperties": False,
            },
        },
        "required": ["mode"],
        "additionalProperties": False,
    },
    "examples": [
        [{"mode": "passthrough", "source": {"type": "spicevmc"}}],
        [
            {
                "mode": "passthrough",
                "source": {"type": "tcp", "host": "127.0.0.1", "port": 2001, "protocol": "raw"},
            }
        ],
        [{"mode": "host-certificates", "certificates": ["cert1", "cert2", "cert3"]}],
        [{"mode": "host"}],
    ],
}


def _smartcard_problems(spec: Spec) -> Iterator[Finding]:
    for index, card in enumerate(spec.get("smartcards", [])):
        where = ("spec", "smartcards", index)
        mode = card["mode"]
        if (mode == "host-certificates") != ("certificates" in card):
            yield Finding(where, "certificates go with mode host-certificates, and it needs them")
        if "database" in card and mode != "host-certificates":
            yield Finding((*where, "database"), "database is mode host-certificates'")
        if (mode == "passthrough") != ("source" in card):
            yield Finding(where, "a source goes with mode passthrough, and it needs one")
        source = card.get("source")
        if source is not None:
            yield from chardev.host_problems(source, (*where, "source"), "smartcard")
        if (
            source
            and source["type"] == "spicevmc"
            and not any(display.get("type") == "spice" for display in spec.get("graphics", []))
        ):
            yield Finding((*where, "source"), "a spicevmc smartcard needs a spice display")


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, card in enumerate(spec.get("smartcards", [])):
        if "source" in card:
            where = ("spec", "smartcards", index, "source")
            yield from chardev.host_defaults(card["source"], where)


def lower(spec: Spec, identity: Identity) -> tuple[AnySmartcard, ...]:
    return tuple(_smartcard(card) for card in spec.get("smartcards", []))


def _smartcard(card: Spec) -> AnySmartcard:
    if card["mode"] == "host":
        return SmartcardHost()
    if card["mode"] == "host-certificates":
        return SmartcardCertificates(
            certificates=tuple(Certificate(name=name) for name in card["certificates"]),
            database=card.get("database"),
        )
    device = chardev.lower_host(card["source"], None)
    return SmartcardPassthrough(
        type=device.type, source=device.source, protocol=getattr(device, "protocol", None)
    )


def lift(cards: tuple[AnySmartcard, ...], spec: Spec, identity: Identity) -> list[Spec] | None:
    lifted = []
    for card in cards:
        if isinstance(card, SmartcardHost):
            lifted.append({"mode": "host"})
        elif isinstance(card, SmartcardCertificates):
            entry: Spec = {"mode": card.mode, "certificates": [c.name for c in card.certificates]}
            if card.database:
                entry["database"] = card.database
            lifted.append(entry)
        elif card.type == "tcp":
            tcp = chardev.TcpChardev(source=card.source, protocol=card.protocol)
            lifted.append({"mode": card.mode, "source": chardev.lift_host(tcp)})
        elif card.type == "spicevmc" and card.source is None:
            lifted.append({"mode": card.mode, "source": {"type": "spicevmc"}})
    return lifted or None


def cannot_say(cards: tuple[AnySmartcard, ...]) -> tuple[str, ...]:
    return tuple(
        f"/domain/devices/smartcard[{index + 1}]/@type: {card.type} (the spec passes a card "
        "through spicevmc or tcp)"
        for index, card in enumerate(cards)
        if isinstance(card, SmartcardPassthrough) and card.type not in PASSTHROUGH_TYPES
    )


def as_libvirt_stores_it(live: tuple[Any, ...], wanted: Any) -> tuple[Any, ...]:
    """A passed-through card's tcp chardev as libvirt stores it (connect, raw)."""
    stored = []
    for card in live:
        if isinstance(card, SmartcardPassthrough) and card.type == "tcp":
            device = chardev.as_libvirt_stores_it(
                chardev.TcpChardev(source=card.source, protocol=card.protocol)
            )
            card = SmartcardPassthrough(
                type=card.type, source=device.source, protocol=device.protocol
            )
        stored.append(card)
    return tuple(stored)


def without_its_controller(devices: Any) -> Any:
    """libvirt adds the CCID controller (index 0) a smartcard reader sits on: a domain
    with a smartcard and that controller alone is what the spec's smartcard compiles to.
    (The controller family could say so in is_libvirts_own; until then lift asks here.)"""
    if not devices.smartcards:
        return devices
    controllers = tuple(
        item
        for item in devices.controllers
        if not (item.type == "ccid" and item.index in (None, 0) and item.ports is None)
    )
    return dataclasses.replace(devices, controllers=controllers)


FAMILY = Family(
    spec_field="smartcards",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="smartcards",
    lower=lower,
    lift=lift,
    cannot_say=cannot_say,
    checks=(_smartcard_problems,),
    policy_defaults=policy_defaults,
    libvirt_fills_in=as_libvirt_stores_it,
)
