"""``<cpu>``: mode, model, topology and features (formatdomain "CPU model and topology").

The guest's NUMA cells sit inside ``<cpu>`` but are a family of their own
(numa.py, at ``Place.CPU``). This family sits at ``Place.DOMAIN``: it is lowered first,
and the families inside ``<cpu>`` then fill the ``Cpu`` it gave (``with_inner``), or a
bare ``<cpu>`` of their own when it gave none (vmspec.families.lowered_domain_fields).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.arches import DEFAULT_ARCH, PPC64_ARCHES, QEMU_DEFAULT_CPU_MODELS, X86_ARCHES, spec_arch
from vmspec.config.xmlmap import ON_OFF, attr, child, children, config_class, text
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.families.numa import Numa
from vmspec.problems import Finding


@config_class
class CpuModel:
    TAG: ClassVar[str] = "model"
    fallback: str | None = attr("fallback")
    name: str | None = text()


@config_class
class CpuTopology:
    TAG: ClassVar[str] = "topology"
    sockets: int | None = attr("sockets")
    dies: int | None = attr("dies")
    cores: int | None = attr("cores")
    threads: int | None = attr("threads")


@config_class
class CpuCache:
    TAG: ClassVar[str] = "cache"
    level: int | None = attr("level")
    mode: str | None = attr("mode")


@config_class
class CpuMaxPhysAddr:
    TAG: ClassVar[str] = "maxphysaddr"
    mode: str | None = attr("mode")
    bits: int | None = attr("bits")


@config_class
class CpuFeature:
    TAG: ClassVar[str] = "feature"
    policy: str | None = attr("policy")
    name: str | None = attr("name")


@config_class
class Cpu:
    TAG: ClassVar[str] = "cpu"
    mode: str | None = attr("mode")
    match: str | None = attr("match")
    check: str | None = attr("check")
    migratable: bool | None = attr("migratable", codec=ON_OFF)
    model: CpuModel | None = child()
    topology: CpuTopology | None = child()
    cache: CpuCache | None = child()
    maxphysaddr: CpuMaxPhysAddr | None = child()
    features: tuple[CpuFeature, ...] = children()
    numa: Numa | None = child()


# --- policy: what vmspec writes where the spec says nothing, and why ----------------------


# Why the policy picks the mode where the spec names none (vmspec explain shows them).
CPU_MODE_NESTED_KVM = (
    "the host is itself a VM: host-model and host-passthrough fail to start there "
    "('failed to set MSR')"
)
CPU_MODE_KVM = (
    "default for kvm: host-model gives the guest the host's features yet stays "
    "migratable between alike hosts"
)
CPU_MODE_TCG = "TCG emulates its own default CPU; asking for the host's would be meaningless"
CPU_MODE_CUSTOM = "a model named without a mode is libvirt's custom mode: that model, as named"


def cpu_mode(spec: Spec, *, nested_kvm_host: bool = False) -> str | None:
    """The CPU mode to emit, or None for no mode (no ``<cpu>``, unless a topology or the
    families inside ``<cpu>`` need one)."""
    return cpu_mode_and_reason(spec, nested_kvm_host=nested_kvm_host)[0]


def cpu_mode_and_reason(spec: Spec, *, nested_kvm_host: bool = False) -> tuple[str | None, str]:
    """The CPU mode and why: the policy's reason, or "" where the spec chose."""
    cpu = spec.get("cpu", {})
    if "mode" in cpu:
        return (None if cpu["mode"] == "none" else cpu["mode"]), ""
    if "model" in cpu:
        return "custom", CPU_MODE_CUSTOM
    if spec["domainType"] == "kvm" and nested_kvm_host:
        return None, CPU_MODE_NESTED_KVM
    if spec["domainType"] == "kvm":
        return "host-model", CPU_MODE_KVM
    return None, CPU_MODE_TCG


