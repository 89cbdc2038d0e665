"""Lowering of Network documents."""

from __future__ import annotations

from typing import Any

from vmspec.config.network import Bridge, Dhcp, DhcpRange, Forward, Network, NetworkIp, NetworkMac
from vmspec.lower.identity import network_bridge, network_mac, network_uuid
from vmspec.scope import DEFAULT_SCOPE


def lower_network(document: dict[str, Any], scope: str = DEFAULT_SCOPE) -> Network:
    name = document["metadata"]["name"]
    spec = document["spec"]
    uuid = network_uuid(name, scope)
    mode = spec.get("forward", "nat")
    if mode == "bridge":
        # An existing host bridge: libvirt only points guests at it.
        return Network(
            name=name, uuid=uuid, forward=Forward(mode="bridge"), bridge=Bridge(name=spec["bridge"])
        )
    ip = spec.get("ip")
    dhcp = ip.get("dhcp") if ip else None
    return Network(
        name=name,
        uuid=uuid,
        # isolated: no <forward> at all, so guests reach each other and the host only.
        forward=Forward(mode=mode) if mode != "isolated" else None,
        # STP on and no forwarding delay: what libvirt writes for the bridges it makes.
        bridge=Bridge(name=spec.get("bridge") or network_bridge(name), stp=True, delay=0),
        mac=NetworkMac(address=network_mac(uuid)),
        ips=(
            NetworkIp(
                address=ip["address"],
                prefix=ip["prefix"],
                dhcp=Dhcp(ranges=(DhcpRange(start=dhcp["start"], end=dhcp["end"]),))
                if dhcp
                else None,
            ),
        )
        if ip
        else (),
    )
