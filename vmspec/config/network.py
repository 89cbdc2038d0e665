"""``<network>``: a libvirt virtual network (formatnetwork): NAT, routed, bridged or isolated."""

from __future__ import annotations

from typing import ClassVar

from vmspec.config.xmlmap import ON_OFF, attr, child, children, config_class, text_child


@config_class
class Forward:
    TAG: ClassVar[str] = "forward"
    mode: str | None = attr("mode")


@config_class
class Bridge:
    TAG: ClassVar[str] = "bridge"
    name: str | None = attr("name")
    stp: bool | None = attr("stp", codec=ON_OFF)
    delay: int | None = attr("delay")


@config_class
class NetworkMac:
    TAG: ClassVar[str] = "mac"
    address: str | None = attr("address")


@config_class
class DhcpRange:
    TAG: ClassVar[str] = "range"
    start: str | None = attr("start")
    end: str | None = attr("end")


@config_class
class Dhcp:
    TAG: ClassVar[str] = "dhcp"
    ranges: tuple[DhcpRange, ...] = children()


@config_class
class NetworkIp:
    TAG: ClassVar[str] = "ip"
    address: str | None = attr("address")
    prefix: int | None = attr("prefix")
    dhcp: Dhcp | None = child()


@config_class
class Network:
    TAG: ClassVar[str] = "network"
    name: str | None = text_child("name")
    uuid: str | None = text_child("uuid")
    forward: Forward | None = child()
    bridge: Bridge | None = child()
    mac: NetworkMac | None = child()
    ips: tuple[NetworkIp, ...] = children()
