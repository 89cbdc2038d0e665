"""Lower a validated VirtualMachine document into a ``Domain`` config object."""

from __future__ import annotations

from typing import Any

from lxml import etree

from vmspec.arches import DEFAULT_ARCH
from vmspec.config.boot import BootDevice, OperatingSystem, OsType
from vmspec.config.domain import Domain, MemorySize, Vcpu
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
        vcpu=_vcpu(spec),
        os=_operating_system(spec, identity),
        on_poweroff=on_poweroff,
        on_reboot=on_reboot,
        on_crash=on_crash,
        devices=lower_devices(spec, identity),
        **lowered_domain_fields(spec, identity),
    )


def _vcpu(spec: dict[str, Any]) -> Vcpu:
    cpuset, current = spec.get("cpuset"), spec.get("currentVcpus")
    # auto: numad picks the host CPUs (and, unless numatune says otherwise, the nodes).
    # Where numad places the memory and no cpuset says where the vCPUs run, libvirt
    # lets numad place them too, whatever the definition says (seen with libvirt 9.0).
    numad_memory = spec.get("numatune", {}).get("placement") == "auto"
    placement = "auto" if cpuset == "auto" or (numad_memory and cpuset is None) else "static"
    return Vcpu(
        placement=placement,
        cpuset=None if placement == "auto" else cpuset,
        # libvirt leaves current out where all vCPUs are online.
        current=current if current is not None and current < spec["vcpus"] else None,
        count=spec["vcpus"],
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
        type=OsType(arch=spec.get("arch", DEFAULT_ARCH), machine=spec.get("machine"), value="hvm"),
        kernel=kernel.get("path"),
        initrd=kernel.get("initrd"),
        cmdline=kernel.get("cmdline"),
        dtb=kernel.get("dtb"),
        boot=tuple(BootDevice(dev=device) for device in policy.boot_devices(spec)),
        **lowered_fields(Place.OS, spec, identity),
    )
