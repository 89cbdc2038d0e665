"""``<features>``: the machine's hypervisor features: ACPI, the APIC and IOAPIC, PAE,
Hyper-V and KVM enlightenments, VMware's port, the PMU, Arm's GIC, SMM...

formatdomain "Hypervisor features". Each is written only where the spec or the policy
below says it; libvirt drops an empty ``<features/>``, so none is written either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.arches import X86_ARCHES, spec_arch
from vmspec.config.memory import MemorySize
from vmspec.config.xmlmap import ON_OFF, attr, child, config_class, flag, text
from vmspec.families import hyperv, pseries
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.families.hyperv import HYPERV_REASON, Hyperv, Switch, hyperv_policy
from vmspec.problems import Finding
from vmspec.units import format_kib, libvirt_size_in_kib, size_in_kib, with_size_in_kib


@config_class
class DirtyRing:
    """KVM's dirty ring (``<dirty-ring state='on' size='4096'/>``), which tracks the pages a
    migration must copy again per vCPU instead of in one shared bitmap."""

    TAG: ClassVar[str] = "dirty-ring"
    state: bool | None = attr("state", codec=ON_OFF)
    size: int | None = attr("size")


@config_class
class Kvm:
    """KVM's own paravirtual features (``<kvm><hidden state='on'/></kvm>``)."""

    TAG: ClassVar[str] = "kvm"
    hidden: Switch | None = child("hidden")
    hint_dedicated: Switch | None = child("hint-dedicated")
    poll_control: Switch | None = child("poll-control")
    pv_ipi: Switch | None = child("pv-ipi")
    dirty_ring: DirtyRing | None = child()


@config_class
class Apic:
    TAG: ClassVar[str] = "apic"
    eoi: bool | None = attr("eoi", codec=ON_OFF)  # paravirtual end-of-interrupt


@config_class
class Gic:
    """Arm's interrupt controller (``<gic version='3'/>``)."""

    TAG: ClassVar[str] = "gic"
    version: str | None = attr("version")


@config_class
class Tseg:
    """The RAM set aside for SMM (libvirt writes it in MiB)."""

    TAG: ClassVar[str] = "tseg"
    unit: str | None = attr("unit")
    value: int | None = text()


_TSEG_DEFAULT_UNIT = "MiB"  # formatdomain: "If the unit is omitted, it defaults to MiB"


@config_class
class Smm:
    TAG: ClassVar[str] = "smm"
    state: bool | None = attr("state", codec=ON_OFF)
    tseg: Tseg | None = child()


@config_class
class Vmport:
    """VMware's I/O port emulation (``<vmport state='off'/>``), which virt-install turns off
    for SPICE guests: the SPICE agent moves the pointer instead."""

    TAG: ClassVar[str] = "vmport"
    state: bool | None = attr("state", codec=ON_OFF)


@config_class
class Ioapic:
    TAG: ClassVar[str] = "ioapic"
    driver: str | None = attr("driver")  # kvm (in the kernel) or qemu (split irqchip)


@config_class
class Tcg:
    TAG: ClassVar[str] = "tcg"
    tb_cache: MemorySize | None = child("tb-cache")  # libvirt writes KiB


@config_class
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
    hpt: pseries.Hpt | None = child()
    vmcoreinfo: Switch | None = child("vmcoreinfo")
    htm: Switch | None = child("htm")
    nested_hv: Switch | None = child("nested-hv")
    ccf_assist: Switch | None = child("ccf-assist")
    cfpc: pseries.Mitigation | None = child("cfpc")
    sbbc: pseries.Mitigation | None = child("sbbc")
    ibs: pseries.Mitigation | None = child("ibs")
    tcg: Tcg | None = child()


# --- policy: what vmspec writes where the spec says nothing, and why ----------------------


ACPI_REASON = "x86 guests get ACPI unless turned off: the host can shut them down gracefully"
APIC_REASON = "x86 guests get an APIC unless turned off: SMP needs it"


