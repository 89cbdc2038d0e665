"""``<sound>``: emulated sound cards (formatdomain "Sound devices"); their sound goes
through an ``<audio>`` backend (the audio family), the one named by ``audio`` or else
the first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import attr, child, children, config_class
from vmspec.families.audio import AudioLink
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@config_class
class SoundCodec:
    """An HDA codec of an ich6/ich7/ich9 card: the jacks the guest sees."""

    TAG: ClassVar[str] = "codec"
    type: str | None = attr("type")


@config_class
class Sound:
    TAG: ClassVar[str] = "sound"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    codecs: tuple[SoundCodec, ...] = children()
    audio: AudioLink | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


HDA_MODELS = ("ich6", "ich7", "ich9")  # Intel HD Audio: the cards that have codecs

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
            "codecs": {
                "type": "array",
                "items": {"enum": ["duplex", "micro", "output"]},
                "maxItems": 4,
                "description": "ich6, ich7, ich9: the HDA codecs (duplex: line in and out; micro: microphone and speaker; output: speaker only); default: QEMU's duplex",
            },
            "audio": {
                "type": "integer",
                "minimum": 1,
                "maximum": 255,
                "description": "the id of the audio backend its sound goes to; default: the first",
                "examples": [1],
            },
        },
        "required": ["model"],
        "additionalProperties": False,
    },
    "maxItems": 16,
    "examples": [[{"model": "ich9"}], [{"model": "ich9", "codecs": ["micro", "output"]}]],
}


def lower(spec: Spec, identity: Identity) -> tuple[Sound, ...]:
    return tuple(
        Sound(
            model=sound["model"],
            codecs=tuple(SoundCodec(type=codec) for codec in sound.get("codecs", [])),
            audio=AudioLink(id=sound["audio"]) if "audio" in sound else None,
        )
        for sound in spec.get("sound", [])
    )


def lift(sounds: tuple[Sound, ...], spec: Spec, identity: Identity) -> list[dict[str, Any]] | None:
    return [_lift_one(sound) for sound in sounds] or None


def _lift_one(sound: Sound) -> dict[str, Any]:
    lifted: dict[str, Any] = {"model": sound.model}
    if sound.codecs:
        lifted["codecs"] = [codec.type for codec in sound.codecs]
    if sound.audio:
        lifted["audio"] = sound.audio.id
    return lifted


def _codecs(spec: Spec) -> Iterator[Finding]:
    for index, sound in enumerate(spec.get("sound", [])):
        if "codecs" in sound and sound["model"] not in HDA_MODELS:
            yield Finding(
                ("spec", "sound", index, "codecs"),
                f"codecs are HD Audio's ({', '.join(HDA_MODELS)}); {sound['model']} has none",
            )


FAMILY = Family(
    spec_field="sound",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="sounds",
    lower=lower,
    lift=lift,
    checks=(_codecs,),
)
