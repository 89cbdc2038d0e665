"""Import from a libvirt host: each named domain's persistent (inactive) definition,
lifted into a spec, with its autostart and power state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from vmspec.fleet.inventory import Reach
from vmspec.host.connection import Host
from vmspec.host.errors import HostError
from vmspec.host.fleet import HostPlan
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


def lift_inventory_domains(
    hosts: list[HostPlan], names: list[str] | None, reach: Reach
) -> list[Lifted]:
    """From every host: ``names`` wherever they are defined (None: every persistent
    domain), each spec placed on the host it came from. A host that does not answer keeps
    its ``error``; a name no host that answered has is a HostError naming it."""

    def lift_one(host_plan: HostPlan) -> list[Lifted]:
        try:
            host_plan.connection = Host(host_plan.host.uri, timeout=reach.connect_timeout)
            live = read_live_domains(host_plan.connection)
        except HostError as error:
            host_plan.error = str(error)
            return []
        finally:
            if host_plan.connection is not None:
                host_plan.connection.close()
        wanted = sorted(live) if names is None else [name for name in names if name in live]
        lifted = [
            lift_xml(live[n].xml, n, autostart=live[n].autostart, running=live[n].active)
            for n in wanted
        ]
        for item in lifted:
            if item.document:
                item.document["spec"]["placement"] = {"host": host_plan.host.name}
        return lifted

    with ThreadPoolExecutor(max_workers=reach.parallel) as pool:
        found = [item for items in pool.map(lift_one, hosts) for item in items]
    unknown = sorted(set(names or ()) - {item.name for item in found})
    if unknown:
        answered = ", ".join(h.host.name for h in hosts if h.error is None)
        raise HostError(
            "importing", f"no domain named {', '.join(map(repr, unknown))} on {answered}"
        )
    return found
