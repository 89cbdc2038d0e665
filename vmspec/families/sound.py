"""``<sound>``: emulated sound cards (formatdomain "Sound devices"); their sound goes
through an ``<audio>`` backend (the audio family), the one named by ``audio`` or else
the first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child
from vmspec.families.audio import AudioLink
from vmspec.families.family import Family, Identity, Place, Spec


@dataclass(**CONFIG)
class Sound:
    TAG: ClassVar[str] = "sound"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    audio: AudioLink | None = child()


SCHEMA = {
    "type": "array",
    "description": "emulated sound cards",
    "items": {
        "type": "object",
        "properties": {
            "model": {
                "enum": ["ich6", "ich7", "ich9", "ac97", "es1370", "sb16", "usb", "pcspk"],
                "description": "ich9 for q35 guests, ich6 for pc ones (what virt-install picks)",
            },
            "audio": {
                "type": "integer",
                "minimum": 1,
                "maximum": 255,
                "description": "the id of the audio backend its sound goes to; default: the first",
            },
        },
        "required": ["model"],
        "additionalProperties": False,
    },
    "maxItems": 8,
    "examples": [[{"model": "ich9"}]],
}


def lower(spec: Spec, identity: Identity) -> tuple[Sound, ...]:
    return tuple(
        Sound(
            model=sound["model"], audio=AudioLink(id=sound["audio"]) if "audio" in sound else None
        )
        for sound in spec.get("sound", [])
    )


def lift(sounds: tuple[Sound, ...], spec: Spec, identity: Identity) -> list[dict[str, Any]] | None:
    return [
        {"model": sound.model, **({"audio": sound.audio.id} if sound.audio else {})}
        for sound in sounds
    ] or None


FAMILY = Family(
    spec_field="sound",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="sounds",
    lower=lower,
    lift=lift,
)
