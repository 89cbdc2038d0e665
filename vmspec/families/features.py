"""``<features>``: the machine's hypervisor features: ACPI, the APIC and IOAPIC, PAE,
Hyper-V and KVM enlightenments, VMware's port, the PMU, Arm's GIC, SMM...

formatdomain "Hypervisor features". Each is written only where the spec or the policy
below says it; libvirt drops an empty ``<features/>``, so none is written either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from vmspec.arches import X86_ARCHES
from vmspec.config.xmlmap import CONFIG, ON_OFF, attr, child, flag
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@dataclass(**CONFIG)
class HypervFeature:
    """One enlightenment such as ``<relaxed state='on'/>``; the tag is the field's."""

    TAG: ClassVar[str] = "feature"
    state: bool | None = attr("state", codec=ON_OFF)
    retries: int | None = attr("retries")


@dataclass(**CONFIG)
class Hyperv:
    TAG: ClassVar[str] = "hyperv"
    mode: str | None = attr("mode")
    relaxed: HypervFeature | None = child("relaxed")
    vapic: HypervFeature | None = child("vapic")
    spinlocks: HypervFeature | None = child("spinlocks")
    vpindex: HypervFeature | None = child("vpindex")
    runtime: HypervFeature | None = child("runtime")
    synic: HypervFeature | None = child("synic")
    stimer: HypervFeature | None = child("stimer")
    reset: HypervFeature | None = child("reset")
    frequencies: HypervFeature | None = child("frequencies")


@dataclass(**CONFIG)
class Switch:
    """A feature that is on or off (``<pmu state='off'/>``); the tag is the field's."""

    TAG: ClassVar[str] = "switch"
    state: bool | None = attr("state", codec=ON_OFF)


@dataclass(**CONFIG)
class Kvm:
    """KVM's own paravirtual features (``<kvm><hidden state='on'/></kvm>``)."""

    TAG: ClassVar[str] = "kvm"
    hidden: Switch | None = child("hidden")
    hint_dedicated: Switch | None = child("hint-dedicated")
    poll_control: Switch | None = child("poll-control")
    pv_ipi: Switch | None = child("pv-ipi")


@dataclass(**CONFIG)
class Apic:
    TAG: ClassVar[str] = "apic"
    eoi: bool | None = attr("eoi", codec=ON_OFF)  # paravirtual end-of-interrupt


@dataclass(**CONFIG)
class Gic:
    """Arm's interrupt controller (``<gic version='3'/>``)."""

    TAG: ClassVar[str] = "gic"
    version: str | None = attr("version")


@dataclass(**CONFIG)
class Smm:
    TAG: ClassVar[str] = "smm"
    state: bool | None = attr("state", codec=ON_OFF)


@dataclass(**CONFIG)
class Vmport:
    """VMware's I/O port emulation (``<vmport state='off'/>``), which virt-install turns off
    for SPICE guests: the SPICE agent moves the pointer instead."""

    TAG: ClassVar[str] = "vmport"
    state: bool | None = attr("state", codec=ON_OFF)


@dataclass(**CONFIG)
class Ioapic:
    TAG: ClassVar[str] = "ioapic"
    driver: str | None = attr("driver")  # kvm (in the kernel) or qemu (split irqchip)


@dataclass(**CONFIG)
class Features:
    """In libvirt's formatting order."""

    TAG: ClassVar[str] = "features"
    acpi: bool = flag("acpi")
    apic: Apic | None = child()
    pae: bool = flag("pae")
    hyperv: Hyperv | None = child()
    kvm: Kvm | None = child()
    pvspinlock: Switch | None = child("pvspinlock")
    pmu: Switch | None = child("pmu")
    vmport: Vmport | None = child()
    gic: Gic | None = child()
    smm: Smm | None = child()
    ioapic: Ioapic | None = child()
    vmcoreinfo: Switch | None = child("vmcoreinfo")


# --- policy: what vmspec writes where the spec says nothing, and why ----------------------


def acpi_and_apic(spec: Spec) -> tuple[bool, bool]:
    """x86 guests get ACPI (graceful shutdown from the host) and APIC (SMP) unless turned off."""
    features = spec.get("features", {})
    x86 = spec.get("arch", "x86_64") in X86_ARCHES
    return features.get("acpi", x86), features.get("apic", x86)


def hyperv_policy(spec: Spec) -> Hyperv | None:
    """Hyper-V enlightenments for Windows on KVM: without them Windows spins on locks and
    burns host CPU while idle. TCG implements none of them, so it gets none."""
    if spec.get("osType", "linux") != "windows" or spec["domainType"] != "kvm":
        return None
    on = HypervFeature(state=True)
    return Hyperv(
        mode="custom",
        relaxed=on,
        vapic=on,
        # 8191 is the retry count Microsoft recommends before a vCPU yields on a spinlock.
        spinlocks=HypervFeature(state=True, retries=8191),
        vpindex=on,
        runtime=on,
        synic=on,
        stimer=on,
        reset=on,
        frequencies=on,
    )


