"""Titles for the schema's fields, which editors (yaml-language-server) show in completion
and hover: each field's name in words, as schema generators such as pydantic write
them, unless the schema has a title of its own for it.
"""

from __future__ import annotations

import re
from typing import Any

# Acronyms a field name spells in lower case.
_ACRONYMS = (
    "acpi api apic avic cpu dhcp dtb gic hpet id ip mac mtu numa pae pci pit pmu"
    " ram rng rom rtc smbios smm spice tcg tls tpm tsc uri usb uuid vm vnc wwn wwpn"
    " iommu ecn gso ufo ats sku oem p2p scsi lun vram jpeg bar vlan ipi eoi"
    " htm hpt cfpc sbbc ibs ccf hv aw tseg rss rx tx tb cid udp dsp slic bios"
    " nvram ioapic tlb pv"
)
# Words a field name spells in lower case that a reader knows in another case.
WORDS = {
    **{word: word.upper() for word in _ACRONYMS.split()},
    "ips": "IPs",
    "cpus": "CPUs",
    "tso4": "TSO4",
    "tso6": "TSO6",
    "vram64": "VRAM64",
    "vcpu": "vCPU",
    "vcpus": "vCPUs",
    "vcpupins": "vCPU pins",
    "vcpuscheds": "vCPU schedulers",
    "iothread": "I/O thread",
    "iothreads": "I/O threads",
    "iothreadids": "I/O thread IDs",
    "iothreadpins": "I/O thread pins",
    "iothreadscheds": "I/O thread schedulers",
    "emulatorpin": "Emulator pin",
    "emulatorsched": "Emulator scheduler",
    "cpuset": "CPU set",
    "nodeset": "Node set",
    "nodemask": "Node mask",
    "memnodes": "Memory nodes",
    "hugepages": "Huge pages",
    "pagesize": "Page size",
    "alignsize": "Align size",
    "blkiotune": "Block I/O tuning",
    "cputune": "CPU tuning",
    "memtune": "Memory tuning",
    "numatune": "NUMA tuning",
    "memballoon": "Memory balloon",
    "hostdev": "Host device",
    "hostdevs": "Host devices",
    "pcihole64": "PCI hole 64",
    "vmport": "VMware port",
    "vmcoreinfo": "VM core info",
    "kvmclock": "KVM clock",
    "hypervclock": "Hyper-V clock",
    "hyperv": "Hyper-V",
    "kvm": "KVM",
    "fwcfg": "firmware configuration (fw_cfg)",
    "accel3d": "3D acceleration",
    "iops": "IOPS",
    "vq": "VQ",
    "idx": "index",
    "mem": "memory",
    "env": "environment variable",
    "cmd": "command",
    "cmdline": "command line",
    "maxphysaddr": "max physical address",
    "tickpolicy": "tick policy",
    "pmem": "PMEM",
    "seclabels": "security labels",
    "portgroup": "port group",
    "virtualport": "virtual port",
    "guestfwd": "guest forwarding",
    "downscript": "down script",
    "websocket": "WebSocket",
    "sec": "per second",
    "iotune": "I/O tuning",
    "iotlb": "IOTLB",
    "osinfo": "OS info",
    "os": "OS",
    "io": "I/O",
    "csum": "checksum",
    "mcast": "multicast",
    "dev": "device",
    "dir": "directory",
    "mdev": "mediated device",
    "readonly": "read-only",
    "catchup": "catch-up",
    "stimer": "synthetic timers",
    "stimerdirect": "direct synthetic timers",
    "xauth": "X authority file",
    "timezone": "time zone",
    "parallels": "parallel ports",
    "serials": "serial ports",
    "vhostuser": "vhost-user",
    "vdpa": "vDPA",
    "vapic": "vAPIC",
    "vpindex": "VP index",
    "tlbflush": "TLB flush",
    "pvspinlock": "PV spinlock",
    "synic": "SynIC",
    "evmcs": "eVMCS",
    "mrg": "mergeable",
    "rxbuf": "RX buffers",
    "txmode": "TX mode",
    "sndbuf": "send buffer",
    "rawio": "raw I/O",
    "rerror": "read error",
    "typeid": "type ID",
    "typeidversion": "type ID version",
    "managerid": "manager ID",
    "instanceid": "instance ID",
    "profileid": "profile ID",
    "interfaceid": "interface ID",
    "cellid": "cell ID",
    "startport": "start port",
    "rendernode": "render node",
    "copypaste": "copy and paste",
    "baselabel": "base label",
    "accessmode": "access mode",
    "nosharepages": "no shared pages",
    "armvtimer": "ARM virtual timer",
    "ramfb": "RAM framebuffer",
    "gl": "OpenGL",
    "vgamem": "VGA memory",
    "trymmap": "try mmap",
    "cloudinit": "cloud-init",
    "genid": "generation ID",
    "pm": "power management",
    "metadata": "metadata",
}
_NAME_WORDS = re.compile(r"[A-Z]?[a-z]+[0-9]*|[A-Z]+(?![a-z])[0-9]*|[0-9]+")


def field_title(name: str) -> str:
    """The field's name as words: "maxMemory" → "Max memory", "tlsPort" → "TLS port"."""
    words = [name] if name.lower() in WORDS else _NAME_WORDS.findall(name)
    text = " ".join(WORDS.get(word.lower(), word.lower()) for word in words) or name
    text = text.replace("IOPS per second", "IOPS")  # IOPS says "per second" already
    first = text.split()[0]
    # vCPU and eVMCS keep their lower-case first letter; every other title starts upper.
    if first[:1].islower() and first[1:] == first[1:].lower():
        text = text[0].upper() + text[1:]
    return text


def add_titles(node: Any) -> None:
    """A title for every property that has none of its own, as schema generators do
    (pydantic's humanized field names). A title on the $ref'd definition is the type's,
    not the field's: the field still gets its own."""
    if isinstance(node, list):
        for item in node:
            add_titles(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in _NOT_SCHEMAS:
            continue
        if key == "properties" and isinstance(value, dict):
            for name, child in value.items():
                if isinstance(child, dict) and "title" not in child:
                    # A copy: a fragment may give one dict to several fields (clock timers).
                    value[name] = child = {**child, "title": field_title(name)}
                add_titles(child)
        else:
            add_titles(value)


# Keywords whose values are data or a kind's selector, not fields.
_NOT_SCHEMAS = ("examples", "default", "const", "enum", "if")
