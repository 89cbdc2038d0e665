"""What vmspec needs to know about a host, read once from its capabilities XML."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree


@dataclass(frozen=True, slots=True)
class HostFacts:
    # The host CPU carries the 'hypervisor' flag: this host is itself a VM.
    nested: bool = False
    # Machine type aliases and what libvirt expands them to: {"q35": "pc-q35-7.2"}.
    machine_aliases: dict[str, str] = field(default_factory=dict)


def host_facts(capabilities_xml: str) -> HostFacts:
    root = etree.fromstring(capabilities_xml.encode())
    nested = bool(root.xpath("/capabilities/host/cpu/feature[@name='hypervisor']"))
    aliases = {
        machine.text: machine.get("canonical")
        for machine in root.iterfind("guest/arch/machine[@canonical]")
        if machine.text
    }
    return HostFacts(nested=nested, machine_aliases=aliases)
