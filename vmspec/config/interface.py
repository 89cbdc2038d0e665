"""``<interface>``: bridge, network and direct (macvtap) NICs.

formatdomain: "Network interfaces".
."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child


@dataclass(**CONFIG)
class MacAddress:
    TAG: ClassVar[str] = "mac"
    address: str | None = attr("address")


@dataclass(**CONFIG)
class InterfaceSource:
    TAG: ClassVar[str] = "source"
    bridge: str | None = attr("bridge")
    network: str | None = attr("network")
    dev: str | None = attr("dev")
    mode: str | None = attr("mode")


@dataclass(**CONFIG)
class InterfaceModel:
    TAG: ClassVar[str] = "model"
    type: str | None = attr("type")


@dataclass(**CONFIG)
class Interface:
    TAG: ClassVar[str] = "interface"
    IDENTITY: ClassVar[tuple[str, ...]] = ("mac/@address",)
    HOTPLUG: ClassVar[bool] = True
    type: str | None = attr("type")
    mac: MacAddress | None = child()
    source: InterfaceSource | None = child()
    model: InterfaceModel | None = child()