def acpi_and_apic(spec: Spec) -> tuple[bool, bool]:
    """x86 guests get ACPI and APIC unless turned off (ACPI_REASON, APIC_REASON)."""
    features = spec.get("features", {})
    x86 = spec_arch(spec) in X86_ARCHES
    return features.get("acpi", x86), features.get("apic", x86)


# --- the spec's words ----------------------------------------------------------------------

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

_ON_OFF_SCHEMAS = {
    key: {"type": "boolean", "description": f"{what}: on (true) or off (false)"}
    for key, _, what in (*_SWITCHES, *_KVM_SWITCHES)
}

SCHEMA = {
    "type": "object",
    "description": "hypervisor features, as in libvirt's <features>; ACPI and APIC are on for x86 unless turned off",
    "properties": {
        "acpi": {
            "type": "boolean",
            "description": "ACPI (<acpi/>), which the guest needs for a clean shutdown on request and power management; default: on for x86",
        },
        "apic": {
            "type": "boolean",
            "description": "the APIC, the interrupt controller of x86 SMP guests (<apic/>); default: on for x86",
        },
        "apicEoi": {
            "type": "boolean",
            "description": "the APIC's paravirtual end-of-interrupt on (true) or off (false); needs the APIC",
        },
        "pae": {
            "type": "boolean",
            "description": "Physical Address Extension (<pae/>), which 32-bit x86 guests need for more than 4 GiB; default: off",
        },
        "hyperv": hyperv.SCHEMA,
        "kvm": {
            "type": "object",
            "description": "KVM's paravirtual features (KVM only), each on or off",
            "properties": {
                **{key: _ON_OFF_SCHEMAS[key] for key, _, _ in _KVM_SWITCHES},
                "dirtyRing": {
                    "enum": [1024, 2048, 4096, 8192, 16384, 32768, 65536, False],
                    "description": "KVM's dirty ring on, with its size in entries per vCPU (a power of 2), or false for off",
                },
            },
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
        "smm": {
            "type": "boolean",
            "description": "System Management Mode on (true: secure-boot UEFI needs it) or off (false); absent: QEMU's default (on for q35)",
        },
        "smmTseg": {
            "$ref": "#/$defs/size",
            "description": "the RAM set aside for SMM, in whole MiB (large guests need more than QEMU's 16MiB); needs smm: true",
            "examples": ["48MiB"],
        },
        "ioapic": {
            "enum": ["kvm", "qemu"],
            "description": "where the IOAPIC is emulated: in the kernel (kvm) or in QEMU (qemu, a split irqchip, which an Intel IOMMU with interrupt remapping needs)",
        },
        **pseries.SCHEMA_PROPERTIES,
        "tcgTbCache": {
            "$ref": "#/$defs/size",
            "description": "the size of TCG's translation block cache (domainType qemu), such as 128MiB; QEMU's default is 1GiB, which a small host may not spare",
            "examples": ["128MiB"],
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
    arch = spec_arch(spec)
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


def _tseg_with_smm(spec: Spec) -> Iterator[Finding]:
    features = spec.get("features", {})
    if "smmTseg" not in features:
        return
    where = ("spec", "features", "smmTseg")
    if not features.get("smm"):
        yield Finding(where, "smmTseg is SMM's memory: set smm: true")
    kib = _kib(features["smmTseg"])
    if kib is not None and kib % 1024:
        yield Finding(where, "libvirt sets SMM's memory in whole MiB, such as 48MiB")


def _kib(size: str) -> int | None:
    """``size`` in KiB, or None where it is no whole number of KiB (_sizes says so)."""
    try:
        return size_in_kib(size)
    except ValueError:
        return None


def _sizes(spec: Spec) -> Iterator[Finding]:
    features = spec.get("features", {})
    sizes = {
        ("smmTseg",): features.get("smmTseg"),
        ("tcgTbCache",): features.get("tcgTbCache"),
        ("hpt", "maxPageSize"): features.get("hpt", {}).get("maxPageSize"),
    }
    for where, size in sizes.items():
        if size is None:
            continue
        try:
            kib = size_in_kib(size)
        except ValueError as error:
            yield Finding(("spec", "features", *where), str(error))
            continue
        if kib == 0:
            yield Finding(
                ("spec", "features", *where), f"{size} is no size here: give 1KiB or more"
            )


def _tcg_only(spec: Spec) -> Iterator[Finding]:
    if "tcgTbCache" in spec.get("features", {}) and spec["domainType"] != "qemu":
        yield Finding(
            ("spec", "features", "tcgTbCache"),
            "the translation block cache is TCG's: it needs domainType qemu",
        )


# --- lowering and lifting ------------------------------------------------------------------


def lower(spec: Spec, identity: Identity) -> Features | None:
    acpi, apic = acpi_and_apic(spec)
    features = spec.get("features", {})
    lowered = Features(
        acpi=acpi,
        apic=Apic(eoi=features.get("apicEoi")) if apic else None,
        pae=features.get("pae", False),
        hyperv=hyperv.lower(features["hyperv"]) if "hyperv" in features else hyperv_policy(spec),
        vmport=Vmport(state=features["vmport"]) if "vmport" in features else None,
        kvm=_lower_kvm(features.get("kvm", {})),
        **{field: _switch(features.get(key)) for key, field, _ in _SWITCHES},
        gic=Gic(version=str(features["gic"])) if "gic" in features else None,
        smm=_lower_smm(features),
        ioapic=Ioapic(driver=features["ioapic"]) if "ioapic" in features else None,
        **pseries.lower(features),
        tcg=_lower_tcg(features.get("tcgTbCache")),
    )
    # libvirt drops an empty <features/>, so writing one would read as drift after every apply.
    return None if lowered == Features() else lowered


def _lower_tcg(size: str | None) -> Tcg | None:
    return Tcg(tb_cache=MemorySize(unit="KiB", value=size_in_kib(size))) if size else None


def _switch(state: bool | None) -> Switch | None:
    return None if state is None else Switch(state=state)


def _lower_kvm(switches: dict[str, Any]) -> Kvm | None:
    if not switches:
        return None
    ring = switches.get("dirtyRing")
    return Kvm(
        **{field: _switch(switches.get(key)) for key, field, _ in _KVM_SWITCHES},
        dirty_ring=None if ring is None else DirtyRing(state=ring is not False, size=ring or None),
    )


def _lower_smm(features: dict[str, Any]) -> Smm | None:
    if "smm" not in features:
        return None
    tseg = features.get("smmTseg")
    tseg_size = Tseg(unit="MiB", value=size_in_kib(tseg) // 1024) if tseg else None
    return Smm(state=features["smm"], tseg=tseg_size)


def lift(features: Features | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    x86 = spec_arch(spec) in X86_ARCHES
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
    enlightenments = hyperv.lift(features.hyperv)
    if enlightenments != hyperv.lift(hyperv_policy(spec)):
        # A set other than the policy's is written out whole, so that lowering it again
        # gives the domain's own set, not the policy's.
        lifted["hyperv"] = enlightenments or {}
    if features.vmport and features.vmport.state is not None:
        lifted["vmport"] = features.vmport.state
    kvm = _lift_kvm(features.kvm) if features.kvm else {}
    if kvm:
        lifted["kvm"] = kvm
    # A switch without a state is on: libvirt stores it so (see libvirt_fills_in).
    lifted.update(
        {key: True for key, field, _ in _SWITCHES if getattr(features, field) == Switch()}
    )
    lifted.update(_switches(features, _SWITCHES))
    if features.gic and features.gic.version is not None:
        version = features.gic.version
        lifted["gic"] = int(version) if version.isdigit() else version
    if features.smm and features.smm.state is not None:
        lifted["smm"] = features.smm.state
        tseg = features.smm.tseg
        kib = (
            libvirt_size_in_kib(tseg.value, tseg.unit or _TSEG_DEFAULT_UNIT)
            if tseg and tseg.value is not None
            else None
        )
        if kib:
            lifted["smmTseg"] = format_kib(kib)
    if features.ioapic and features.ioapic.driver:
        lifted["ioapic"] = features.ioapic.driver
    lifted.update(pseries.lift(features))
    cache = features.tcg.tb_cache if features.tcg else None
    kib = libvirt_size_in_kib(cache.value, cache.unit) if cache and cache.value else None
    if kib:
        lifted["tcgTbCache"] = format_kib(kib)
    return lifted or None


def _lift_kvm(kvm: Kvm) -> dict[str, Any]:
    lifted: dict[str, Any] = _switches(kvm, _KVM_SWITCHES)
    ring = kvm.dirty_ring
    if ring and (ring.state is False or ring.size is not None):
        lifted["dirtyRing"] = ring.size if ring.state else False
    return lifted


def _switches(holder: Any, switches: tuple[tuple[str, str, str], ...]) -> dict[str, bool]:
    """The switches of ``holder`` that say on or off, by their spec key."""
    return {
        key: switch.state
        for key, field, _ in switches
        if (switch := getattr(holder, field)) is not None and switch.state is not None
    }


# --- what libvirt fills in -----------------------------------------------------------------


def libvirt_fills_in(live: Features | None, wanted: Features | None) -> Features | None:
    if live is None:
        return None
    # A switch without a state is on: libvirt stores it so (<vmcoreinfo/> comes back as
    # <vmcoreinfo state='on'/>).
    live = dataclasses.replace(
        live,
        **{
            field: Switch(state=True)
            for _, field, _ in _SWITCHES
            if getattr(live, field) == Switch()
        },
    )
    tseg = live.smm.tseg if live.smm else None
    if tseg and tseg.value is not None and tseg.unit != "MiB":
        # libvirt keeps SMM's memory in bytes and writes it in MiB.
        kib = libvirt_size_in_kib(tseg.value, tseg.unit or _TSEG_DEFAULT_UNIT)
        if kib is not None and kib % 1024 == 0:
            mib = Tseg(unit="MiB", value=kib // 1024)
            live = dataclasses.replace(live, smm=dataclasses.replace(live.smm, tseg=mib))
    live = dataclasses.replace(
        live,
        hpt=pseries.as_libvirt_stores_it(live.hpt),
        # libvirt keeps the cache size in KiB, whatever the unit it was given in.
        tcg=Tcg(tb_cache=with_size_in_kib(live.tcg.tb_cache)) if live.tcg else None,
    )
    if live.gic is not None and (wanted is None or wanted.gic is None):
        # libvirt gives every Arm virt machine a GIC, of the version the host's KVM (or
        # QEMU, under TCG) does best: the same guest as one that names none.
        live = dataclasses.replace(live, gic=None)
    if live == Features():
        # libvirt drops an empty <features/>; one that reads empty holds only elements the
        # mapping does not cover, which import reports by their own XPath.
        return None
    return dataclasses.replace(
        live, hyperv=hyperv.as_libvirt_stores_it(live.hyperv, wanted.hyperv if wanted else None)
    )


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    features = spec.get("features", {})
    for key, on, reason in zip(
        ("acpi", "apic"), acpi_and_apic(spec), (ACPI_REASON, APIC_REASON), strict=True
    ):
        if key not in features and on:
            yield PolicyDefault(("spec", "features", key), on, reason)
    if "hyperv" not in features:
        enlightenments = hyperv.lift(hyperv_policy(spec))
        if enlightenments:
            yield PolicyDefault(("spec", "features", "hyperv"), enlightenments, HYPERV_REASON)


FAMILY = Family(
    spec_field="features",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="features",
    lower=lower,
    lift=lift,
    policy_defaults=policy_defaults,
    checks=(
        _gic_on_arm_only,
        _eoi_needs_the_apic,
        _machine_needs,
        _tseg_with_smm,
        _tcg_only,
        _sizes,
        pseries.pseries_only,
        hyperv.passthrough_alone,
    ),
    libvirt_fills_in=libvirt_fills_in,
)
