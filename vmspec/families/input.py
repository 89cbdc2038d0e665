"""``<input>``: keyboards, mice and tablets, emulated or the host's own passed through
(formatdomain "Input devices"). x86 guests always have a PS/2 mouse and keyboard,
which libvirt adds by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import ON_OFF, attr, child, config_class
from vmspec.families import virtio_options
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.families.virtio_options import VirtioDriver
from vmspec.problems import Finding


@config_class
class InputSource:
    TAG: ClassVar[str] = "source"
    evdev: str | None = attr("evdev")  # passthrough: the host's /dev/input/eventN
    dev: str | None = attr("dev")  # evdev: the same, as libvirt names it there
    grab: str | None = attr("grab")
    grab_toggle: str | None = attr("grabToggle")
    repeat: bool | None = attr("repeat", codec=ON_OFF)


@config_class
class Input:
    TAG: ClassVar[str] = "input"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@type", "@bus")
    type: str | None = attr("type")
    bus: str | None = attr("bus")
    model: str | None = attr("model")
    driver: VirtioDriver | None = child()
    source: InputSource | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


# --- policy ---------------------------------------------------------------------------------

TABLET_REASON = (
    "an absolute-pointing USB tablet keeps the VNC/SPICE pointer where the client's mouse "
    "is (a PS/2 mouse moves relatively and drifts)"
)
POLICY_TABLET = {"type": "tablet", "bus": "usb"}  # TABLET_REASON
DEFAULT_BUS = "usb"  # keyboard, mouse and tablet: BUS_REASON
BUS_REASON = (
    "USB, which every guest has drivers for and which a tablet needs to point absolutely "
    "(libvirt would put a keyboard or mouse on PS/2 on x86)"
)
PASSED_THROUGH = ("passthrough", "evdev")  # the host's own devices

SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": 16,
    "description": "keyboards, mice and tablets; default: a USB tablet when there is a display ([] for none); x86 guests always have PS/2 ones too",
    "items": {
        "type": "object",
        "properties": {
            "type": {
                "enum": ["tablet", "mouse", "keyboard", "passthrough", "evdev"],
                "description": "passthrough: the host's device to the guest on virtio; evdev: the host's device, switched between host and guest by a key combination",
            },
            "bus": {
                "enum": ["usb", "virtio", "ps2"],
                "description": f"tablet, mouse, keyboard: default {DEFAULT_BUS}; passthrough: virtio",
            },
            "model": {
                "enum": ["virtio-transitional", "virtio-non-transitional"],
                "description": "passthrough: a virtio device for older (transitional) or only modern drivers",
            },
            "source": {
                "$ref": "#/$defs/absolutePath",
                "description": "passthrough and evdev: the host's device, such as /dev/input/by-id/usb-...-event-kbd",
            },
            "grab": {"enum": ["all"], "description": "evdev: grab all host input devices"},
            "grabToggle": {
                "enum": [
                    "ctrl-ctrl",
                    "alt-alt",
                    "shift-shift",
                    "meta-meta",
                    "scrolllock",
                    "ctrl-scrolllock",
                ],
                "description": "evdev: the keys that switch the device between host and guest",
            },
            "repeat": {"type": "boolean", "description": "evdev: key repeat"},
            "driver": virtio_options.SCHEMA,
        },
        "required": ["type"],
        "additionalProperties": False,
    },
    "examples": [
        [{"type": "tablet"}, {"type": "keyboard", "bus": "virtio"}],
        [{"type": "mouse", "bus": "virtio", "driver": {"packed": True}}],
        [],
        [
            {
                "type": "passthrough",
                "source": "/dev/input/event1234",
                "model": "virtio-non-transitional",
            }
        ],
        [
            {
                "type": "evdev",
                "source": "/dev/input/event1234",
                "grab": "all",
                "grabToggle": "alt-alt",
                "repeat": True,
            }
        ],
    ],
}


def inputs(spec: Spec) -> list[dict[str, Any]]:
    if "inputs" in spec:
        return spec["inputs"]
    return [POLICY_TABLET] if spec.get("graphics") else []


def bus(device: dict[str, Any]) -> str | None:
    if device["type"] == "evdev":
        return None  # on no bus: QEMU reads the host device and feeds the guest's own
    if device["type"] == "passthrough":
        return "virtio"  # the only bus of virtio-input-host, which the spec cannot change
    return device.get("bus", DEFAULT_BUS)


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    if "inputs" not in spec and inputs(spec):
        yield PolicyDefault(("spec", "inputs"), inputs(spec), TABLET_REASON)
    for index, device in enumerate(spec.get("inputs", [])):
        if device["type"] not in PASSED_THROUGH and "bus" not in device:
            yield PolicyDefault(("spec", "inputs", index, "bus"), DEFAULT_BUS, BUS_REASON)


def lower(spec: Spec, identity: Identity) -> tuple[Input, ...]:
    return tuple(_lower_one(device) for device in inputs(spec))


def _lower_one(device: dict[str, Any]) -> Input:
    kind = device["type"]
    source = None
    if kind == "passthrough":
        source = InputSource(evdev=device.get("source"))
    elif kind == "evdev":
        source = InputSource(
            dev=device.get("source"),
            grab=device.get("grab"),
            grab_toggle=device.get("grabToggle"),
            repeat=device.get("repeat"),
        )
    return Input(
        type=kind,
        bus=bus(device),
        model=device.get("model"),
        driver=virtio_options.lower(device.get("driver")),
        source=source,
    )


def lift(devices: tuple[Input, ...], spec: Spec, identity: Identity) -> Any:
    lifted = [_lift_one(device) for device in devices if not _implicit(device)]
    if [_lower_one(item) for item in lifted] == [
        _lower_one(item) for item in inputs({"graphics": spec.get("graphics")})
    ]:
        return None
    return lifted


def _lift_one(device: Input) -> dict[str, Any]:
    lifted: dict[str, Any] = {"type": device.type}
    if device.type not in PASSED_THROUGH and device.bus and device.bus != DEFAULT_BUS:
        lifted["bus"] = device.bus
    if device.model:
        lifted["model"] = device.model
    driver = virtio_options.lift(device.driver)
    if driver:
        lifted["driver"] = driver
    source = device.source
    if source is not None:
        path = source.evdev if device.type == "passthrough" else source.dev
        if path:
            lifted["source"] = path
        for key, value in (
            ("grab", source.grab),
            ("grabToggle", source.grab_toggle),
            ("repeat", source.repeat),
        ):
            if value is not None:
                lifted[key] = value
    return lifted


def _implicit(device: Input) -> bool:
    """A PS/2 mouse or keyboard: every x86 machine has them, and libvirt writes them."""
    return device.bus == "ps2" and device.type in ("mouse", "keyboard") and device.source is None


def as_libvirt_stores_it(live: tuple[Input, ...], wanted: tuple[Input, ...]):
    # x86 guests always get a PS/2 mouse and keyboard from libvirt.
    return tuple(item for item in live if not (_implicit(item) and item not in wanted))


def _devices(spec: Spec) -> Iterator[Finding]:
    for index, device in enumerate(spec.get("inputs", [])):
        where = ("spec", "inputs", index)
        kind = device["type"]
        if kind in PASSED_THROUGH and "source" not in device:
            yield Finding(where, f"a {kind} input needs the host's device: add source")
        if kind not in PASSED_THROUGH and "source" in device:
            yield Finding((*where, "source"), "source is the host device of passthrough and evdev")
        if kind in PASSED_THROUGH and "bus" in device:
            bus = "virtio" if kind == "passthrough" else "none"
            yield Finding((*where, "bus"), f"a {kind} input is on {bus}: remove bus")
        for key in ("grab", "grabToggle", "repeat"):
            if key in device and kind != "evdev":
                yield Finding((*where, key), f"{key} is for evdev inputs")
        if "model" in device and kind != "passthrough":
            # libvirt: "virtio (non-)transitional models are not supported for input type=mouse".
            yield Finding((*where, "model"), "model is for passthrough inputs")
        if "driver" in device and kind != "passthrough" and device.get("bus") != "virtio":
            yield Finding((*where, "driver"), "driver is for virtio inputs")
        if kind == "tablet" and device.get("bus") == "ps2":
            yield Finding((*where, "bus"), "PS/2 has no tablet: usb or virtio")


def _host_devices(devices: tuple[Input, ...]) -> list[tuple[str, str]]:
    return [
        (f"{device.type} input", device.source.evdev or device.source.dev)
        for device in devices
        if device.source is not None and (device.source.evdev or device.source.dev)
    ]


FAMILY = Family(
    spec_field="inputs",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="inputs",
    lower=lower,
    lift=lift,
    checks=(_devices,),
    policy_defaults=policy_defaults,
    libvirt_fills_in=as_libvirt_stores_it,
    host_paths=_host_devices,
)
