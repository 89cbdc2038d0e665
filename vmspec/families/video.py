"""``<video>``: the guest's graphics cards (formatdomain "Video devices"). The first is
the primary one, which the firmware and the boot console draw on; a display needs one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import attr, child, config_class
from vmspec.families import virtio_options
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.families.virtio_options import VirtioDriver
from vmspec.problems import Finding


@config_class
class VideoAcceleration:
    TAG: ClassVar[str] = "acceleration"
    accel3d: bool | None = attr("accel3d")


@config_class
class VideoResolution:
    """The resolution the guest starts with (qxl and virtio)."""

    TAG: ClassVar[str] = "resolution"
    x: int | None = attr("x")
    y: int | None = attr("y")


@config_class
class VideoModel:
    TAG: ClassVar[str] = "model"
    type: str | None = attr("type")
    ram: int | None = attr("ram")  # KiB, like vram, vram64 and vgamem
    vram: int | None = attr("vram")
    vram64: int | None = attr("vram64")
    vgamem: int | None = attr("vgamem")
    heads: int | None = attr("heads")
    primary: bool | None = attr("primary")
    acceleration: VideoAcceleration | None = child()
    resolution: VideoResolution | None = child()


@config_class
class Video:
    TAG: ClassVar[str] = "video"
    IDENTITY: ClassVar[tuple[str, ...]] = ("model/@type",)
    driver: VirtioDriver | None = child()
    model: VideoModel | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


# --- policy ---------------------------------------------------------------------------------

DEFAULT_MODEL = "virtio"
MODEL_REASON = "virtio-vga drives a plain VGA console too, and every current guest has its driver"
CARD_REASON = f"a display needs a graphics card: {MODEL_REASON}"
DEFAULT_HEADS = 1
HEADS_REASON = "one screen: what libvirt writes for every model but none"

# --- what libvirt 9.0 fills in on define (domain_conf.c, virDomainVideoDefaultRAM and
# qemuDomainDeviceVideoDefPostParse): video memory in KiB, by model ------------------------

LIBVIRT_MEMORY = {
    "qxl": {"ram": 65536, "vram": 65536, "vgamem": 16384},
    "vga": {"vram": 16384},
    "cirrus": {"vram": 16384},
    "vmvga": {"vram": 16384},
    "bochs": {"vram": 16384},
}
MEMORY_KEYS = ("ram", "vram", "vram64", "vgamem")
QXL_ONLY = ("ram", "vram64", "vgamem")  # libvirt's schema takes them on qxl alone

_KIB = {"type": "integer", "minimum": 1024, "maximum": 4194304}

DEVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "model": {
            "enum": ["virtio", "qxl", "vga", "cirrus", "bochs", "ramfb", "vmvga", "none"],
            "description": f"default: {DEFAULT_MODEL}; qxl for SPICE guests without virtio drivers (Windows); none: no card at all",
        },
        "heads": {"type": "integer", "minimum": 1, "maximum": 16, "description": "screens"},
        "ram": {**_KIB, "description": "qxl: its RAM bar in KiB; default 65536"},
        "vram": {**_KIB, "description": "video memory in KiB"},
        "vram64": {
            **_KIB,
            "description": "qxl: its 64-bit video memory bar in KiB",
            "examples": [65536],
        },
        "vgamem": {**_KIB, "description": "qxl: the VGA framebuffer in KiB; default 16384"},
        "accel3d": {
            "type": "boolean",
            "description": "virtio: 3D acceleration through virgl (a display with gl)",
        },
        "driver": virtio_options.SCHEMA,
        "resolution": {
            "type": "object",
            "description": "qxl and virtio: the resolution the guest starts with",
            "properties": {
                "x": {
                    "type": "integer",
                    "minimum": 320,
                    "maximum": 16384,
                    "description": "the width in pixels",
                },
                "y": {
                    "type": "integer",
                    "minimum": 200,
                    "maximum": 16384,
                    "description": "the height in pixels",
                },
            },
            "required": ["x", "y"],
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

SCHEMA: dict[str, Any] = {
    **DEVICE_SCHEMA,
    # One card (a mapping), or several (a list; the first is primary).
    "type": ["object", "array"],
    "description": f"the graphics card, or a list of them (the first is the primary one); default: {DEFAULT_MODEL} when there is a display",
    "items": DEVICE_SCHEMA,
    "minItems": 1,
    "maxItems": 4,
    "examples": [
        {"model": "vga"},
        {"model": "qxl", "ram": 131072, "vram": 32768, "vgamem": 8192, "heads": 2},
        [{"model": "qxl"}, {"model": "qxl", "heads": 1}],
        {"model": "virtio", "heads": 2, "resolution": {"x": 1280, "y": 720}},
        {"model": "virtio", "driver": {"packed": True}},
        {"model": "none"},
    ],
}


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    video = spec.get("video")
    if video is None:
        if devices(spec):
            card = {"model": DEFAULT_MODEL, "heads": DEFAULT_HEADS}
            yield PolicyDefault(("spec", "video"), card, CARD_REASON)
        return
    for where, card in _cards_with_paths(video):
        if "model" not in card:
            yield PolicyDefault((*where, "model"), DEFAULT_MODEL, MODEL_REASON)
        if "heads" not in card and card.get("model", DEFAULT_MODEL) != "none":
            yield PolicyDefault((*where, "heads"), DEFAULT_HEADS, HEADS_REASON)


def _cards_with_paths(video: Any) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    if isinstance(video, list):
        return [(("spec", "video", index), card) for index, card in enumerate(video)]
    return [(("spec", "video"), video)]


def devices(spec: Spec) -> list[dict[str, Any]]:
    """The spec's cards as a list (a single mapping is one card); the policy's where it
    says none and has a display."""
    video = spec.get("video")
    if video is None:
        return [{"model": DEFAULT_MODEL}] if spec.get("graphics") else []
    return video if isinstance(video, list) else [video]


def lower(spec: Spec, identity: Identity) -> tuple[Video, ...]:
    return tuple(_lower_one(card, index) for index, card in enumerate(devices(spec)))


def _lower_one(card: dict[str, Any], index: int) -> Video:
    model = card.get("model", DEFAULT_MODEL)
    if model == "none":
        return Video(model=VideoModel(type="none"))
    accel3d = card.get("accel3d")
    resolution = card.get("resolution")
    return Video(
        driver=virtio_options.lower(card.get("driver")),
        model=VideoModel(
            type=model,
            **{key: card.get(key) for key in MEMORY_KEYS},
            heads=card.get("heads", DEFAULT_HEADS),
            # libvirt marks the first card primary; vmspec says so, as libvirt stores it.
            primary=True if index == 0 else None,
            acceleration=VideoAcceleration(accel3d=accel3d) if accel3d is not None else None,
            resolution=VideoResolution(**resolution) if resolution else None,
        ),
    )


def lift(videos: tuple[Video, ...], spec: Spec, identity: Identity) -> Any:
    cards = [_lift_one(video) for video in primary_first(videos) if video.model]
    if cards == devices({"graphics": spec.get("graphics")}):
        return None  # what the policy gives a guest with (or without) a display
    if not cards:
        return {"model": "none"} if spec.get("graphics") else None
    return cards[0] if len(cards) == 1 else cards


def _lift_one(video: Video) -> dict[str, Any]:
    model = video.model
    lifted: dict[str, Any] = {"model": model.type}
    driver = virtio_options.lift(video.driver)
    if driver:
        lifted["driver"] = driver
    defaults = LIBVIRT_MEMORY.get(model.type or "", {})
    for key in MEMORY_KEYS:
        value = getattr(model, key)
        if value is not None and value != defaults.get(key):
            lifted[key] = value
    if model.heads is not None and model.heads != DEFAULT_HEADS:
        lifted["heads"] = model.heads
    if model.acceleration is not None and model.acceleration.accel3d is not None:
        lifted["accel3d"] = model.acceleration.accel3d
    if model.resolution is not None:
        lifted["resolution"] = {"x": model.resolution.x, "y": model.resolution.y}
    return lifted


def primary_first(videos: tuple[Video, ...]) -> tuple[Video, ...]:
    """The cards as libvirt 9.0 stores them: the primary one first (the first when none
    says so), and primary='no' left out, since it is what a card's place says."""
    cards = [
        dataclasses.replace(video, model=dataclasses.replace(video.model, primary=None))
        if video.model and video.model.primary is False
        else video
        for video in videos
    ]
    primaries = [video for video in cards if video.model and video.model.primary]
    if len(primaries) == 1:
        cards.remove(primaries[0])
        cards.insert(0, primaries[0])
    return tuple(cards)