# --- the spec's words ----------------------------------------------------------------------

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
# Features that are on or off, as (spec key, config field, what it is).
_SWITCHES = (
    ("pvspinlock", "pvspinlock", "paravirtual spinlocks (KVM)"),
    ("pmu", "pmu", "the guest's performance monitoring unit (perf counters)"),
    ("vmcoreinfo", "vmcoreinfo", "the vmcoreinfo device, for guest kernel crash dumps"),
)
_KVM_SWITCHES = (
    ("hidden", "hidden", "hide KVM's signature from the guest"),
    ("hintDedicated", "hint_dedicated", "tell the guest its vCPUs are pinned, one per host CPU"),
    ("pollControl", "poll_control", "let the guest control host-side halt polling"),
    ("pvIpi", "pv_ipi", "paravirtual inter-processor interrupts"),
)

_HYPERV_SCHEMA = {
    "type": "object",
    "description": "Hyper-V enlightenments, the whole set: replaces the policy's (all of them for Windows on KVM); {} for none",
    "properties": {
        **{
            name: {
                "type": "boolean",
                "description": f"the {name} enlightenment on (true) or off (false)",
            }
            for name in _HYPERV_ENLIGHTENMENTS
            if name != "spinlocks"
        },
        "spinlocks": {
            "type": "integer",
            "minimum": 4095,
            "maximum": 4294967295,
            "description": "spinlock retries before a vCPU yields (Microsoft recommends 8191); leave it out for none",
        },
    },
    "additionalProperties": False,
    "examples": [{"relaxed": True, "vapic": True, "spinlocks": 8191}],
}

_ON_OFF_SCHEMAS = {
    key: {"type": "boolean", "description": f"{what}: on (true) or off (false)"}
    for key, _, what in (*_SWITCHES, *_KVM_SWITCHES)
}

SCHEMA = {
    "type": "object",
    "description": "hypervisor features, as in libvirt's <features>; ACPI and APIC are on for x86 unless turned off",
    "properties": {
        "acpi": {"type": "boolean"},
        "apic": {"type": "boolean"},
        "apicEoi": {
            "type": "boolean",
            "description": "the APIC's paravirtual end-of-interrupt on (true) or off (false); needs the APIC",
        },
        "pae": {"type": "boolean"},
        "hyperv": _HYPERV_SCHEMA,
        "kvm": {
            "type": "object",
            "description": "KVM's paravirtual features (KVM only), each on or off",
            "properties": {key: _ON_OFF_SCHEMAS[key] for key, _, _ in _KVM_SWITCHES},
            "additionalProperties": False,
            "minProperties": 1,
            "examples": [{"hidden": True}],
        },
        **{key: _ON_OFF_SCHEMAS[key] for key, _, _ in _SWITCHES},
        "vmport": {
            "type": "boolean",
            "description": "VMware's I/O port for the pointer; virt-install turns it off for SPICE guests, whose agent moves the pointer",
            "examples": [False],
        },
        "gic": {
            "enum": [2, 3, "host"],
            "description": "the version of Arm's interrupt controller (aarch64 and armv7l); absent: libvirt picks the host's best",
        },
        "smm": {"type": "boolean"},
        "ioapic": {
            "enum": ["kvm", "qemu"],
            "description": "where the IOAPIC is emulated: in the kernel (kvm) or in QEMU (qemu, a split irqchip, which an Intel IOMMU with interrupt remapping needs)",
        },
    },
    "additionalProperties": False,
    "examples": [
        {"acpi": True, "apic": True, "vmport": False},
        {"apicEoi": False, "pmu": False, "pvspinlock": False, "vmcoreinfo": True},
    ],
}

ARM_ARCHES = ("aarch64", "armv7l")


def _gic_on_arm_only(spec: Spec) -> Iterator[Finding]:
    arch = spec.get("arch", "x86_64")
    if "gic" in spec.get("features", {}) and arch not in ARM_ARCHES:
        yield Finding(
            ("spec", "features", "gic"), f"a GIC is Arm's interrupt controller: {arch} has none"
        )


def _machine_needs(spec: Spec) -> Iterator[Finding]:
    """What libvirt's qemu driver refuses only at define, said at compile."""
    features = spec.get("features", {})
    if "ioapic" in features and "q35" not in spec.get("machine", ""):
        yield Finding(
            ("spec", "features", "ioapic"),
            "libvirt tunes the IOAPIC of q35 machines only: set machine: q35",
        )
    mode = spec.get("cpu", {}).get("mode")
    if features.get("kvm", {}).get("hintDedicated") and mode != "host-passthrough":
        yield Finding(
            ("spec", "features", "kvm", "hintDedicated"),
            "hintDedicated is for cpu mode host-passthrough only (libvirt refuses it otherwise)",
        )


