"""``<audio>``: where the guest's sound goes on the host, and where its microphone comes
from (formatdomain "Audio backends"). Sound cards (``<sound>``) and VNC or D-Bus
displays name a backend by its id (``<audio id='2'/>``); without one libvirt adds
``<audio id='1'>`` by itself (see ``default_backend``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, child, config_class
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding


@config_class
class AudioLink:
    """``<audio id='N'/>`` in a sound card or display: which backend carries its sound."""

    TAG: ClassVar[str] = "audio"
    id: int | None = attr("id")


@config_class
class AudioSettings:
    """The fixed format of the stream (only written with fixedSettings yes)."""

    TAG: ClassVar[str] = "settings"
    frequency: int | None = attr("frequency")
    channels: int | None = attr("channels")
    format: str | None = attr("format")


@config_class
class AudioStream:
    """``<input>`` or ``<output>``: the common attributes, then each type's own (one class
    for all types: libvirt writes them in this order, and the checks keep each type to
    its own)."""

    TAG: ClassVar[str] = "output"
    mixing_engine: bool | None = attr("mixingEngine")
    fixed_settings: bool | None = attr("fixedSettings")
    voices: int | None = attr("voices")
    buffer_length: int | None = attr("bufferLength")
    dev: str | None = attr("dev")  # alsa, oss
    buffer_count: int | None = attr("bufferCount")  # coreaudio, oss, sdl
    try_poll: bool | None = attr("tryPoll")  # oss
    name: str | None = attr("name")  # pulseaudio: the sink or source
    stream_name: str | None = attr("streamName")  # pulseaudio
    latency: int | None = attr("latency")  # pulseaudio, in microseconds
    server_name: str | None = attr("serverName")  # jack
    client_name: str | None = attr("clientName")  # jack
    connect_ports: str | None = attr("connectPorts")  # jack: a regular expression
    exact_name: bool | None = attr("exactName")  # jack
    settings: AudioSettings | None = child()


@config_class
class Audio:
    TAG: ClassVar[str] = "audio"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@id",)
    id: int | None = attr("id")
    type: str | None = attr("type")
    timer_period: int | None = attr("timerPeriod")
    try_mmap: bool | None = attr("tryMMap")  # oss
    exclusive: bool | None = attr("exclusive")  # oss
    dsp_policy: int | None = attr("dspPolicy")  # oss
    server_name: str | None = attr("serverName")  # pulseaudio
    driver: str | None = attr("driver")  # sdl
    path: str | None = attr("path")  # file
    input: AudioStream | None = child("input")
    output: AudioStream | None = child("output")


# spec key → config field, for the backend itself and for each direction, with the types
# that take it (libvirt's schema, domaincommon.rng "audio").
BACKEND_KEYS = {
    "timerPeriod": ("timer_period", None),
    "tryMMap": ("try_mmap", ("oss",)),
    "exclusive": ("exclusive", ("oss",)),
    "dspPolicy": ("dsp_policy", ("oss",)),
    "serverName": ("server_name", ("pulseaudio",)),
    "driver": ("driver", ("sdl",)),
    "path": ("path", ("file",)),
}
STREAM_KEYS = {
    "mixingEngine": ("mixing_engine", None),
    "fixedSettings": ("fixed_settings", None),
    "voices": ("voices", None),
    "bufferLength": ("buffer_length", None),
    "dev": ("dev", ("alsa", "oss")),
    "bufferCount": ("buffer_count", ("coreaudio", "oss", "sdl")),
    "tryPoll": ("try_poll", ("oss",)),
    "name": ("name", ("pulseaudio",)),
    "streamName": ("stream_name", ("pulseaudio",)),
    "latency": ("latency", ("pulseaudio",)),
    "serverName": ("server_name", ("jack",)),
    "clientName": ("client_name", ("jack",)),
    "connectPorts": ("connect_ports", ("jack",)),
    "exactName": ("exact_name", ("jack",)),
}
TYPES = ["none", "alsa", "coreaudio", "jack", "oss", "pulseaudio", "sdl", "spice", "file", "dbus"]

_COUNT = {"type": "integer", "minimum": 1, "maximum": 4294967295}
_NAME = {"type": "string", "pattern": "^[^\\r\\n]+$", "maxLength": 256}

STREAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "the stream's settings (input: the guest's microphone; output: its sound)",
    "properties": {
        "mixingEngine": {"type": "boolean", "description": "QEMU mixes and resamples"},
        "fixedSettings": {"type": "boolean", "description": "a fixed format: settings"},
        "voices": {
            **_COUNT,
            "description": "how many streams QEMU mixes at once (voices); default: QEMU's, 1",
        },
        "bufferLength": {**_COUNT, "description": "in microseconds"},
        "settings": {
            "type": "object",
            "description": "with fixedSettings: the stream's format",
            "properties": {
                "frequency": {**_COUNT, "description": "the sample rate in Hz, such as 44100"},
                "channels": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 64,
                    "description": "how many channels (2: stereo)",
                },
                "format": {
                    "enum": ["s8", "u8", "s16", "u16", "s32", "u32", "f32"],
                    "description": "the sample format: signed or unsigned integers of 8, 16 or 32 bits, or 32-bit floats",
                },
            },
            "additionalProperties": False,
        },
        "dev": {**_NAME, "description": "alsa: the PCM device (hw:0,0); oss: the device file"},
        "bufferCount": {**_COUNT, "description": "coreaudio, oss, sdl"},
        "tryPoll": {"type": "boolean", "description": "oss"},
        "name": {
            **_NAME,
            "description": "pulseaudio: the sink or source",
            "examples": ["alsa_output.pci-0000_00_1f.3.analog-stereo"],
        },
        "streamName": {
            **_NAME,
            "description": "pulseaudio: the stream's name the sound server shows",
            "examples": ["web-01"],
        },
        "latency": {**_COUNT, "description": "pulseaudio: in microseconds", "examples": [20000]},
        "serverName": {
            **_NAME,
            "description": "jack: the JACK server to connect to",
            "examples": ["default"],
        },
        "clientName": {
            **_NAME,
            "description": "jack: the client name QEMU registers with",
            "examples": ["qemu-web-01"],
        },
        "connectPorts": {
            **_NAME,
            "description": "jack: a regular expression of ports",
            "examples": ["system:playback_.*"],
        },
        "exactName": {"type": "boolean", "description": "jack"},
    },
    "additionalProperties": False,
}

SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": 8,
    "description": "audio backends: where sound cards' and displays' sound goes; default: libvirt's own (spice with a SPICE display, none otherwise)",
    "items": {
        "type": "object",
        "properties": {
            "id": {
                "type": "integer",
                "minimum": 1,
                "maximum": 255,
                "description": "what sound cards and displays name it by; default: its place in the list, from 1",
            },
            "type": {
                "enum": TYPES,
                "description": "none: no sound; spice and dbus: to the display's client; file: a WAV file; the others: the host's sound system",
            },
            "timerPeriod": {**_COUNT, "description": "the audio timer in microseconds"},
            "tryMMap": {"type": "boolean", "description": "oss"},
            "exclusive": {"type": "boolean", "description": "oss"},
            "dspPolicy": {"type": "integer", "minimum": 0, "maximum": 10, "description": "oss"},
            "serverName": {**_NAME, "description": "pulseaudio: the server"},
            "driver": {"enum": ["esd", "alsa", "arts", "pulseaudio"], "description": "sdl"},
            "path": {"$ref": "#/$defs/absolutePath", "description": "file: the WAV file"},
            "input": STREAM_SCHEMA,
            "output": STREAM_SCHEMA,
        },
        "required": ["type"],
        "additionalProperties": False,
    },
    "examples": [
        [{"type": "none"}],
        [
            {
                "type": "file",
                "path": "/var/lib/libvirt/qemu/family-audio.wav",
                "timerPeriod": 50,
                "output": {
                    "mixingEngine": True,
                    "fixedSettings": True,
                    "voices": 2,
                    "bufferLength": 200,
                    "settings": {"frequency": 44100, "channels": 2, "format": "s16"},
                },
            }
        ],
        [{"type": "spice", "input": {"mixingEngine": False}, "output": {"voices": 1}}],
        [{"type": "none"}, {"id": 3, "type": "pulseaudio", "serverName": "audio.example.org"}],
        [
            {
                "type": "oss",
                "tryMMap": True,
                "exclusive": True,
                "dspPolicy": 3,
                "output": {"dev": "/dev/dsp1", "bufferCount": 30, "tryPoll": False},
            }
        ],
    ],
}


ID_REASON = "its place among the audio backends, from 1, as libvirt numbers them"


def backend_ids(spec: Spec) -> list[int]:
    return [audio.get("id", index) for index, audio in enumerate(spec.get("audio", []), start=1)]


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, (audio, backend_id) in enumerate(
        zip(spec.get("audio", []), backend_ids(spec), strict=True)
    ):
        if "id" not in audio:
            yield PolicyDefault(("spec", "audio", index, "id"), backend_id, ID_REASON)


def lower(spec: Spec, identity: Identity) -> tuple[Audio, ...]:
    return tuple(
        _lower_one(audio, backend_id)
        for audio, backend_id in zip(spec.get("audio", []), backend_ids(spec), strict=True)
    )


def _lower_one(audio: dict[str, Any], backend_id: int) -> Audio:
    return Audio(
        id=backend_id,
        type=audio["type"],
        **{field: audio.get(key) for key, (field, _) in BACKEND_KEYS.items()},
        input=_stream(audio.get("input"), "input"),
        output=_stream(audio.get("output"), "output"),
    )


def _stream(stream: dict[str, Any] | None, direction: str) -> AudioStream | None:
    if not stream:
        return None
    settings = stream.get("settings")
    return AudioStream(
        **{field: stream.get(key) for key, (field, _) in STREAM_KEYS.items()},
        settings=AudioSettings(**settings) if settings else None,
    )


def lift(audios: tuple[Audio, ...], spec: Spec, identity: Identity) -> Any:
    default = default_backend([graphics["type"] for graphics in spec.get("graphics", [])])
    # A backend that sound cards or displays name is said, even libvirt's default one.
    named = any("audio" in item for item in (*spec.get("sound", []), *spec.get("graphics", [])))
    if not audios or (audios == (default,) and not named):
        return None
    return [_lift_one(audio, index) for index, audio in enumerate(audios, start=1)]


# What the last VNC, SPICE or SDL display makes of the sound when the domain names no
# backend; other displays (egl-headless, dbus) leave it as it was.
_DISPLAY_SOUND = {"vnc": "none", "spice": "spice", "sdl": None}


def default_backend(graphics_types: list[str]) -> Audio | None:
    """The backend libvirt 9.0 adds to a domain that names none, from its displays in
    their order (seen with define + dumpxml --inactive on qemu:///system): without a
    display, type none (QEMU 7 needs a backend); else what the last VNC (none), SPICE
    (SPICE's own channel) or SDL display says: after SDL, or with only egl-headless and
    dbus displays, none at all (their sound follows the environment QEMU runs in)."""
    sound: str | None = None if graphics_types else "none"
    for kind in graphics_types:
        sound = _DISPLAY_SOUND.get(kind, sound)
    return Audio(id=1, type=sound) if sound else None


def _lift_one(audio: Audio, index: int) -> dict[str, Any]:
    lifted: dict[str, Any] = {} if audio.id == index else {"id": audio.id}
    lifted["type"] = audio.type
    for key, (field, _) in BACKEND_KEYS.items():
        if getattr(audio, field) is not None:
            lifted[key] = getattr(audio, field)
    for direction in ("input", "output"):
        stream = getattr(audio, direction)
        if stream is not None:
            lifted[direction] = _lift_stream(stream)
    return lifted


def _lift_stream(stream: AudioStream) -> dict[str, Any]:
    lifted = {
        key: getattr(stream, field)
        for key, (field, _) in STREAM_KEYS.items()
        if getattr(stream, field) is not None
    }
    if stream.settings is not None:
        settings = {
            "frequency": stream.settings.frequency,
            "channels": stream.settings.channels,
            "format": stream.settings.format,
        }
        lifted["settings"] = {key: value for key, value in settings.items() if value is not None}
    return lifted


_OSS_DEVICE = re.compile(r"[a-zA-Z0-9_.\\:/-]+")


def _backends(spec: Spec) -> Iterator[Finding]:
    ids = backend_ids(spec)
    for index, audio in enumerate(spec.get("audio", [])):
        where = ("spec", "audio", index)
        if ids.index(ids[index]) != index:
            yield Finding(
                where, f"audio id {ids[index]} is taken by audio[{ids.index(ids[index])}]"
            )
        kind = audio["type"]
        for key, (_, types) in BACKEND_KEYS.items():
            if key in audio and types and kind not in types:
                yield Finding((*where, key), f"{key} is for {' and '.join(types)} audio")
        for direction in ("input", "output"):
            stream = audio.get(direction, {})
            for key, (_, types) in STREAM_KEYS.items():
                if key in stream and types and kind not in types:
                    yield Finding(
                        (*where, direction, key), f"{key} is for {' and '.join(types)} audio"
                    )
            dev = stream.get("dev")
            if kind == "oss" and dev is not None and not _OSS_DEVICE.fullmatch(dev):
                # libvirt's schema (deviceName) takes letters, digits and _ . - \ : / only.
                yield Finding((*where, direction, "dev"), f"{dev!r} is no OSS device file")
            if stream.get("fixedSettings") and stream.get("mixingEngine") is False:
                # libvirt: "fixed audio settings requires mixing engine" (QEMU mixes to
                # the fixed format).
                yield Finding(
                    (*where, direction, "mixingEngine"),
                    "fixedSettings needs the mixing engine: leave mixingEngine out or true",
                )
            if "settings" in stream and not stream.get("fixedSettings"):
                # libvirt writes settings only with fixedSettings yes, and drops them otherwise.
                yield Finding((*where, direction, "settings"), "settings need fixedSettings: true")
        if kind == "file" and "input" in audio:
            yield Finding((*where, "input"), "a file backend records no input")
    yield from _links(spec, set(ids))


def _links(spec: Spec, ids: set[int]) -> Iterator[Finding]:
    """Sound cards and displays name backends that the spec has."""
    named = [
        (("spec", "sound", index, "audio"), sound["audio"])
        for index, sound in enumerate(spec.get("sound", []))
        if "audio" in sound
    ] + [
        (("spec", "graphics", index, "audio"), graphics["audio"])
        for index, graphics in enumerate(spec.get("graphics", []))
        if "audio" in graphics
    ]
    for where, backend_id in named:
        if backend_id not in ids:
            yield Finding(where, f"no audio backend has id {backend_id}: add it to audio")


def _host_devices(audios: tuple[Audio, ...]) -> list[tuple[str, str]]:
    """OSS's device files (ALSA's dev is a PCM name, not a path)."""
    return [
        (f"audio {audio.id} {direction}", stream.dev)
        for audio in audios
        if audio.type == "oss"
        for direction, stream in (("input", audio.input), ("output", audio.output))
        if stream is not None and stream.dev
    ]


FAMILY = Family(
    spec_field="audio",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="audios",
    lower=lower,
    lift=lift,
    checks=(_backends,),
    host_paths=_host_devices,
    policy_defaults=policy_defaults,
)
