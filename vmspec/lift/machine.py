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

from vmspec.arches import DEFAULT_ARCH
from vmspec.compare.diff import changes_between
from vmspec.compare.facts import HostFacts
from vmspec.compare.normalize import normalize_live, without_allocations
from vmspec.config.allocation import allocated, is_users_alias
from vmspec.config.domain import Devices, Domain
from vmspec.config.matching import config_identity, device_fields, devices_in
from vmspec.config.metadata import Metadata
from vmspec.families import FAMILIES, console, holder, own_value, smartcard
from vmspec.families.family import Identity
from vmspec.load import load_text
from vmspec.lower import lower_virtual_machine, policy
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
    if domain.title:
        metadata["title"] = domain.title
    if domain.description:
        metadata["description"] = domain.description
    return metadata


def _spec(domain: Domain) -> tuple[dict[str, Any], list[str]]:
    lost: list[str] = []
    spec: dict[str, Any] = {"domainType": domain.type}
    if domain.type not in ("kvm", "qemu"):
        raise _Unliftable(f"/domain/@type: {domain.type} (the spec knows kvm and qemu)")
    os_type = domain.os.type if domain.os else None
    if os_type and os_type.arch and os_type.arch != DEFAULT_ARCH:
        spec["arch"] = os_type.arch
    if os_type and os_type.machine:
        spec["machine"] = os_type.machine
    if _looks_like_windows(domain):
        spec["osType"] = "windows"
    osinfo = _osinfo(domain.metadata)
    if osinfo:
        spec["osinfo"] = osinfo
    spec["memory"] = format_kib(_kib(domain.memory))
    spec["vcpus"] = domain.vcpu.count if domain.vcpu else 1
    if domain.vcpu and domain.vcpu.placement == "auto":
        spec["cpuset"] = "auto"  # numad's choice (a cpuset beside it is not used)
    elif domain.vcpu and domain.vcpu.cpuset:
        spec["cpuset"] = domain.vcpu.cpuset
    if domain.vcpu and domain.vcpu.current is not None and domain.vcpu.current != spec["vcpus"]:
        spec["currentVcpus"] = domain.vcpu.current
    _boot(domain, spec)
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
    if domain.devices is not None:
        # Addresses and libvirt's aliases are libvirt's: import writes none. virt-install
        # writes a console alone; libvirt makes it a serial port with that console; and
        # it adds the CCID controller of a smartcard reader.
        lost = user_aliases_the_spec_cannot_name(domain.devices)
        devices = without_allocations(domain.devices)
        devices = smartcard.without_its_controller(console.as_serial_pair(devices))
        domain = dataclasses.replace(domain, devices=devices)
    else:
        lost = []
    for family in FAMILIES:
        if holder(domain, family.place) is None:
            continue
        value = own_value(family, domain)
        lost += family.cannot_say(value)
        lifted = family.lift(value, spec, identity)
        if lifted is not None:
            spec[family.spec_field] = lifted
    return lost


def user_aliases_the_spec_cannot_name(devices: Devices) -> list[str]:
    """The user aliases (``ua-...``) of devices whose spec has no word for one (only a
    NIC's has: teaming names it). apply keeps them on the host (vmspec/host/preserve.py),
    but the spec does not say them, so import reports each instead of losing it."""
    found = []
    for field in device_fields():
        for device in devices_in(devices, field):
            cls = type(device)
            if (
                allocated(cls)
                and is_users_alias(device.alias)
                and not getattr(cls, "SPEC_NAMES_ALIAS", False)
            ):
                found.append(
                    f"devices/{cls.TAG}[{config_identity(device)}]/alias/@name: "
                    f"{device.alias.name} (a user alias: apply keeps it on the host, "
                    "the spec has no word for it)"
                )
    return found


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


def _boot(domain: Domain, spec: dict[str, Any]) -> None:
    os = domain.os
    if os is None:
        return
    if os.kernel:
        spec["kernel"] = {
            key: value
            for key, value in (
                ("path", os.kernel),
                ("initrd", os.initrd),
                ("cmdline", os.cmdline),
                ("dtb", os.dtb),
            )
            if value
        }
    devices = [device.dev for device in os.boot]
    if devices and devices != policy.boot_devices(spec):
        spec["boot"] = devices


def _devices(domain: Domain, spec: dict[str, Any], lost: list[str]) -> None:
    devices = domain.devices
    if devices is None:
        return


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