def _eoi_needs_the_apic(spec: Spec) -> Iterator[Finding]:
    features = spec.get("features", {})
    if "apicEoi" in features and not acpi_and_apic(spec)[1]:
        yield Finding(
            ("spec", "features", "apicEoi"),
            "apicEoi is a setting of the APIC, which this guest has not: set apic: true",
        )


# --- lowering and lifting ------------------------------------------------------------------


def lower(spec: Spec, identity: Identity) -> Features | None:
    acpi, apic = acpi_and_apic(spec)
    features = spec.get("features", {})
    lowered = Features(
        acpi=acpi,
        apic=Apic(eoi=features.get("apicEoi")) if apic else None,
        pae=features.get("pae", False),
        hyperv=_lower_hyperv(features["hyperv"]) if "hyperv" in features else hyperv_policy(spec),
        vmport=Vmport(state=features["vmport"]) if "vmport" in features else None,
        kvm=_lower_kvm(features.get("kvm", {})),
        **{field: _switch(features.get(key)) for key, field, _ in _SWITCHES},
        gic=Gic(version=str(features["gic"])) if "gic" in features else None,
        smm=Smm(state=True) if features.get("smm") else None,
        ioapic=Ioapic(driver=features["ioapic"]) if "ioapic" in features else None,
    )
    # libvirt drops an empty <features/>, so writing one would read as drift after every apply.
    return None if lowered == Features() else lowered


def _switch(state: bool | None) -> Switch | None:
    return None if state is None else Switch(state=state)


def _lower_kvm(switches: dict[str, bool]) -> Kvm | None:
    if not switches:
        return None
    return Kvm(**{field: _switch(switches.get(key)) for key, field, _ in _KVM_SWITCHES})


def _lower_hyperv(enlightenments: dict[str, Any]) -> Hyperv | None:
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


def lift(features: Features | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    x86 = spec.get("arch", "x86_64") in X86_ARCHES
    features = features or Features()
    lifted: dict[str, Any] = {}
    if features.acpi != x86:
        lifted["acpi"] = features.acpi
    if (features.apic is not None) != x86:
        lifted["apic"] = features.apic is not None
    if features.apic and features.apic.eoi is not None:
        lifted["apicEoi"] = features.apic.eoi
    if features.pae:
        lifted["pae"] = True
    hyperv = _lift_hyperv(features.hyperv)
    if hyperv != _lift_hyperv(hyperv_policy(spec)):
        # A set other than the policy's is written out whole, so that lowering it again
        # gives the domain's own set, not the policy's.
        lifted["hyperv"] = hyperv or {}
    if features.vmport and features.vmport.state is not None:
        lifted["vmport"] = features.vmport.state
    kvm = _switches(features.kvm, _KVM_SWITCHES) if features.kvm else {}
    if kvm:
        lifted["kvm"] = kvm
    lifted.update(_switches(features, _SWITCHES))
    if features.gic and features.gic.version is not None:
        version = features.gic.version
        lifted["gic"] = int(version) if version.isdigit() else version
    if features.smm and features.smm.state:
        lifted["smm"] = True
    if features.ioapic and features.ioapic.driver:
        lifted["ioapic"] = features.ioapic.driver
    return lifted or None


def _switches(holder: Any, switches: tuple[tuple[str, str, str], ...]) -> dict[str, bool]:
    """The switches of ``holder`` that say on or off, by their spec key."""
    return {
        key: switch.state
        for key, field, _ in switches
        if (switch := getattr(holder, field)) is not None and switch.state is not None
    }


def _lift_hyperv(hyperv: Hyperv | None) -> dict[str, Any] | None:
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


# --- what libvirt fills in -----------------------------------------------------------------


def libvirt_fills_in(live: Features | None, wanted: Features | None) -> Features | None:
    if live is not None and live.gic is not None and (wanted is None or wanted.gic is None):
        # libvirt gives every Arm virt machine a GIC, of the version the host's KVM (or
        # QEMU, under TCG) does best: the same guest as one that names none.
        live = dataclasses.replace(live, gic=None)
    if live == Features():
        # libvirt drops an empty <features/>; one that reads empty holds only elements the
        # mapping does not cover, which import reports by their own XPath.
        return None
    return _hyperv_mode(live, wanted)


def _hyperv_mode(live: Features | None, wanted: Features | None) -> Features | None:
    """``<hyperv>`` without a mode (virt-install writes none) is libvirt's custom mode."""
    if not (live and live.hyperv and live.hyperv.mode is None and wanted and wanted.hyperv):
        return live
    if wanted.hyperv.mode != "custom":
        return live
    return dataclasses.replace(live, hyperv=dataclasses.replace(live.hyperv, mode="custom"))


FAMILY = Family(
    spec_field="features",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="features",
    lower=lower,
    lift=lift,
    checks=(_gic_on_arm_only, _eoi_needs_the_apic, _machine_needs),
    libvirt_fills_in=libvirt_fills_in,
)
