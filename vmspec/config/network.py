"""``<network>``: a libvirt virtual network (formatnetwork): NAT, routed, bridged or isolated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, ON_OFF, attr, child, children, text_child


@dataclass(**CONFIG)
class Forward:
    TAG: ClassVar[str] = "forward"
    mode: str | None = attr("mode")


@dataclass(**CONFIG)
class Bridge:
    TAG: ClassVar[str] = "bridge"
    name: str | None = attr("name")
    stp: bool | None = attr("stp", codec=ON_OFF)
    delay: int | None = attr("delay")


@dataclass(**CONFIG)
class NetworkMac:
    TAG: ClassVar[str] = "mac"
    address: str | None = attr("address")


@dataclass(**CONFIG)
class DhcpRange:
    TAG: ClassVar[str] = "range"
    start: str | None = attr("start")
    end: str | None = attr("end")


@dataclass(**CONFIG)
class Dhcp:
    TAG: ClassVar[str] = "dhcp"
    ranges: tuple[DhcpRange, ...] = children()


@dataclass(**CONFIG)
class NetworkIp:
    TAG: ClassVar[str] = "ip"
    address: str | None = attr("address")
    prefix: int | None = attr("prefix")
    dhcp: Dhcp | None = child()


@dataclass(**CONFIG)
class Network:
    TAG: ClassVar[str] = "network"
    name: str | None = text_child("name")
    uuid: str | None = text_child("uuid")
    forward: Forward | None = child()
    bridge: Bridge | None = child()
    mac: NetworkMac | None = child()
    ips: tuple[NetworkIp, ...] = children()
