"""Rules across fields that JSON Schema cannot state clearly; each says what to change.

They run only on data the schema accepted, so types and enums can be trusted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from vmspec.addresses import is_ip_address_libvirt_takes
from vmspec.arches import X86_ARCHES, machine_arches
from vmspec.config.metadata import LIBOSINFO_NAMESPACE
from vmspec.config.metadata import NAMESPACE as VMSPEC_NAMESPACE
from vmspec.cpulist import host_list_problems
from vmspec.families import FAMILIES, sysinfo
from vmspec.fleet.inventory import INVENTORY, inventory_checks
from vmspec.lower import policy
from vmspec.lower.disk import AUTH_SECRET_TYPES, SECRET_SOURCES
from vmspec.lower.identity import domain_uuid
from vmspec.problems import FieldPath, Finding
from vmspec.units import format_kib, size_in_kib

Check = Callable[[dict[str, Any]], Iterator[Finding]]

_DISK_SOURCES = ("file", "block", "volume", "network")
# Device-name prefixes libvirt and guests associate with each bus (formatdomain "target").
_TARGET_PREFIX = {"virtio": "vd", "sata": "sd", "scsi": "sd", "usb": "sd", "ide": "hd"}
# Buses whose devices report at most 20 bytes of serial (virtio-blk and ATA IDENTIFY):
# a longer serial is cut, and /dev/disk/by-id would not show what the spec says.
_SHORT_SERIAL_BUSES = ("virtio", "sata", "ide")
# XML 1.0 forbids these characters outright; lxml would refuse them with a traceback.
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def semantic_findings(document: dict[str, Any]) -> list[Finding]:
    findings = list(_scalars(document, ()))
    if findings:
        return findings  # the rules below trust that numbers are whole and text is XML-safe
    spec = document["spec"]
    checks = {
        "VirtualMachine": (*_CHECKS, *(check for family in FAMILIES for check in family.checks)),
        "StoragePool": (_pool,),
        "Network": (_network,),
        INVENTORY: (inventory_checks,),
    }
    for check in checks[document["kind"]]:
        findings.extend(check(spec))
    if document["kind"] == "VirtualMachine":
        findings.extend(_foreign_metadata(document["metadata"]))
        metadata = document["metadata"]
        uuid = metadata.get("uuid", "").lower() or domain_uuid(metadata["name"])
        findings.extend(sysinfo.system_uuid_findings(document, uuid))
    return findings


# The user's own cloud-init data, passed to the guest as YAML and never into the XML:
# whatever cloud-init or netplan take (a fraction, say) is theirs to write. metaData is
# not here: the schema holds it to a mapping of strings.
_FREE_FORM = (("spec", "cloudInit", "userData"), ("spec", "cloudInit", "networkConfig"))


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
    efi = spec.get("firmware") == "efi" and spec.get("arch", "x86_64") in X86_ARCHES
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
    machine, arch = spec.get("machine"), spec.get("arch", "x86_64")
    arches = machine_arches(machine) if machine else None
    if arches is not None and arch not in arches:
        yield Finding(
            ("spec", "machine"),
            f"machine type {machine} is {' and '.join(arches)}'s, not {arch}'s: "
            "leave machine out for the arch's default, or set arch",
        )


# Protocols whose source name is POOL/IMAGE (rbd) or VOLUME/PATH (gluster), and the ones
# libvirt's schema gives a single <host>.
_NAME_WITH_POOL = ("rbd", "gluster")
_SINGLE_HOST = ("nbd", "iscsi", "http", "https", "sheepdog")


def _network_disks(spec: dict[str, Any]) -> Iterator[Finding]:
    for index, disk in enumerate(spec.get("disks", [])):
        network = disk.get("network")
        if network is None:
            continue
        where: FieldPath = ("spec", "disks", index, "network")
        protocol = network["protocol"]
        if protocol in _NAME_WITH_POOL and "/" not in network["name"].strip("/"):
            shape = "POOL/IMAGE" if protocol == "rbd" else "VOLUME/PATH"
            yield Finding((*where, "name"), f"a {protocol} name is {shape}, such as vms/web-01")
        if protocol in _SINGLE_HOST and len(network["hosts"]) > 1:
            yield Finding(
                (*where, "hosts"), f"{protocol} takes one host, not {len(network['hosts'])}"
            )
        for host_index, host in enumerate(network["hosts"]):
            yield from _host_name(host["name"], (*where, "hosts", host_index, "name"))


# libvirt's schema (basictypes.rng) takes a host as a dnsName, letters, digits, '.' and
# '-', or else an ipAddr; the JSON Schema's pattern lets anything of hex digits, ':' and
# '.' through, so what is not a DNS name must be an address libvirt's ipv6Addr matches.
_DNS_NAME = re.compile(r"[A-Za-z0-9.-]+")


def _host_name(name: str, where: FieldPath) -> Iterator[Finding]:
    if _DNS_NAME.fullmatch(name) or is_ip_address_libvirt_takes(name):
        return
    yield Finding(where, f"{name!r} is neither a DNS name nor an IP address")


def _disks(spec: dict[str, Any]) -> Iterator[Finding]:
    seen_targets: dict[str, int] = {}
    for index, disk in enumerate(spec.get("disks", [])):
        where: FieldPath = ("spec", "disks", index)
        yield from _disk_source(disk, where)
        yield from _disk_iotune(disk, where)
        yield from _disk_secrets(disk, where)
        target = disk["target"]
        if target in seen_targets:
            message = f"target {target} is already used by disks[{seen_targets[target]}]"
            yield Finding((*where, "target"), message)
        seen_targets.setdefault(target, index)
        bus = disk.get("bus", "virtio")
        device = disk.get("device", "disk")
        prefix = _TARGET_PREFIX[bus]
        if not target.startswith(prefix):
            message = f"target {target} does not fit bus {bus}: its devices are named {prefix}a, {prefix}b, ..."
            yield Finding((*where, "target"), message)
        if device == "cdrom" and bus == "virtio":
            yield Finding(
                (*where, "bus"), "a cdrom cannot sit on the virtio bus: use sata, scsi or ide"
            )
        if disk.get("io") == "native" and disk.get("cache", "none") not in ("none", "directsync"):
            message = "io native needs cache none or directsync (QEMU refuses native AIO through the page cache)"
            yield Finding((*where, "io"), message)
        serial = disk.get("serial")
        if serial is not None and bus in _SHORT_SERIAL_BUSES and len(serial) > 20:
            message = (
                f"a serial on bus {bus} holds at most 20 characters; this one has {len(serial)}"
            )
            yield Finding((*where, "serial"), message)
        if "backingStore" in disk and policy.disk_format(disk) != "qcow2":
            yield Finding(
                (*where, "backingStore"),
                "only a qcow2 image can have a backingStore: set format: qcow2",
            )


# QEMU's throttle limits come in three kinds; each kind is a total, or read and write.
_IOTUNE_KINDS = (
    "BytesSec",
    "IopsSec",
    "BytesSecMax",
    "IopsSecMax",
    "BytesSecMaxLength",
    "IopsSecMaxLength",
)


def _disk_iotune(disk: dict[str, Any], where: FieldPath) -> Iterator[Finding]:
    limits = disk.get("iotune")
    if not limits:
        return
    where = (*where, "iotune")
    for kind in _IOTUNE_KINDS:
        apart = [
            f"{direction}{kind}"
            for direction in ("read", "write")
            if f"{direction}{kind}" in limits
        ]
        if f"total{kind}" in limits and apart:
            # libvirt refuses the definition: "total and read/write ... cannot be set at the same time".
            yield Finding(
                (*where, apart[0]),
                f"total{kind} limits reads and writes together: leave it out, or {apart[0]}",
            )
    for key, value in limits.items():
        if key.endswith("MaxLength") and key.removesuffix("Length") not in limits:
            # QEMU refuses to start: a burst's length needs the burst.
            yield Finding(
                (*where, key), f"{key} is how long {key.removesuffix('Length')} lasts: set that too"
            )
        elif key.endswith("Max") and value:
            base = limits.get(key.removesuffix("Max"), 0)
            if not base:
                # QEMU refuses to start: "bps_max/iops_max require corresponding bps/iops values".
                yield Finding(
                    (*where, key), f"{key} is a burst above {key.removesuffix('Max')}: set that too"
                )
            elif value < base:
                # QEMU refuses to start: "bps_max/iops_max cannot be lower than bps/iops".
                yield Finding(
                    (*where, key),
                    f"{key} ({value}) is a burst above {key.removesuffix('Max')} ({base}), so it cannot be lower",
                )


def _disk_secrets(disk: dict[str, Any], where: FieldPath) -> Iterator[Finding]:
    listed = ", ".join(SECRET_SOURCES[:-1]) + f" or {SECRET_SOURCES[-1]}"
    for purpose in ("auth", "encryption"):
        section = disk.get(purpose)
        if section is None:
            continue
        sources = [key for key in SECRET_SOURCES if key in section]
        if not sources:
            yield Finding((*where, purpose), f"{purpose} needs its secret: one of {listed}")
        elif len(sources) > 1:
            message = f"{purpose} takes one secret source, but sets {sources[0]} and {sources[1]}"
            yield Finding((*where, purpose, sources[1]), message)
    protocol = disk.get("network", {}).get("protocol")
    if "auth" in disk and protocol not in AUTH_SECRET_TYPES:
        what = f"a {protocol} disk" if protocol else "a disk that is not on the network"
        protocols = " and ".join(AUTH_SECRET_TYPES)
        yield Finding(
            (*where, "auth"), f"auth is for {protocols} disks; libvirt takes none on {what}"
        )


def _disk_source(disk: dict[str, Any], where: FieldPath) -> Iterator[Finding]:
    sources = [name for name in _DISK_SOURCES if name in disk]
    if len(sources) > 1:
        yield Finding(
            (*where, sources[1]),
            f"a disk has exactly one source, but sets both {sources[0]} and {sources[1]}",
        )
    elif not sources and disk.get("device", "disk") != "cdrom":
        # An empty cdrom tray is fine; a disk without a source is not.
        yield Finding(where, "a disk needs a source: one of file, block, volume or network")


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


# libvirt keeps volume sizes in bytes as an unsigned 64-bit number; 1 MiB is the least
# any image format can hold a guest's boot sector and partition table in.
MAX_VOLUME_KIB = 2**64 // 1024 - 1
MIN_VOLUME_KIB = 1024


def _volume_creation(spec: dict[str, Any]) -> Iterator[Finding]:
    for index, disk in enumerate(spec.get("disks", [])):
        volume = disk.get("volume", {})
        if volume.get("name") in (".", ".."):  # libvirt's volName excludes both
            yield Finding(
                ("spec", "disks", index, "volume", "name"),
                f"{volume['name']!r} is not a volume name",
            )
        create = volume.get("create")
        if create is None:
            continue
        where: FieldPath = ("spec", "disks", index, "volume", "create")
        if create.get("backingStore") in (".", ".."):
            yield Finding(
                (*where, "backingStore"), f"{create['backingStore']!r} is not a volume name"
            )
        try:
            kib = size_in_kib(create["capacity"])
        except ValueError as error:
            yield Finding((*where, "capacity"), str(error))
        else:
            if not MIN_VOLUME_KIB <= kib <= MAX_VOLUME_KIB:
                message = (
                    f"{create['capacity']} is not a volume size libvirt can hold (1MiB up to 16EiB)"
                )
                yield Finding((*where, "capacity"), message)
        # The volume's format, as lowering will choose it.
        volume_format = create.get("format") or policy.disk_format(disk)
        if "backingStore" in create and volume_format != "qcow2":
            yield Finding(
                (*where, "backingStore"),
                "only a qcow2 volume can have a backingStore: set format: qcow2",
            )
        if disk.get("format") and create.get("format") and disk["format"] != create["format"]:
            message = f"the volume is created as {create['format']} but the disk reads it as {disk['format']}"
            yield Finding((*where, "format"), message)
        if create.get("backingStore") == disk["volume"]["name"]:
            yield Finding((*where, "backingStore"), "a volume cannot be its own backingStore")


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
        yield from _host_name(source["host"], ("spec", "source", "host"))


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
    _disks,
    _cpuset,
    _spice_agent,
    _cloud_init,
    _volume_creation,
    _network_disks,
)