def as_libvirt_stores_it(live: tuple[Video, ...], wanted: tuple[Video, ...]) -> tuple[Video, ...]:
    """libvirt writes each model's default video memory where none is given."""
    return tuple(
        _as_stored(wanted[index] if index < len(wanted) else None, video)
        for index, video in enumerate(primary_first(live))
    )


def _as_stored(wanted: Video | None, live: Video) -> Video:
    if wanted is None or wanted.model is None or live.model is None:
        return live
    model = live.model
    defaults = LIBVIRT_MEMORY.get(model.type or "", {})
    unsaid = {
        key: None
        for key in MEMORY_KEYS
        if getattr(wanted.model, key) is None and getattr(model, key) in (defaults.get(key), None)
    }
    if wanted.model.heads is None and model.heads == DEFAULT_HEADS:
        unsaid["heads"] = None  # libvirt's one screen
    return dataclasses.replace(live, model=dataclasses.replace(model, **unsaid))


def _cards(spec: Spec) -> Iterator[Finding]:
    video = spec.get("video")
    if video is None:
        return
    listed = isinstance(video, list)
    for index, card in enumerate(video if listed else [video]):
        where = ("spec", "video", index) if listed else ("spec", "video")
        model = card.get("model", DEFAULT_MODEL)
        if model == "none" and len(card) > 1:
            yield Finding(where, "a video of model none has nothing else to say")
        for key in QXL_ONLY:
            if key in card and model != "qxl":
                yield Finding((*where, key), f"{key} is qxl's video memory; this card is {model}")
        if "driver" in card and model != "virtio":
            yield Finding((*where, "driver"), "driver is for virtio cards")
        if "accel3d" in card and model != "virtio":
            yield Finding((*where, "accel3d"), "accel3d is for virtio cards (virgl)")
        if "resolution" in card and model not in ("qxl", "virtio"):
            yield Finding((*where, "resolution"), "resolution is for qxl and virtio cards")
        if index > 0 and model not in ("qxl", "virtio"):
            # QEMU can add only qxl and virtio-gpu as secondary cards.
            yield Finding((*where, "model"), f"a secondary card is qxl or virtio, not {model}")
        if model == "none" and listed and len(video) > 1:
            yield Finding(where, "none means no card at all: the only entry")


FAMILY = Family(
    spec_field="video",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="videos",
    lower=lower,
    lift=lift,
    checks=(_cards,),
    policy_defaults=policy_defaults,
    libvirt_fills_in=as_libvirt_stores_it,
)
