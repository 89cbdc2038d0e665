"""Lowering of the devices no family module says yet into ``<devices>``, with the families' own (and the cloud-init seed cdrom after the disks)."""

from __future__ import annotations

from typing import Any

from vmspec.config.chardev import CharDevice, CharSource, CharTarget
from vmspec.config.domain import Devices
from vmspec.config.graphics import (
    Graphics,
    GraphicsImage,
    GraphicsListen,
    GraphicsStreaming,
    Input,
    Video,
    VideoModel,
)
from vmspec.families import Place, lowered_fields
from vmspec.families.disk.config import Disk, DiskDriver, DiskSource, DiskTarget
from vmspec.families.family import Identity
from vmspec.lower import policy

GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"
SPICE_AGENT_CHANNEL = "com.redhat.spice.0"


def lower_devices(spec: dict[str, Any], identity: Identity) -> Devices:
    serials = tuple(_serial(serial, port) for port, serial in enumerate(spec.get("serials", [])))
    video_model = policy.video_model(spec)
    families = lowered_fields(Place.DEVICES, spec, identity)
    if "cloudInit" in spec:
        families["disks"] += (_seed_disk(spec, identity.name),)
    return Devices(
        serials=serials,
        # libvirt mirrors the first serial port as the console; writing it keeps the XML stable.
        consoles=(_console(serials[0]),) if serials else (),
        channels=(
            *((_guest_agent_channel(),) if spec.get("guestAgent") else ()),
            *((_spice_agent_channel(),) if spec.get("spiceAgent") else ()),
        ),
        inputs=(Input(type="tablet", bus="usb"),) if policy.wants_tablet(spec) else (),
        graphics=tuple(_graphics(graphics) for graphics in spec.get("graphics", [])),
        videos=(_video(video_model),) if video_model else (),
        **families,
    )


def _seed_disk(spec: dict[str, Any], name: str) -> Disk:
    """The cloud-init NoCloud seed, attached read-only as a cdrom from its pool."""
    return Disk(
        type="volume",
        device="cdrom",
        driver=DiskDriver(name="qemu", type="raw"),
        source=DiskSource(pool=policy.seed_pool(spec), volume=policy.seed_volume_name(name)),
        target=DiskTarget(dev=policy.seed_target(spec), bus="sata"),
        readonly=True,
    )


def _graphics(graphics: dict[str, Any]) -> Graphics:
    listen = graphics.get("listen")
    port = graphics.get("port")
    image, streaming = graphics.get("image"), graphics.get("streaming")
    return Graphics(
        type=graphics["type"],
        port=port if port is not None else -1,
        autoport=port is None,
        listen=listen,
        listens=(GraphicsListen(type="address", address=listen),) if listen else (),
        image=GraphicsImage(compression=image["compression"]) if image else None,
        streaming=GraphicsStreaming(mode=streaming["mode"]) if streaming else None,
    )


def _video(model: str) -> Video:
    if model == "none":
        return Video(model=VideoModel(type="none"))
    return Video(model=VideoModel(type=model, heads=1, primary=True))


def _serial(serial: dict[str, Any], port: int) -> CharDevice:
    kind = serial["type"]
    source = None
    if kind == "file":
        source = CharSource(path=serial["path"])
    elif kind == "unix":
        source = CharSource(mode="bind", path=serial["path"])
    return CharDevice(type=kind, source=source, target=CharTarget(port=port))


def _console(first_serial: CharDevice) -> CharDevice:
    return CharDevice(
        type=first_serial.type,
        source=first_serial.source,
        target=CharTarget(type="serial", port=0),
    )


def _spice_agent_channel() -> CharDevice:
    # The SPICE agent's channel: the client's clipboard and screen size reach the guest.
    return CharDevice(type="spicevmc", target=CharTarget(type="virtio", name=SPICE_AGENT_CHANNEL))


def _guest_agent_channel() -> CharDevice:
    # libvirt picks the socket path under its own run directory.
    return CharDevice(type="unix", target=CharTarget(type="virtio", name=GUEST_AGENT_CHANNEL))
