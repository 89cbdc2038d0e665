"""Pools and networks: planned and applied like domains, with their uuid as vmspec's
ownership marker (libvirt 9.0 keeps no <metadata> for them; vmspec derives their uuid
from the name, so a pool or network made by hand is never mistaken for vmspec's).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import libvirt
from lxml import etree

from vmspec.compare.diff import changes_between
from vmspec.compare.model import Action, Change, ChangeClass, Kind, ResourcePlan
from vmspec.config.network import Network
from vmspec.config.pool import StoragePool
from vmspec.config.xmlmap import XmlMappingError, from_element
from vmspec.emit import resource_xml
from vmspec.host.connection import Host
from vmspec.host.errors import HostError
from vmspec.lower.identity import network_uuid, pool_uuid

# What libvirt adds to the definitions it stores, per kind (domains: compare/normalize.py).
_ALLOCATED = {
    Kind.POOL: re.compile(
        r"^/pool/(?:capacity|allocation|available|target/permissions(?:/.*)?|source/adapter)$"
    ),
    Kind.NETWORK: re.compile(r"^/network/(?:forward/nat(?:/.*)?|@connections|bridge/@zone)$"),
}


@dataclass(frozen=True, slots=True)
class LiveResource:
    kind: Kind
    name: str
    uuid: str
    xml: str
    config: Any  # StoragePool | Network | None when unreadable
    uncovered: tuple[str, ...]
    active: bool
    autostart: bool


@dataclass(frozen=True, slots=True)
class WantedResource:
    kind: Kind
    name: str
    config: Any  # StoragePool | Network
    autostart: bool | None


def read_pools(host: Host) -> dict[str, LiveResource]:
    flags = libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT
    pools = host.call("listing storage pools", None, lambda c: c.listAllStoragePools(flags))
    read = (
        _read_or_none(
            host,
            Kind.POOL,
            pool,
            StoragePool,
            libvirt.VIR_STORAGE_XML_INACTIVE,
            "storagePoolLookupByUUIDString",
            libvirt.VIR_ERR_NO_STORAGE_POOL,
        )
        for pool in pools
    )
    return {live.name: live for live in read if live is not None}


def read_networks(host: Host) -> dict[str, LiveResource]:
    flags = libvirt.VIR_CONNECT_LIST_NETWORKS_PERSISTENT
    networks = host.call("listing networks", None, lambda c: c.listAllNetworks(flags))
    read = (
        _read_or_none(
            host,
            Kind.NETWORK,
            network,
            Network,
            libvirt.VIR_NETWORK_XML_INACTIVE,
            "networkLookupByUUIDString",
            libvirt.VIR_ERR_NO_NETWORK,
        )
        for network in networks
    )
    return {live.name: live for live in read if live is not None}


def _read_or_none(
    host: Host, kind: Kind, handle: Any, cls: type, inactive_flag: int, lookup: str, gone: int
) -> LiveResource | None:
    try:
        return _read(host, kind, handle, cls, inactive_flag, lookup)
    except HostError as error:
        if error.code == gone:
            return None  # undefined while we read: not ours to plan
        raise


def _read(
    host: Host, kind: Kind, handle: Any, cls: type, inactive_flag: int, lookup: str
) -> LiveResource:
    name, uuid = handle.name(), handle.UUIDString()

    def again(action: Callable[[Any], Any]) -> Callable[[libvirt.virConnect], Any]:
        return lambda connection: action(getattr(connection, lookup)(uuid))

    xml = host.call(f"reading the {kind}", name, again(lambda h: _inactive_xml(h, inactive_flag)))
    uncovered: list[str] = []
    try:
        config = from_element(cls, etree.fromstring(xml.encode()), uncovered)
    except XmlMappingError as error:
        config, uncovered = None, [error.xpath]
    return LiveResource(
        kind=kind,
        name=name,
        uuid=uuid,
        xml=xml,
        config=config,
        uncovered=tuple(uncovered),
        active=bool(host.call(f"reading the {kind}'s state", name, again(lambda h: h.isActive()))),
        autostart=bool(
            host.call(f"reading the {kind}'s autostart", name, again(lambda h: h.autostart()))
        ),
    )


def _inactive_xml(handle: Any, inactive_flag: int) -> str:
    """The persistent definition; drivers that keep only one (test) refuse the flag."""
    try:
        return handle.XMLDesc(inactive_flag)
    except libvirt.libvirtError as error:
        if error.get_error_code() not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
            raise
        return handle.XMLDesc(0)


def plan_resources(
    wanted: list[WantedResource],
    live: dict[str, LiveResource],
    options: Any,
    known_scopes: set[str],
) -> list[ResourcePlan]:
    """Plans for the pools (or networks) the specs want, then deletions with --prune
    (of this scope's only). ``known_scopes``: the scopes seen on the host, to name the
    owner of a resource that is not this scope's."""
    plans = [
        _plan_one(item, live.get(item.name), options.scope.name, known_scopes) for item in wanted
    ]
    wanted_names = {item.name for item in wanted}
    if options.prune:
        plans += [
            plan_resource_delete(existing)
            for name, existing in sorted(live.items())
            if name not in wanted_names and owned_by(existing, options.scope.name)
        ]
    return plans


def plan_resource_delete(existing: LiveResource) -> ResourcePlan:
    return ResourcePlan(
        existing.name, Action.DELETE, kind=existing.kind, reason="nothing it holds is touched"
    )


def owned_by(existing: LiveResource, scope: str) -> bool:
    """Whether ``scope`` made it: its uuid is the one vmspec derives for the scope and name."""
    return (
        existing.config is not None
        and existing.uuid.lower() == (existing.config.uuid or "").lower()
        and existing.uuid.lower() == _derived_uuid(existing.kind, existing.name, scope)
    )


def _derived_uuid(kind: Kind, name: str, scope: str) -> str:
    return (pool_uuid if kind == Kind.POOL else network_uuid)(name, scope)


def _plan_one(
    item: WantedResource, existing: LiveResource | None, scope: str, known_scopes: set[str]
) -> ResourcePlan:
    plan = ResourcePlan(item.name, Action.NONE, kind=item.kind, xml=resource_xml(item.config))
    if existing is None:
        plan.action = Action.CREATE
        plan.state = ("stopped", "running")
        plan.autostart = (False, True) if item.autostart else None
        return plan
    if existing.uuid.lower() != item.config.uuid:
        owner = next((other for other in sorted(known_scopes) if owned_by(existing, other)), None)
        plan.action = Action.REFUSE
        plan.reason = (
            f"it belongs to the scope {owner!r}, not to {scope!r}; a {item.kind} cannot change "
            "owner in place (its uuid is vmspec's marker): delete it from that scope first"
            if owner
            else f"a {item.kind} named {item.name!r} exists but this scope ({scope!r}) did not "
            "create it (its uuid is not the one vmspec derives)"
        )
        return plan
    if existing.config is None:
        plan.action = Action.REFUSE
        plan.reason = f"its definition cannot be read: {existing.uncovered[0]}"
        return plan
    live_config = _normalize(item.config, existing.config)
    plan.changes = changes_between(live_config, item.config)
    plan.changes += [
        Change(xpath, "present", None, ChangeClass.RESTART)
        for xpath in existing.uncovered
        if not _ALLOCATED[item.kind].match(re.sub(r"\[\d+\]", "", xpath))
    ]
    if plan.changes:
        plan.action = Action.UPDATE
    if not existing.active:
        plan.state = ("stopped", "running")
    if item.autostart is not None and item.autostart != existing.autostart:
        plan.autostart = (existing.autostart, item.autostart)
    return plan


def _normalize(wanted: Any, live: Any) -> Any:
    if (
        isinstance(live, StoragePool)
        and wanted.source is None
        and live.source is not None
        and live.source == type(live.source)()
    ):
        # A dir pool has no source; libvirt writes an empty <source/>.
        return dataclasses.replace(live, source=None)
    return live


def overlapping_networks(
    wanted: list[WantedResource], live: dict[str, LiveResource]
) -> list[tuple[str, str]]:
    """Pairs (wanted network, other network) whose subnets overlap: the host could not route both."""
    subnets: dict[str, list[ipaddress.IPv4Network]] = {}
    for name, existing in live.items():
        if existing.config is not None:
            subnets[name] = _subnets(existing.config)
    clashes = []
    for item in wanted:
        mine = _subnets(item.config)
        for other, theirs in subnets.items():
            if other != item.name and any(a.overlaps(b) for a in mine for b in theirs):
                clashes.append((item.name, other))
        subnets[item.name] = mine
    return clashes


def _subnets(network: Network) -> list[ipaddress.IPv4Network]:
    return [
        ipaddress.ip_interface(f"{ip.address}/{ip.prefix}").network
        for ip in network.ips
        if ip.address and ip.prefix
    ]