def chose_no_cpu_for_nested_kvm(spec: Spec, *, nested_kvm_host: bool) -> bool:
    """Whether the nested-KVM rule above decided the CPU (the plan says so, and why)."""
    cpu = spec.get("cpu", {})
    return (
        nested_kvm_host and spec["domainType"] == "kvm" and "mode" not in cpu and "model" not in cpu
    )


# A custom model's settings where the spec names none, each with why.
CUSTOM_DEFAULTS = {
    "fallback": ("forbid", "fail to start rather than quietly run a different CPU model"),
    "match": (
        "exact",
        "the guest sees the model as named, no more and no less (libvirt's default)",
    ),
    "check": (
        "partial",
        "a host without the named model's features refuses to start the guest, rather "
        "than start it with the features quietly missing",
    ),
}
DEFAULT_FALLBACK, DEFAULT_MATCH, DEFAULT_CHECK = (
    CUSTOM_DEFAULTS[word][0] for word in ("fallback", "match", "check")
)


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    cpu = spec.get("cpu", {})
    mode, reason = cpu_mode_and_reason(spec, nested_kvm_host=identity.nested_kvm_host)
    if "mode" not in cpu:
        yield PolicyDefault(("spec", "cpu", "mode"), mode or "none", reason)
    if mode == "custom":
        for word, (value, why) in CUSTOM_DEFAULTS.items():
            if word not in cpu:
                yield PolicyDefault(("spec", "cpu", word), value, why)


# On POWER, host-model with a model is the host's CPU in an older generation's
# compatibility mode (so that it migrates to hosts of that generation).
POWER_COMPAT_MODELS = ("power6", "power7", "power8", "power9", "power10")

# The one cache QEMU emulates is the L3 (libvirt refuses mode emulate at other levels).
EMULATED_CACHE_LEVEL = 3
# Modes that run the host's own CPU: passthrough of its caches and address bits, and
# migratable, are theirs (libvirt refuses them with a model).
HOST_CPU_MODES = ("host-passthrough", "maximum")

# --- what libvirt 9.0 fills in on define (qemuDomainDefCPUPostParse) -----------------------

LIBVIRT_COMPAT_FALLBACK = "allow"  # of a host-model's (POWER compatibility) model
# The check libvirt writes where a mode's definition names none.
LIBVIRT_CHECK = {"host-model": "partial", "host-passthrough": "none", "maximum": "none"}
# Every arch's default model: what libvirt writes for a domain without <cpu> (see
# vmspec.arches). The value alone cannot tell the arch; no arch's QEMU runs another's model.
_QEMU_DEFAULT_MODELS = frozenset(
    name for names in QEMU_DEFAULT_CPU_MODELS.values() for name in names
)

_CHECK_SCHEMA = {
    "enum": ["none", "partial", "full"],
    "description": (
        "how strictly libvirt holds the guest to this CPU: none (QEMU runs what it can), "
        "partial (the host must have the model's features before start), full (also "
        "compared with what QEMU really runs after start); default: partial for a named "
        "model, and libvirt's own per mode otherwise (host-model partial, host-passthrough none)"
    ),
}

