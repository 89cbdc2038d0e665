"""``<sound>``: emulated sound cards (formatdomain "Sound devices"); their sound goes
through ``<audio>``, which libvirt adds by itself (see normalize)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from vmspec.config.xmlmap import CONFIG, attr
from vmspec.families.family import Family, Identity, Place, Spec


@dataclass(**CONFIG)
class Sound:
    TAG: ClassVar[str] = "sound"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")


SCHEMA = {
    "type": "array",
    "description": "emulated sound cards",
    "items": {
        "type": "object",
        "properties": {
            "model": {
                "enum": ["ich6", "ich7", "ich9", "ac97", "es1370", "sb16", "usb", "pcspk"],
                "description": "ich9 for q35 guests, ich6 for pc ones (what virt-install picks)",
            }
        },
        "required": ["model"],
        "additionalProperties": False,
    },
    "maxItems": 8,
    "examples": [[{"model": "ich9"}]],
}


def lower(spec: Spec, identity: Identity) -> tuple[Sound, ...]:
    return tuple(Sound(model=sound["model"]) for sound in spec.get("sound", []))


def lift(sounds: tuple[Sound, ...], spec: Spec, identity: Identity) -> list[dict[str, Any]] | None:
    return [{"model": sound.model} for sound in sounds] or None


FAMILY = Family(
    spec_field="sound",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="sounds",
    lower=lower,
    lift=lift,
)
