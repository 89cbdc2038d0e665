"""A parsed ``Domain`` → an idiomatic VirtualMachine spec, and the list of what it drops.

Lifting writes only what the policy would not produce anyway (units like 2GiB, no
default clock, uuid and MACs only where they differ from the derived ones). Then it
checks itself: the spec is lowered again and compared with the domain, field by
field, and every difference is reported as dropped. So import and compile agree by
construction, and a loss can only be reported, never hidden.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from vmspec.arches import X86_ARCHES
from vmspec.compare.diff import changes_between
from vmspec.compare.facts import HostFacts
from vmspec.compare.normalize import (
    is_bare_pty_console,
    is_qemu_default_cpu,
    normalize_live,
)
from vmspec.config.chardev import CharDevice
from vmspec.config.clock import Clock
from vmspec.config.cpu import Cpu
from vmspec.config.domain import Domain
from vmspec.config.features import Hyperv
from vmspec.config.metadata import Metadata
from vmspec.families import FAMILIES, Place, families_at, holder
from vmspec.families.family import Identity
from vmspec.load import load_text
from vmspec.lower import lower_virtual_machine, policy
from vmspec.lower.devices import SPICE_AGENT_CHANNEL
from vmspec.lower.identity import domain_uuid
from vmspec.problems import format_field_path
from vmspec.schema import validate_document
from vmspec.units import format_kib, libvirt_size_in_kib
from vmspec.yaml_text import dump_spec_yaml


@dataclass(frozen=True, slots=True)
class Lifted:
    name: str
    document: dict[str, Any]
    dropped: tuple[str, ...]  # XPaths (or config paths) of what the spec cannot express
    added: tuple[str, ...] = ()  # what the spec's policy writes where the domain says nothing

    @property
    def lossless(self) -> bool:
        return not self.dropped


class _Unliftable(Exception):
    """The domain has something the spec has no word for at all (an unknown disk type)."""


def lift_domain(
    domain: Domain,
    uncovered: tuple[str, ...] | list[str] = (),
    *,
    autostart: bool | None = None,
    running: bool | None = None,
) -> Lifted:
    """``uncovered``: what parsing found outside the mapping (already filtered for what
    libvirt allocates itself)."""
    name = domain.name or "unnamed"
    dropped = list(uncovered)
    try:
        spec, lost = _spec(domain)
    except _Unliftable as error:
        return Lifted(name, {}, (*dropped, str(error)))
    dropped += lost
    if autostart:
        spec["autostart"] = True
    if running is not None:
        spec["state"] = "running" if running else "stopped"
    document = {
        "apiVersion": "vmspec/v1",
        "kind": "VirtualMachine",
        "metadata": _metadata(domain),
        "spec": spec,
    }
    # The check: lower what we wrote, and compare with the domain (vmspec's own marker
    # aside: lowering writes it).
    invalid = _problems(document)
    if invalid:
        # Something the domain has in a form the spec refuses (an arch, a serial type,
        # 8 MiB of memory): the spec cannot say it, so it is a loss, not a spec.
        return Lifted(name, {}, (*dropped, *invalid))
    lowered = lower_virtual_machine(document)
    if domain.uuid and lowered.uuid != domain.uuid.lower():
        lowered = dataclasses.replace(lowered, uuid=domain.uuid.lower())
    comparable = dataclasses.replace(
        domain,
        metadata=_with_marker(domain.metadata, lowered.metadata),
    )
    original = normalize_live(lowered, comparable, HostFacts())
    added = []
    for change in changes_between(original, lowered):
        if change.before is None:
            added.append(f"{change.path}: {change.after}")
        else:
            dropped.append(
                f"{change.path}: {change.before} (the spec gives {change.after or 'nothing'})"
            )
    return Lifted(name, document, tuple(dict.fromkeys(dropped)), tuple(added))


def _with_marker(metadata: Metadata | None, lowered: Metadata | None) -> Metadata | None:
    marker = lowered.vmspec if lowered else None
    return dataclasses.replace(metadata or Metadata(), vmspec=marker)


def _problems(document: dict[str, Any]) -> list[str]:
    """What ``vmspec validate`` would say about the lifted spec (as import writes it), by field."""
    documents, problems = load_text(dump_spec_yaml(document), "lifted")
    problems += [problem for loaded in documents for problem in validate_document(loaded)]
    return [f"{format_field_path(problem.path)}: {problem.message}" for problem in problems]


def _metadata(domain: Domain) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": domain.name}
    if domain.uuid and domain.uuid.lower() != domain_uuid(domain.name):
        metadata["uuid"] = domain.uuid.lower()
    marker = domain.metadata.vmspec if domain.metadata else None
    if marker and marker.labels:
        # An empty label is stored as <label key="k"/>, which holds no text at all.
        metadata["labels"] = {label.key: label.value or "" for label in marker.labels}
    if domain.metadata and domain.metadata.foreign:
        metadata["foreign"] = list(domain.metadata.foreign)
    if domain.description:
        metadata["description"] = domain.description
    return metadata


def _spec(domain: Domain) -> tuple[dict[str, Any], list[str]]:
    lost: list[str] = []
    spec: dict[str, Any] = {"domainType": domain.type}
    if domain.type not in ("kvm", "qemu"):
        raise _Unliftable(f"/domain/@type: {domain.type} (the spec knows kvm and qemu)")
    os_type = domain.os.type if domain.os else None
    if os_type and os_type.arch and os_type.arch != "x86_64":
        spec["arch"] = os_type.arch
    if os_type and os_type.machine:
        spec["machine"] = os_type.machine
    if domain.os and domain.os.firmware == "efi":
        spec["firmware"] = "efi"
    if _looks_like_windows(domain):
        spec["osType"] = "windows"
    osinfo = _osinfo(domain.metadata)
    if osinfo:
        spec["osinfo"] = osinfo
    spec["memory"] = format_kib(_kib(domain.memory))
    spec["vcpus"] = domain.vcpu.count if domain.vcpu else 1
    if domain.vcpu and domain.vcpu.cpuset:
        spec["cpuset"] = domain.vcpu.cpuset
    _cpu(domain, spec)
    _clock(domain, spec)
    _boot(domain, spec)
    _features(domain, spec)
    _devices(domain, spec, lost)
    _lifecycle(domain, spec)
    lost += _families(domain, spec)
    return spec, lost


def _families(domain: Domain, spec: dict[str, Any]) -> list[str]:
    """What each registered family lifts from its field of the domain or its devices, and
    what each says it cannot."""
    # What lowering derives from the identity (MACs) comes from the uuid the spec will
    # have: the domain's own.
    identity = Identity(
        name=domain.name or "", uuid=(domain.uuid or domain_uuid(domain.name)).lower()
    )
    lost: list[str] = []
    for family in FAMILIES:
        found_at = holder(domain, family.place)
        if found_at is None:
            continue
        value = getattr(found_at, family.config_field)
        lost += family.cannot_say(value)
        lifted = family.lift(value, spec, identity)
        if lifted is not None:
            spec[family.spec_field] = lifted
    return lost


def _osinfo(metadata: Metadata | None) -> str | None:
    libosinfo = metadata.libosinfo if metadata else None
    return libosinfo.os.id if libosinfo and libosinfo.os else None


def _kib(size) -> int:
    if size is None or size.value is None:
        return 0
    kib = libvirt_size_in_kib(size.value, size.unit)
    if kib is None:
        raise _Unliftable(f"/domain/memory/@unit: {size.unit} is no unit libvirt knows")
    return kib


def _looks_like_windows(domain: Domain) -> bool:
    return bool(domain.clock and domain.clock.offset == "localtime")


def _cpu(domain: Domain, spec: dict[str, Any]) -> None:
    cpu = domain.cpu
    if cpu is not None:
        # What families inside <cpu> say (NUMA cells) they lift themselves.
        cpu = dataclasses.replace(cpu, **{f.config_field: None for f in families_at(Place.CPU)})
    arch = spec.get("arch", "x86_64")
    if cpu is not None and (is_qemu_default_cpu(cpu, arch) or cpu == Cpu()):
        cpu = None  # what libvirt writes for a domain without <cpu>
    default_mode = policy.cpu_mode(spec)
    if cpu is None:
        if default_mode is not None:
            spec["cpu"] = {"mode": "none"}
        return
    lifted: dict[str, Any] = {}
    mode = cpu.mode or "custom"
    if mode == "custom" and cpu.model and cpu.model.name:
        lifted["model"] = cpu.model.name
    elif mode != default_mode:
        lifted["mode"] = mode
    if cpu.features:
        lifted["features"] = {feature.name: feature.policy for feature in cpu.features}
    if cpu.topology:
        lifted["topology"] = {
            "sockets": cpu.topology.sockets,
            "cores": cpu.topology.cores,
            "threads": cpu.topology.threads,
        }
    if mode == "custom" and not (cpu.model and cpu.model.name):
        lifted = {
            "mode": "none",
            **({"topology": lifted["topology"]} if "topology" in lifted else {}),
        }
    if lifted:
        spec["cpu"] = lifted


def _clock(domain: Domain, spec: dict[str, Any]) -> None:
    # A domain without <clock> is stored by libvirt as <clock offset='utc'/>.
    clock = domain.clock or Clock(offset="utc")
    wanted = policy.clock(spec)
    override: dict[str, Any] = {}
    if clock.offset != wanted.offset:
        override["offset"] = clock.offset
    policy_timers = {timer.name: timer for timer in wanted.timers}
    timers: dict[str, Any] = {}
    for timer in clock.timers:
        if policy_timers.get(timer.name) != timer:
            setting = {}
            if timer.present is not None:
                setting["present"] = timer.present
            if timer.tickpolicy is not None:
                setting["tickpolicy"] = timer.tickpolicy
            timers[timer.name] = setting or {"present": True}
    # A timer the policy would add and the domain lacks is said to be absent, so that
    # adopting the domain leaves its clock as it was (the guest would see new timers).
    own = {timer.name for timer in clock.timers}
    timers.update({name: None for name in policy_timers if name not in own})
    if timers:
        override["timers"] = timers
    if override:
        spec["clock"] = override


def _boot(domain: Domain, spec: dict[str, Any]) -> None:
    os = domain.os
    if os is None:
        return
    if os.kernel:
        spec["kernel"] = {
            key: value
            for key, value in (("path", os.kernel), ("initrd", os.initrd), ("cmdline", os.cmdline))
            if value
        }
    devices = [device.dev for device in os.boot]
    if devices and devices != policy.boot_devices(spec):
        spec["boot"] = devices


def _features(domain: Domain, spec: dict[str, Any]) -> None:
    features = domain.features
    x86 = spec.get("arch", "x86_64") in X86_ARCHES
    lifted: dict[str, Any] = {}
    acpi, apic = (features.acpi, features.apic) if features else (False, False)
    if acpi != x86:
        lifted["acpi"] = acpi
    if apic != x86:
        lifted["apic"] = apic
    if features and features.pae:
        lifted["pae"] = True
    hyperv = _hyperv(features.hyperv if features else None)
    if hyperv != _hyperv(policy.hyperv(spec)):
        # A set other than the policy's is written out whole, so that lowering it again
        # gives the domain's own set, not the policy's.
        lifted["hyperv"] = hyperv or {}
    if features and features.vmport and features.vmport.state is not None:
        lifted["vmport"] = features.vmport.state
    if features and features.smm and features.smm.state:
        lifted["smm"] = True
    if lifted:
        spec["features"] = lifted


_HYPERV_ENLIGHTENMENTS = (
    "relaxed",
    "vapic",
    "spinlocks",
    "vpindex",
    "runtime",
    "synic",
    "stimer",
    "reset",
    "frequencies",
)


def _hyperv(hyperv: Hyperv | None) -> dict[str, Any] | None:
    """A ``<hyperv>`` set as the spec says it; None when there is none."""
    if hyperv is None:
        return None
    lifted: dict[str, Any] = {}
    for name in _HYPERV_ENLIGHTENMENTS:
        feature = getattr(hyperv, name)
        if feature is None or (name == "spinlocks" and not feature.state):
            continue  # spinlocks off is spinlocks left out (the self-check names the rest)
        lifted[name] = feature.retries if name == "spinlocks" else bool(feature.state)
    return lifted or None


def _devices(domain: Domain, spec: dict[str, Any], lost: list[str]) -> None:
    devices = domain.devices
    if devices is None:
        return
    graphics = []
    for item in devices.graphics:
        entry: dict[str, Any] = {"type": item.type}
        if item.listen:
            entry["listen"] = item.listen
        if item.port is not None and item.port != -1 and not item.autoport:
            entry["port"] = item.port
        if item.image:
            entry["image"] = {"compression": item.image.compression}
        if item.streaming:
            entry["streaming"] = {"mode": item.streaming.mode}
        graphics.append(entry)
    if graphics:
        spec["graphics"] = graphics
    serials = [_serial(serial) for serial in devices.serials]
    if not serials and any(is_bare_pty_console(console) for console in devices.consoles[:1]):
        # virt-install writes a console alone; libvirt makes it a serial port with that console.
        serials = [{"type": "pty"}]
    if serials:
        spec["serials"] = serials
    agent = [
        channel
        for channel in devices.channels
        if channel.target and channel.target.name == "org.qemu.guest_agent.0"
    ]
    if agent:
        spec["guestAgent"] = True
    if any(
        channel.target and channel.target.name == SPICE_AGENT_CHANNEL
        for channel in devices.channels
    ):
        spec["spiceAgent"] = True
    if devices.videos and devices.videos[0].model:
        model = devices.videos[0].model.type
        if model != policy.video_model({"graphics": graphics}) or not graphics:
            spec["video"] = {"model": model}


def _serial(serial: CharDevice) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": serial.type}
    if serial.source and serial.source.path and serial.type in ("file", "unix"):
        entry["path"] = serial.source.path
    return entry


def _lifecycle(domain: Domain, spec: dict[str, Any]) -> None:
    defaults = policy.lifecycle({})
    actual = (domain.on_poweroff, domain.on_reboot, domain.on_crash)
    lifted = {
        key: value
        for key, value, default in zip(
            ("onPoweroff", "onReboot", "onCrash"), actual, defaults, strict=True
        )
        if value and value != default
    }
    if lifted:
        spec["lifecycle"] = lifted