SCHEMA = {
    "type": "object",
    "description": (
        "the guest's CPU: the host's own (host-model, the default on kvm; host-passthrough), "
        "a named model (custom), or QEMU's default (none, the default on qemu and for kvm "
        "inside a VM); features on top, and the topology the vCPUs are laid out in"
    ),
    "properties": {
        "mode": {
            "enum": ["host-model", "host-passthrough", "custom", "none"],
            "description": "custom needs a model; a model alone means custom; on POWER, host-model with a model (power9) is the host CPU in that generation's compatibility mode",
        },
        "model": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
            "maxLength": 64,
            "description": "a CPU model name such as Westmere or EPYC-Rome",
        },
        "fallback": {
            "enum": ["allow", "forbid"],
            "description": f"custom only: whether libvirt may run a close model where the hypervisor lacks this one; default: {DEFAULT_FALLBACK}",
        },
        "match": {
            "enum": ["minimum", "exact", "strict"],
            "description": f"custom only: minimum (the model at least, more where the host has it), exact, or strict (the host must match it); default: {DEFAULT_MATCH}",
        },
        "check": _CHECK_SCHEMA,
        "migratable": {
            "type": "boolean",
            "description": "host-passthrough only: false also passes through what QEMU cannot migrate (invtsc), for a guest that never moves; default: on, where QEMU knows it",
        },
        "cache": {
            "enum": ["emulate", "passthrough", "disable"],
            "description": f"the CPU caches the guest sees: emulate (an L{EMULATED_CACHE_LEVEL} cache QEMU describes), passthrough (the host's, host-passthrough only) or disable (none described); default: QEMU's",
        },
        "maxphysaddr": {
            "oneOf": [
                {"const": "passthrough", "description": "the host's (host-passthrough only)"},
                {
                    "type": "integer",
                    "minimum": 32,
                    "maximum": 52,
                    "description": "this many bits, emulated",
                },
            ],
            "description": "x86 only: the physical address bits the guest sees (how much memory it can address): passthrough, or a number of bits",
        },
        "features": {
            "type": "object",
            "propertyNames": {
                "pattern": "^[a-z0-9][a-z0-9._-]*$",
                "maxLength": 64,
                "description": "a CPU feature name such as aes or vmx",
            },
            "additionalProperties": {"enum": ["force", "require", "optional", "disable", "forbid"]},
            "description": "CPU features by name (<feature policy name>): force (on even where the host lacks it), require (on; the guest fails to start without it), optional, disable (off), forbid (refuse to start on a host that has it)",
        },
        "topology": {
            "type": "object",
            "properties": {
                "sockets": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "CPU sockets the guest sees",
                },
                "cores": {"type": "integer", "minimum": 1, "description": "cores per socket"},
                "threads": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "threads per core (2: SMT, hyper-threading)",
                },
            },
            "additionalProperties": False,
            "required": ["sockets", "cores", "threads"],
            "description": "the guest's CPU topology (<topology>): sockets times cores times threads is the number of vCPUs (spec.vcpus)",
        },
    },
    "additionalProperties": False,
    "examples": [
        {"mode": "none"},
        {"model": "qemu64", "features": {"svm": "disable", "lahf_lm": "require"}},
        {"model": "core2duo", "fallback": "allow", "check": "none"},
        {"mode": "none", "topology": {"sockets": 1, "cores": 2, "threads": 1}},
        {"model": "qemu64", "match": "minimum", "cache": "disable", "maxphysaddr": 40},
    ],
}


def lower(spec: Spec, identity: Identity) -> Cpu | None:
    """The ``<cpu>`` the spec says, without the families inside it (see ``with_inner``)."""
    cpu = spec.get("cpu", {})
    mode = cpu_mode(spec, nested_kvm_host=identity.nested_kvm_host)
    topology = _topology(cpu.get("topology"))
    if mode is None:
        # mode none: no <cpu> at all, unless a topology needs one (QEMU's default model then).
        return None if topology is None else Cpu(topology=topology)
    features = tuple(
        CpuFeature(policy=feature_policy, name=name)
        for name, feature_policy in sorted(cpu.get("features", {}).items())
    )
    if mode == "custom":
        return Cpu(
            mode="custom",
            match=cpu.get("match", DEFAULT_MATCH),
            check=cpu.get("check", DEFAULT_CHECK),
            model=CpuModel(fallback=cpu.get("fallback", DEFAULT_FALLBACK), name=cpu["model"]),
            topology=topology,
            cache=_cache(cpu.get("cache")),
            maxphysaddr=_maxphysaddr(cpu.get("maxphysaddr")),
            features=features,
        )
    # libvirt writes its own check for these modes: vmspec writes only another one.
    check = cpu.get("check")
    check = None if check == LIBVIRT_CHECK.get(mode) else check
    # libvirt writes fallback='allow' into a POWER compatibility model.
    compat = CpuModel(name=cpu["model"]) if "model" in cpu else None
    return Cpu(
        mode=mode,
        check=check,
        migratable=cpu.get("migratable"),
        model=compat,
        topology=topology,
        cache=_cache(cpu.get("cache")),
        maxphysaddr=_maxphysaddr(cpu.get("maxphysaddr")),
        features=features,
    )


