"""``<graphics>``, ``<video>``, ``<input>``, ``<sound>`` and ``<redirdev>``: what a person
at the console sees, hears and uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, children


@dataclass(**CONFIG)
class GraphicsListen:
    TAG: ClassVar[str] = "listen"
    type: str | None = attr("type")
    address: str | None = attr("address")


@dataclass(**CONFIG)
class GraphicsImage:
    """SPICE's image compression (``off`` for a host and client on one LAN)."""

    TAG: ClassVar[str] = "image"
    compression: str | None = attr("compression")


@dataclass(**CONFIG)
class GraphicsStreaming:
    """SPICE's video stream detection."""

    TAG: ClassVar[str] = "streaming"
    mode: str | None = attr("mode")


@dataclass(**CONFIG)
class Graphics:
    TAG: ClassVar[str] = "graphics"
    type: str | None = attr("type")
    port: int | None = attr("port")
    tls_port: int | None = attr("tlsPort")  # virt-install's -1, which libvirt drops
    autoport: bool | None = attr("autoport")
    listen: str | None = attr("listen")
    listens: tuple[GraphicsListen, ...] = children()
    image: GraphicsImage | None = child()
    streaming: GraphicsStreaming | None = child()


@dataclass(**CONFIG)
class Sound:
    """``<sound>``: an emulated sound card (its sound goes through ``<audio>``)."""

    TAG: ClassVar[str] = "sound"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")


@dataclass(**CONFIG)
class Redirdev:
    """``<redirdev>``: a USB device of the SPICE client's, passed to the guest."""

    TAG: ClassVar[str] = "redirdev"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@bus", "@type")
    bus: str | None = attr("bus")
    type: str | None = attr("type")


@dataclass(**CONFIG)
class VideoModel:
    TAG: ClassVar[str] = "model"
    type: str | None = attr("type")
    heads: int | None = attr("heads")
    primary: bool | None = attr("primary")


@dataclass(**CONFIG)
class Video:
    TAG: ClassVar[str] = "video"
    IDENTITY: ClassVar[tuple[str, ...]] = ("model/@type",)
    model: VideoModel | None = child()


@dataclass(**CONFIG)
class Input:
    TAG: ClassVar[str] = "input"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@type", "@bus")
    type: str | None = attr("type")
    bus: str | None = attr("bus")
