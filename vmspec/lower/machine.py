"""Lower a validated VirtualMachine document into a ``Domain`` config object."""

from __future__ import annotations

from typing import Any

from lxml import etree

from vmspec.config.boot import BootDevice, OperatingSystem, OsType
from vmspec.config.domain import Domain, MemorySize, Vcpu
from vmspec.config.features import Features, Hyperv, HypervFeature, Smm, Vmport
from vmspec.config.metadata import Label, Libosinfo, Metadata, OsinfoOs, OwnershipMarker
from vmspec.config.xmlmap import canonical_xml
from vmspec.families import Place, lowered_domain_fields, lowered_fields
from vmspec.families.family import Identity
from vmspec.lower import policy
from vmspec.lower.devices import lower_devices
from vmspec.lower.identity import domain_uuid
from vmspec.scope import DEFAULT_SCOPE
from vmspec.units import size_in_kib


def lower_virtual_machine(
    document: dict[str, Any], *, nested_kvm_host: bool = False, scope: str = DEFAULT_SCOPE
) -> Domain:
    """The domain a valid document describes. The ownership marker's hash is left empty:
    emitting fills it in, because it covers the XML that comes out. ``nested_kvm_host``
    is the one host fact lowering heeds (plan and apply know it; compile does not);
    ``scope`` is recorded in the marker (see vmspec/scope.py)."""
    metadata = document["metadata"]
    spec = document["spec"]
    uuid = metadata.get("uuid", "").lower() or domain_uuid(metadata["name"])
    identity = Identity(name=metadata["name"], uuid=uuid, nested_kvm_host=nested_kvm_host)
    memory_kib = size_in_kib(spec["memory"])
    on_poweroff, on_reboot, on_crash = policy.lifecycle(spec)
    return Domain(
        type=spec["domainType"],
        name=metadata["name"],
        uuid=uuid,
        title=metadata.get("title"),
        # libvirt drops an empty <description>: writing one would be a change forever.
        description=metadata.get("description") or None,
        metadata=Metadata(
            vmspec=_marker(metadata, scope),
            libosinfo=_libosinfo(spec),
            foreign=tuple(_canonical(text) for text in metadata.get("foreign", ())),
        ),
        memory=MemorySize(unit="KiB", value=memory_kib),
        vcpu=Vcpu(placement="static", cpuset=spec.get("cpuset"), count=spec["vcpus"]),
        os=_operating_system(spec, identity),
        features=_features(spec),
        on_poweroff=on_poweroff,
        on_reboot=on_reboot,
        on_crash=on_crash,
        devices=lower_devices(spec, identity),
        **lowered_domain_fields(spec, identity),
    )


def _marker(metadata: dict[str, Any], scope: str) -> OwnershipMarker:
    labels = tuple(
        Label(key=key, value=value) for key, value in sorted(metadata.get("labels", {}).items())
    )
    # The default scope is left unsaid, so domains made before scopes existed are its own.
    return OwnershipMarker(
        spec=metadata["name"], scope=None if scope == DEFAULT_SCOPE else scope, labels=labels
    )


def _canonical(text: str) -> str:
    # In the form parsing gives libvirt's copy, so that plan compares like with like.
    return canonical_xml(etree.fromstring(text))


def _libosinfo(spec: dict[str, Any]) -> Libosinfo | None:
    osinfo = spec.get("osinfo")
    return Libosinfo(os=OsinfoOs(id=osinfo)) if osinfo else None


def _operating_system(spec: dict[str, Any], identity: Identity) -> OperatingSystem:
    kernel = spec.get("kernel", {})
    return OperatingSystem(
        # firmware='efi' lets libvirt pick the matching OVMF build and its NVRAM template.
        firmware="efi" if spec.get("firmware") == "efi" else None,
        type=OsType(arch=spec.get("arch", "x86_64"), machine=spec.get("machine"), value="hvm"),
        kernel=kernel.get("path"),
        initrd=kernel.get("initrd"),
        cmdline=kernel.get("cmdline"),
        boot=tuple(BootDevice(dev=device) for device in policy.boot_devices(spec)),
        **lowered_fields(Place.OS, spec, identity),
    )


def _features(spec: dict[str, Any]) -> Features | None:
    acpi, apic = policy.acpi_and_apic(spec)
    features = spec.get("features", {})
    lowered = Features(
        acpi=acpi,
        apic=apic,
        pae=features.get("pae", False),
        hyperv=_hyperv(features["hyperv"]) if "hyperv" in features else policy.hyperv(spec),
        vmport=Vmport(state=features["vmport"]) if "vmport" in features else None,
        smm=Smm(state=True) if features.get("smm") else None,
    )
    # libvirt drops an empty <features/>, so writing one would read as drift after every apply.
    return None if lowered == Features() else lowered


def _hyperv(enlightenments: dict[str, Any]) -> Hyperv | None:
    """The spec's own set of Hyper-V enlightenments (``{}``: none)."""
    if not enlightenments:
        return None
    settings = {}
    for name, value in enlightenments.items():
        if name == "spinlocks":
            settings[name] = HypervFeature(state=True, retries=value)
        else:
            settings[name] = HypervFeature(state=bool(value))
    return Hyperv(mode="custom", **settings)