def _cache(mode: str | None) -> CpuCache | None:
    if mode is None:
        return None
    return CpuCache(level=EMULATED_CACHE_LEVEL if mode == "emulate" else None, mode=mode)


def _maxphysaddr(bits: int | str | None) -> CpuMaxPhysAddr | None:
    if bits is None:
        return None
    if bits == "passthrough":
        return CpuMaxPhysAddr(mode="passthrough")
    return CpuMaxPhysAddr(mode="emulate", bits=int(bits))


def _topology(topology: dict[str, int] | None) -> CpuTopology | None:
    if not topology:
        return None
    return CpuTopology(
        sockets=topology["sockets"], dies=1, cores=topology["cores"], threads=topology["threads"]
    )


def with_inner(cpu: Cpu | None, inner: dict[str, Any]) -> Cpu | None:
    """``cpu`` with the fields of the families inside ``<cpu>`` (NUMA cells); a bare
    ``<cpu>`` for them where the spec has no mode or topology, none when all are empty."""
    filled = dataclasses.replace(cpu or Cpu(), **inner)
    return None if filled == Cpu() else filled


def is_qemu_default_cpu(cpu: Cpu, arch: str = DEFAULT_ARCH) -> bool:
    """No <cpu> means QEMU's default model, which libvirt writes out as custom qemu64 (on
    x86; each arch has its own, see vmspec.arches)."""
    return _is_default_model(cpu, QEMU_DEFAULT_CPU_MODELS.get(arch, ()))


def _is_default_model(cpu: Cpu, models: Any) -> bool:
    return (
        cpu.mode == "custom"
        and cpu.check == "none"
        and cpu.model is not None
        and cpu.model.name in models
        and not cpu.features
        and cpu.topology is None
        and cpu.numa is None
        and cpu.cache is None
        and cpu.maxphysaddr is None
    )


def _names_default_model(cpu: Cpu, models: Any) -> bool:
    """A ``<cpu>`` of topology or NUMA cells alone, as libvirt stores it: with QEMU's
    default model written in (custom qemu64, check none)."""
    bare = dataclasses.replace(cpu, topology=None, numa=None)
    return _is_default_model(bare, models) and bare.match in (None, "exact")


