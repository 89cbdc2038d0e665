"""Rules across fields that JSON Schema cannot state clearly; each says what to change.

They run only on data the schema accepted, so types and enums can be trusted.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from vmspec.addresses import host_name_findings
from vmspec.arches import X86_ARCHES, machine_arches, spec_arch
from vmspec.config.metadata import LIBOSINFO_NAMESPACE
from vmspec.config.metadata import NAMESPACE as VMSPEC_NAMESPACE
from vmspec.cpulist import host_list_problems
from vmspec.families import FAMILIES, sysinfo
from vmspec.fleet.inventory import INVENTORY, inventory_checks
from vmspec.lower.identity import domain_uuid
from vmspec.problems import FieldPath, Finding
from vmspec.units import format_kib, size_in_kib

Check = Callable[[dict[str, Any]], Iterator[Finding]]

# XML 1.0 forbids these characters outright; lxml would refuse them with a traceback.
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def semantic_findings(document: dict[str, Any]) -> list[Finding]:
    findings = [] if _plain_scalars(document) else list(_scalars(document, ()))
    if findings:
        return findings  # the rules below trust that numbers are whole and text is XML-safe
    spec = document["spec"]
    for check in _checks_of_kind()[document["kind"]]:
        findings.extend(check(spec))
    if document["kind"] == "VirtualMachine":
        findings.extend(_foreign_metadata(document["metadata"]))
        metadata = document["metadata"]
        uuid = metadata.get("uuid", "").lower() or domain_uuid(metadata["name"])
        findings.extend(sysinfo.system_uuid_findings(document, uuid))
    return findings


@functools.cache
def _checks_of_kind() -> dict[str, tuple[Check, ...]]:
    return {
        "VirtualMachine": (*_CHECKS, *(check for family in FAMILIES for check in family.checks)),
        "StoragePool": (_pool,),
        "Network": (_network,),
        INVENTORY: (inventory_checks,),
    }


# The user's own cloud-init data, passed to the guest as YAML and never into the XML:
# whatever cloud-init or netplan take (a fraction, say) is theirs to write. metaData is
# not here: the schema holds it to a mapping of strings.
_FREE_FORM = (("spec", "cloudInit", "userData"), ("spec", "cloudInit", "networkConfig"))


def _plain_scalars(value: Any) -> bool:
    """Whether ``_scalars`` would find nothing, asked at a fraction of its cost (no paths,
    no generators): nearly every document is clean. False may still mean nothing is
    wrong, in the free-form data: ``_scalars`` then decides."""
    kind = type(value)
    if kind is str:
        return _NOT_XML_TEXT.search(value) is None
    if kind is dict:
        items = value.values()
    elif kind is list:
        items = value
    else:
        return kind is int or kind is bool or value is None
    # A loop, not all(): a generator for each mapping and list is what this avoids.
    for item in items:  # noqa: SIM110
        if not _plain_scalars(item):
            return False
    return True


def _scalars(value: Any, path: FieldPath) -> Iterator[Finding]:
    """Every value of the document but the free-form data: text XML can carry, and no
    fractions (JSON Schema's "integer" accepts 2.0, which would reach the XML as "2.0";
    no field of vmspec's own takes a fraction)."""
    if path in _FREE_FORM:
        return
    if isinstance(value, str):
        match = _NOT_XML_TEXT.search(value)
        if match:
            code = f"U+{ord(match.group()):04X}"
            yield Finding(path, f"holds the control character {code}, which XML cannot carry")
    elif isinstance(value, float):
        yield Finding(path, f"expected a whole number, found {value}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _scalars(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _scalars(item, (*path, index))


# The least memory in which a guest's firmware reaches the point where it boots from
# disk (seen with QEMU 7.2, TCG): SeaBIOS does with 1 MiB and hangs with 512 KiB; OVMF
# (Debian 12's, 2022.11) reaches its boot manager with 40 MiB, and with 32 MiB or less it
# stops at an exception or resets. libvirt 9.0 and QEMU take any of these sizes without a
# word, so a smaller value is a missing unit digit or a guest that never boots.
MIN_MEMORY_KIB = 1024
MIN_EFI_MEMORY_KIB = 40 * 1024
# More than any x86 host has (QEMU's own limit is higher): a larger value is a unit mistake.
MAX_MEMORY_KIB = 16 * 1024**3


def _memory(spec: dict[str, Any]) -> Iterator[Finding]:
    try:
        kib = size_in_kib(spec["memory"])
    except ValueError as error:
        yield Finding(("spec", "memory"), str(error))
        return
    efi = spec.get("firmware") == "efi" and spec_arch(spec) in X86_ARCHES
    if kib < MIN_MEMORY_KIB:
        message = f"{spec['memory']} is too little memory for any guest; at least {format_kib(MIN_MEMORY_KIB)}"
        yield Finding(("spec", "memory"), message)
    elif efi and kib < MIN_EFI_MEMORY_KIB:
        message = (
            f"{spec['memory']} is too little memory for UEFI firmware, which stops before it "
            f"boots anything; at least {format_kib(MIN_EFI_MEMORY_KIB)}"
        )
        yield Finding(("spec", "memory"), message)
    if kib > MAX_MEMORY_KIB:
        message = f"{spec['memory']} is more memory than any host has; at most {format_kib(MAX_MEMORY_KIB)}"
        yield Finding(("spec", "memory"), message)


def _machine(spec: dict[str, Any]) -> Iterator[Finding]:
    # libvirt refuses a machine type the arch's QEMU lacks only at define (or, on the test
    # driver, never): pseries on x86_64 would pass compile and fail on the host.
    machine, arch = spec.get("machine"), spec_arch(spec)
    arches = machine_arches(machine) if machine else None
    if arches is not None and arch not in arches:
        yield Finding(
            ("spec", "machine"),
            f"machine type {machine} is {' and '.join(arches)}'s, not {arch}'s: "
            "leave machine out for the arch's default, or set arch",
        )


def _spice_agent(spec: dict[str, Any]) -> Iterator[Finding]:
    # The agent's channel travels over a SPICE connection.
    spice = any(graphics["type"] == "spice" for graphics in spec.get("graphics", []))
    if spec.get("spiceAgent") and not spice:
        yield Finding(("spec", "spiceAgent"), "the SPICE agent needs a spice display in graphics")


def _cpuset(spec: dict[str, Any]) -> Iterator[Finding]:
    current = spec.get("currentVcpus")
    if current is not None and current > spec["vcpus"]:
        # libvirt at define: "maxvcpus must not be less than current vcpus".
        message = f"{current} is more than vcpus ({spec['vcpus']}): at most vcpus"
        yield Finding(("spec", "currentVcpus"), message)
    if spec.get("cpuset", "auto") == "auto":
        return
    for problem in host_list_problems(spec["cpuset"], "host CPUs", "host CPU to run on"):
        yield Finding(("spec", "cpuset"), problem)


def _cloud_init(spec: dict[str, Any]) -> Iterator[Finding]:
    if "cloudInit" not in spec:
        return
    has_volume_disk = any("volume" in disk for disk in spec.get("disks", []))
    if "pool" not in spec["cloudInit"] and not has_volume_disk:
        message = "the seed ISO needs a pool: set cloudInit.pool, or give the VM a volume disk"
        yield Finding(("spec", "cloudInit"), message)
    if len(spec.get("disks", [])) >= 26:
        yield Finding(("spec", "cloudInit"), "no free sdX target is left for the seed cdrom")


def _pool(spec: dict[str, Any]) -> Iterator[Finding]:
    kind = spec["type"]
    source = spec.get("source", {})
    if kind in ("dir", "netfs") and "path" not in spec:
        yield Finding(
            ("spec",), f"a {kind} pool needs a path (its directory, or where NFS is mounted)"
        )
    if kind == "logical" and "name" not in source:
        yield Finding(("spec", "source"), "a logical pool needs source.name: the LVM volume group")
    if kind == "netfs":
        for field in ("host", "dir"):
            if field not in source:
                yield Finding(("spec", "source"), f"a netfs pool needs source.{field}")
    if kind == "dir" and source:
        yield Finding(("spec", "source"), "a dir pool has no source: its path is all it needs")
    if "host" in source:
        yield from host_name_findings(source["host"], ("spec", "source", "host"))


def _network(spec: dict[str, Any]) -> Iterator[Finding]:
    mode = spec.get("forward", "nat")
    ip = spec.get("ip")
    if mode == "bridge":
        if "bridge" not in spec:
            yield Finding(
                ("spec",), "forward: bridge needs bridge: the existing host bridge to use"
            )
        if ip:
            yield Finding(
                ("spec", "ip"), "forward: bridge uses the host bridge's network; it takes no ip"
            )
        return
    if mode in ("nat", "route") and not ip:
        yield Finding(("spec",), f"forward: {mode} needs an ip (the host's address on the network)")
    if not ip:
        return
    interface = ipaddress.ip_interface(f"{ip['address']}/{ip['prefix']}")
    network = interface.network
    if interface.ip in (network.network_address, network.broadcast_address):
        yield Finding(
            ("spec", "ip", "address"),
            f"{interface.ip} is the network's own or broadcast address, not a host's",
        )
    dhcp = ip.get("dhcp")
    if dhcp:
        start, end = ipaddress.ip_address(dhcp["start"]), ipaddress.ip_address(dhcp["end"])
        for field, address in (("start", start), ("end", end)):
            if address not in network:
                yield Finding(("spec", "ip", "dhcp", field), f"{address} is outside {network}")
        if start > end:
            yield Finding(
                ("spec", "ip", "dhcp"), f"the range starts at {start}, after its end {end}"
            )
        elif start <= interface.ip <= end:
            yield Finding(
                ("spec", "ip", "dhcp"), f"the range hands out the host's own address {interface.ip}"
            )


# Neither DTDs nor entities: the text becomes part of the domain as it is, never fetched.
_FOREIGN_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
# Namespaces with a field of their own: an element in one of them would be read back there.
_OWN_NAMESPACES = {
    VMSPEC_NAMESPACE: "vmspec's own (its ownership marker)",
    LIBOSINFO_NAMESPACE: "libosinfo's: say spec.osinfo instead",
}


def _foreign_metadata(metadata: dict[str, Any]) -> Iterator[Finding]:
    """What libvirt would refuse or silently drop (formatdomain "Meta-data"): elements
    without a namespace, and all but the first of one namespace."""
    namespaces: dict[str, int] = {}
    for index, text in enumerate(metadata.get("foreign", [])):
        where = ("metadata", "foreign", index)
        try:
            element = etree.fromstring(text, _FOREIGN_PARSER)
        except etree.XMLSyntaxError as error:
            yield Finding(where, f"is not one well-formed XML element: {error.msg}")
            continue
        if element.getroottree().docinfo.doctype:
            yield Finding(where, "holds a DOCTYPE; give the element alone")
            continue
        namespace = etree.QName(element).namespace
        if namespace is None:
            yield Finding(where, "has no XML namespace; libvirt keeps only namespaced elements")
        elif namespace in _OWN_NAMESPACES:
            yield Finding(where, f"is in the namespace {namespace}, {_OWN_NAMESPACES[namespace]}")
        elif namespace in namespaces:
            first = namespaces[namespace]
            yield Finding(
                where,
                f"is in the namespace {namespace} of metadata.foreign[{first}]; "
                "libvirt keeps one element per namespace",
            )
        else:
            namespaces[namespace] = index


_CHECKS: tuple[Check, ...] = (
    _memory,
    _machine,
    _cpuset,
    _spice_agent,
    _cloud_init,
)
