"""The domains a host has now, read once per plan: their inactive XML (and a running
one's live XML), parsed with the same mapping the compiler emits with when something
asks (vmspec/compare/model.py's LiveDomain)."""

from __future__ import annotations

from collections.abc import Callable

import libvirt

from vmspec.compare.model import LiveDomain
from vmspec.host.connection import Host
from vmspec.host.errors import HostError


def read_live_domains(
    host: Host, known_scope: Callable[[str], str | None] = lambda _xml: None
) -> dict[str, LiveDomain]:
    """Every persistent domain on the host, by name (transient ones are not vmspec's).
    ``known_scope``: the scope of a definition the plan cache has seen (by its XML).

    Which are running and which autostart come from two more listings, not from a call
    per domain: a plan reads each domain's definition (and a running one's live XML)
    and nothing else, so it stays close to the bare cost of reading the host.
    """
    persistent = libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT
    domains = host.call("listing domains", None, lambda c: c.listAllDomains(persistent))
    active = _uuids(host, persistent | libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
    autostart = _uuids(host, persistent | libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
    found = {}
    for domain in domains:
        uuid = domain.UUIDString()
        try:
            live = _read(
                host,
                domain,
                active=uuid in active,
                autostart=uuid in autostart,
                known_scope=known_scope,
            )
        except HostError as error:
            if error.code == libvirt.VIR_ERR_NO_DOMAIN:
                continue  # undefined while we read (another tool, another apply): not ours to plan
            raise
        found[live.name] = live
    return found


def _uuids(host: Host, flags: int) -> set[str]:
    return {
        domain.UUIDString()
        for domain in host.call("listing domains", None, lambda c: c.listAllDomains(flags))
    }


def read_live_domain(host: Host, name: str) -> LiveDomain | None:
    def lookup(connection: libvirt.virConnect) -> libvirt.virDomain | None:
        try:
            return connection.lookupByName(name)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    domain = host.call("looking up the domain", name, lookup)
    if domain is None:
        return None
    active = bool(host.call("reading the state", name, lambda _c: domain.isActive()))
    autostart = bool(host.call("reading autostart", name, lambda _c: domain.autostart()))
    return _read(host, domain, active=active, autostart=autostart)


def _read(
    host: Host,
    domain: libvirt.virDomain,
    *,
    active: bool,
    autostart: bool,
    known_scope: Callable[[str], str | None] = lambda _xml: None,
) -> LiveDomain:
    name, uuid = domain.name(), domain.UUIDString()
    listed_on = host.connection

    def on_current_connection(action):
        # After a reconnect the listed object is dead: look the domain up again there.
        def call(connection: libvirt.virConnect):
            handle = domain if connection is listed_on else connection.lookupByUUIDString(uuid)
            return action(handle)

        return call

    inactive = libvirt.VIR_DOMAIN_XML_INACTIVE
    xml = host.call(
        "reading the definition", name, on_current_connection(lambda d: d.XMLDesc(inactive))
    )
    running_xml = None
    if active:
        running_xml = host.call(
            "reading the running definition", name, on_current_connection(lambda d: d.XMLDesc(0))
        )
    return LiveDomain(
        name=name,
        uuid=uuid,
        xml=xml,
        active=active,
        autostart=autostart,
        running_xml=running_xml,
        known_scope=known_scope(xml),
    )
