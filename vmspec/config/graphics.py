"""``<graphics>``, ``<video>`` and ``<input>``: what a person at the console sees and uses."""

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
