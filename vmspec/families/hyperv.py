"""``<features><hyperv>``: the Hyper-V enlightenments that make Windows a good KVM guest
(formatdomain "Hypervisor features"), part of the features family (features.py).

The spec states the whole set, each on or off, or ``passthrough: true`` for every one
the host's KVM has; the policy gives Windows on KVM the set it needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import ON_OFF, attr, child, config_class
from vmspec.families.family import Spec
from vmspec.problems import Finding


@config_class
class Switch:
    """A feature that is on or off (``<pmu state='off'/>``, stimer's ``<direct>``); the
    tag is the field's. (The features family's too: it imports this module.)"""

    TAG: ClassVar[str] = "switch"
    state: bool | None = attr("state", codec=ON_OFF)


@config_class
class HypervFeature:
    """One enlightenment such as ``<relaxed state='on'/>``; the tag is the field's."""

    TAG: ClassVar[str] = "feature"
    state: bool | None = attr("state", codec=ON_OFF)
    retries: int | None = attr("retries")  # spinlocks
    value: str | None = attr("value")  # vendor_id
    direct: Switch | None = child("direct")  # stimer: direct mode (interrupts, not messages)


@config_class
class Hyperv:
    """In libvirt's formatting order."""

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
    vendor_id: HypervFeature | None = child("vendor_id")
    frequencies: HypervFeature | None = child("frequencies")
    reenlightenment: HypervFeature | None = child("reenlightenment")
    tlbflush: HypervFeature | None = child("tlbflush")
    ipi: HypervFeature | None = child("ipi")
    evmcs: HypervFeature | None = child("evmcs")
    avic: HypervFeature | None = child("avic")


# --- policy --------------------------------------------------------------------------------


HYPERV_REASON = (
    "Windows on KVM: without the Hyper-V enlightenments Windows spins on locks and burns "
    "host CPU while idle (TCG implements none, so a qemu guest gets none)"
)


def hyperv_policy(spec: Spec) -> Hyperv | None:
    """Hyper-V enlightenments for Windows on KVM (HYPERV_REASON)."""
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

# The enlightenments that are only on or off, with what each gives Windows.
_ON_OFF = (
    ("relaxed", "no watchdog BSODs when a vCPU is descheduled"),
    ("vapic", "fewer exits for the virtual APIC"),
    ("vpindex", "virtual processor indexes (synic and tlbflush need it)"),
    ("runtime", "vCPU run time, for the guest's scheduler"),
    ("synic", "the synthetic interrupt controller (VMBus; stimer needs it)"),
    ("stimer", "synthetic timers, far cheaper than the emulated ones"),
    ("reset", "reset through the Hyper-V MSR"),
    ("frequencies", "the TSC and APIC frequencies, read rather than measured"),
    ("reenlightenment", "notice of TSC frequency changes (after a migration)"),
    ("tlbflush", "paravirtual TLB flushes"),
    ("ipi", "paravirtual inter-processor interrupts"),
    ("evmcs", "enlightened VMCS, for nested Hyper-V (Intel only)"),
    ("avic", "AMD's AVIC kept usable with synic"),
)

SCHEMA = {
    "type": "object",
    "description": "Hyper-V enlightenments, the whole set: replaces the policy's (all of them for Windows on KVM); {} for none",
    "properties": {
        "passthrough": {
            "const": True,
            "description": "every enlightenment the host's KVM has (mode passthrough), alone",
        },
        **{
            name: {"type": "boolean", "description": f"{what}: on (true) or off (false)"}
            for name, what in _ON_OFF
        },
        "spinlocks": {
            # false or a number (JSON Schema's bounds and patterns pass over other types);
            # a oneOf would word every mistake as "not valid under any of the given schemas".
            "type": ["integer", "boolean"],
            "minimum": 4095,
            "maximum": 4294967295,
            "not": {"const": True},
            "description": "spinlock retries before a vCPU yields (Microsoft recommends 8191), or false for off; leave it out for none",
        },
        "stimerDirect": {
            "type": "boolean",
            "description": "synthetic timers in direct mode (interrupts, not messages); needs stimer",
        },
        "vendorId": {
            "type": ["string", "boolean"],
            "pattern": "^[^,]{1,12}$",
            "not": {"const": True},
            "description": "the hypervisor vendor the guest sees (up to 12 characters), or false for off",
        },
    },
    "additionalProperties": False,
    "examples": [{"relaxed": True, "vapic": True, "spinlocks": 8191}],
}


def passthrough_alone(spec: Spec) -> Iterator[Finding]:
    hyperv = spec.get("features", {}).get("hyperv", {})
    if hyperv.get("passthrough") and len(hyperv) > 1:
        yield Finding(
            ("spec", "features", "hyperv", "passthrough"),
            "passthrough takes the host's whole set: leave out the other enlightenments",
        )
    if "stimerDirect" in hyperv and not hyperv.get("stimer"):
        yield Finding(
            ("spec", "features", "hyperv", "stimerDirect"),
            "stimerDirect is a mode of stimer: set stimer: true",
        )


# --- lowering and lifting ------------------------------------------------------------------


def lower(enlightenments: dict[str, Any]) -> Hyperv | None:
    """The spec's own set of Hyper-V enlightenments (``{}``: none)."""
    if not enlightenments:
        return None
    if enlightenments.get("passthrough"):
        return Hyperv(mode="passthrough")
    settings = {
        name: HypervFeature(state=enlightenments[name])
        for name, _ in _ON_OFF
        if name in enlightenments
    }
    if "stimerDirect" in enlightenments:
        direct = Switch(state=enlightenments["stimerDirect"])
        settings["stimer"] = dataclasses.replace(settings["stimer"], direct=direct)
    if "spinlocks" in enlightenments:
        retries = enlightenments["spinlocks"]
        settings["spinlocks"] = HypervFeature(
            state=retries is not False, retries=None if retries is False else retries
        )
    if "vendorId" in enlightenments:
        vendor = enlightenments["vendorId"]
        settings["vendor_id"] = HypervFeature(
            state=vendor is not False, value=None if vendor is False else vendor
        )
    return Hyperv(mode="custom", **settings)


def lift(hyperv: Hyperv | None) -> dict[str, Any] | None:
    """A ``<hyperv>`` set as the spec says it; None when there is none. What it cannot
    say (an enlightenment without a state) the lift's self-check names."""
    if hyperv is None:
        return None
    if hyperv.mode == "passthrough":
        return {"passthrough": True}
    lifted: dict[str, Any] = {}
    for name, _ in _ON_OFF:
        feature = getattr(hyperv, name)
        if feature is not None and feature.state is not None:
            lifted[name] = feature.state
    stimer = hyperv.stimer
    if stimer and stimer.direct and stimer.direct.state is not None:
        lifted["stimerDirect"] = stimer.direct.state
    spinlocks, vendor = hyperv.spinlocks, hyperv.vendor_id
    if spinlocks and (spinlocks.state is False or spinlocks.retries is not None):
        lifted["spinlocks"] = spinlocks.retries if spinlocks.state else False
    if vendor and (vendor.state is False or vendor.value):
        lifted["vendorId"] = vendor.value if vendor.state else False
    return lifted or None


def as_libvirt_stores_it(live: Hyperv | None, wanted: Hyperv | None) -> Hyperv | None:
    """``<hyperv>`` without a mode (virt-install writes none) is libvirt's custom mode."""
    if not (live and live.mode is None and wanted and wanted.mode == "custom"):
        return live
    return dataclasses.replace(live, mode="custom")