def lift(cpu: Cpu | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    """The spec's cpu for a ``<cpu>`` whose inner families' fields are left out (the
    generic lift leaves them to those families)."""
    default_models = QEMU_DEFAULT_CPU_MODELS.get(spec_arch(spec), ())
    topology = None
    if cpu is not None and _names_default_model(cpu, default_models):
        topology = cpu.topology  # what libvirt writes for a <cpu> of a topology alone
        cpu = None
    default_mode = cpu_mode(spec)
    if cpu is None or cpu == Cpu():
        lifted: dict[str, Any] = {} if default_mode is None else {"mode": "none"}
        if topology is not None:
            lifted = {"mode": "none", "topology": _lifted_topology(topology)}
        return lifted or None
    lifted = {}
    mode = cpu.mode or "custom"
    named = mode == "custom" and cpu.model is not None and cpu.model.name
    if named:
        lifted["model"] = cpu.model.name
        # What the domain leaves unsaid is the policy's to write (import reports it as added).
        if cpu.model.fallback not in (None, DEFAULT_FALLBACK):
            lifted["fallback"] = cpu.model.fallback
        if cpu.match not in (None, DEFAULT_MATCH):
            lifted["match"] = cpu.match
        if cpu.check not in (None, DEFAULT_CHECK):
            lifted["check"] = cpu.check
    elif mode != default_mode or (cpu.model and cpu.model.name):
        lifted["mode"] = mode  # said with a POWER compatibility model, or it would be custom
    if mode == "host-model" and cpu.model is not None and cpu.model.name:
        lifted["model"] = cpu.model.name
    if mode != "custom" and cpu.check not in (None, LIBVIRT_CHECK.get(mode)):
        lifted["check"] = cpu.check
    if cpu.migratable is False:
        lifted["migratable"] = False  # on is QEMU's default, where it knows migratable
    if cpu.cache is not None:
        lifted["cache"] = cpu.cache.mode
    physical = cpu.maxphysaddr
    if physical is not None and not (physical.mode == "emulate" and physical.bits is None):
        lifted["maxphysaddr"] = physical.bits if physical.mode == "emulate" else physical.mode
    if cpu.features:
        lifted["features"] = {feature.name: feature.policy for feature in cpu.features}
    if cpu.topology:
        lifted["topology"] = _lifted_topology(cpu.topology)
    if mode == "custom" and not named:
        lifted = {"mode": "none", **{k: v for k, v in lifted.items() if k == "topology"}}
    return lifted or None


def _lifted_topology(topology: CpuTopology) -> dict[str, Any]:
    return {"sockets": topology.sockets, "cores": topology.cores, "threads": topology.threads}


def cannot_say(cpu: Cpu | None) -> tuple[str, ...]:
    physical = cpu.maxphysaddr if cpu else None
    if physical is not None and physical.mode == "emulate" and physical.bits is None:
        return ("/domain/cpu/maxphysaddr: emulate without bits (libvirt refuses to start it)",)
    return ()


def as_libvirt_stores_it(live: Cpu | None, wanted: Cpu | None) -> Cpu | None:
    """What libvirt 9.0 writes into a ``<cpu>`` on define: QEMU's default model for a
    domain without one (or around a topology or NUMA cells alone), and the check of
    the mode where the definition names none."""
    if live is None:
        return None
    if live.mode == "host-model" and live.model == CpuModel(fallback=LIBVIRT_COMPAT_FALLBACK):
        # A host-model's <model fallback='allow'/>: libvirt's default for it, written by hand.
        live = dataclasses.replace(live, model=None)
    if wanted is None:
        empty = live == Cpu()  # <cpu/>: no CPU said at all
        return None if empty or _is_default_model(live, _QEMU_DEFAULT_MODELS) else live
    if (
        wanted.mode is None
        and wanted.model is None
        and _names_default_model(live, _QEMU_DEFAULT_MODELS)
    ):
        # QEMU's default model written into a <cpu> of topology or NUMA cells alone, which
        # is what runs without one.
        return dataclasses.replace(live, mode=None, match=None, check=None, model=None)
    if wanted.check is None and live.check == LIBVIRT_CHECK.get(live.mode or ""):
        live = dataclasses.replace(live, check=None)
    if _compat_fallback_filled_in(live, wanted):
        live = dataclasses.replace(live, model=dataclasses.replace(live.model, fallback=None))
    if wanted.migratable is None and live.mode in HOST_CPU_MODES:
        # libvirt writes migratable on where QEMU knows the property, off where not.
        live = dataclasses.replace(live, migratable=None)
    return live


def _compat_fallback_filled_in(live: Cpu, wanted: Cpu) -> bool:
    return (
        live.mode == "host-model"
        and live.model is not None
        and live.model.fallback == LIBVIRT_COMPAT_FALLBACK
        and wanted.model is not None
        and wanted.model.fallback is None
    )


def as_it_runs(running: Cpu | None, wanted: Cpu | None) -> Cpu | None:
    """QEMU expands the CPU to the model it really runs (host-model becomes a named model
    with features), and does so again at the next start."""
    return wanted


# --- semantic checks -------------------------------------------------------------------------


def _mode_and_model(spec: Spec) -> Iterator[Finding]:
    cpu = spec.get("cpu")
    if cpu is None:
        return
    mode = cpu.get("mode", "custom" if "model" in cpu else None)
    where = ("spec", "cpu")
    if mode == "custom" and "model" not in cpu:
        yield Finding((*where, "mode"), "mode custom needs a model (for example model: Westmere)")
    compat = mode == "host-model" and spec_arch(spec) in PPC64_ARCHES
    if mode in ("host-model", "host-passthrough") and "model" in cpu and not compat:
        message = f"a model cannot be combined with mode {mode}: use mode custom for a named model"
        yield Finding((*where, "model"), message)
    if compat and cpu.get("model", POWER_COMPAT_MODELS[0]) not in POWER_COMPAT_MODELS:
        message = f"a POWER host-model's model is the generation it presents: {', '.join(POWER_COMPAT_MODELS)}"
        yield Finding((*where, "model"), message)
    if mode == "host-passthrough" and spec["domainType"] == "qemu":
        message = (
            "host-passthrough needs domainType kvm: TCG emulates the CPU and cannot pass the "
            "host's through (use host-model, a custom model, or none)"
        )
        yield Finding((*where, "mode"), message)
    if mode == "none" and "model" in cpu:
        message = "a model cannot be combined with mode none: use mode custom for a named model"
        yield Finding((*where, "model"), message)
    for key in ("fallback", "match"):
        if mode != "custom" and key in cpu:
            message = f"{key} is a named model's (mode custom): remove it, or name a model"
            yield Finding((*where, key), message)
    yield from _host_cpu_only(cpu, mode, spec_arch(spec))
    # Without a <cpu> element (mode none, or TCG's default) these would be silently dropped.
    no_cpu_element = mode == "none" or (mode is None and spec["domainType"] == "qemu")
    if no_cpu_element and "features" in cpu:
        message = "CPU features need a CPU mode (custom, host-model or host-passthrough)"
        message += (
            ", not none"
            if mode == "none"
            else "; under TCG without one there is no <cpu> to carry them"
        )
        yield Finding((*where, "features"), message)
    if no_cpu_element and "check" in cpu:
        message = "check is how a CPU mode is checked: with mode none there is no CPU to check"
        yield Finding((*where, "check"), message)
    for key in ("cache", "maxphysaddr"):
        if no_cpu_element and key in cpu:
            message = f"{key} needs a CPU mode (custom, host-model or host-passthrough)"
            yield Finding((*where, key), message)


def _host_cpu_only(cpu: dict[str, Any], mode: str | None, arch: str) -> Iterator[Finding]:
    """What only a passed-through host CPU has (libvirt's qemu driver refuses it on others)."""
    where = ("spec", "cpu")
    host = mode in HOST_CPU_MODES
    if "migratable" in cpu and not host:
        message = "migratable is host-passthrough's: other modes are migratable by what they are"
        yield Finding((*where, "migratable"), message)
    if cpu.get("cache") == "passthrough" and not host:
        message = (
            "the host's caches pass through to a host-passthrough CPU only: use emulate or disable"
        )
        yield Finding((*where, "cache"), message)
    if cpu.get("maxphysaddr") == "passthrough" and not host:
        message = "the host's address bits pass through to a host-passthrough CPU only: give a number of bits"
        yield Finding((*where, "maxphysaddr"), message)
    if "maxphysaddr" in cpu and arch not in X86_ARCHES:
        yield Finding((*where, "maxphysaddr"), f"maxphysaddr is x86's, not {arch}'s")


def _topology_adds_up(spec: Spec) -> Iterator[Finding]:
    topology = spec.get("cpu", {}).get("topology")
    if topology is None:
        return
    product = topology["sockets"] * topology["cores"] * topology["threads"]
    if product != spec["vcpus"]:
        message = (
            f"topology gives {topology['sockets']}x{topology['cores']}x{topology['threads']} "
            f"= {product} vCPUs but vcpus is {spec['vcpus']}; they must agree"
        )
        yield Finding(("spec", "cpu", "topology"), message)


FAMILY = Family(
    spec_field="cpu",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="cpu",
    lower=lower,
    lift=lift,
    checks=(_mode_and_model, _topology_adds_up),
    policy_defaults=policy_defaults,
    cannot_say=cannot_say,
    libvirt_fills_in=as_libvirt_stores_it,
    libvirt_resolves_at_start=as_it_runs,
)
