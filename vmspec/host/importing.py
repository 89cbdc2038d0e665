"""Import from a libvirt host: each named domain's persistent (inactive) definition,
lifted into a spec, with its autostart and power state."""

from __future__ import annotations

from vmspec.host.connection import Host
from vmspec.host.errors import HostError
from vmspec.host.inventory import read_live_domains
from vmspec.lift import Lifted
from vmspec.lift.sources import lift_xml


def lift_host_domains(host: Host, names: list[str] | None) -> list[Lifted]:
    """``names`` None: every persistent domain. An unknown name is a HostError naming it."""
    live = read_live_domains(host)
    wanted = sorted(live) if names is None else names
    unknown = [name for name in wanted if name not in live]
    if unknown:
        raise HostError(
            "importing",
            f"no domain named {', '.join(map(repr, unknown))} on {host.uri or 'the host'}",
        )
    return [
        lift_xml(live[name].xml, name, autostart=live[name].autostart, running=live[name].active)
        for name in wanted
    ]
