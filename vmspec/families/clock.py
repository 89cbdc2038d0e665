"""``<clock>``: the offset of the guest's RTC and its timers (formatdomain "Time keeping").

The spec's ``clock`` is laid over the policy's: it names only the timers it changes,
and ``null`` for a timer removes the policy's (QEMU's own default then).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from vmspec.config.xmlmap import CONFIG, attr, children
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@dataclass(**CONFIG)
class Timer:
    TAG: ClassVar[str] = "timer"
    name: str | None = attr("name")
    tickpolicy: str | None = attr("tickpolicy")
    present: bool | None = attr("present")


@dataclass(**CONFIG)
class Clock:
    TAG: ClassVar[str] = "clock"
    offset: str | None = attr("offset")
    timers: tuple[Timer, ...] = children()


# --- policy: what vmspec writes where the spec says nothing, and why ----------------------


def policy_clock(spec: Spec) -> Clock:
    """Clock offset and timer policies, before the spec's own ``clock``."""
    windows = spec.get("osType", "linux") == "windows"
    # Windows keeps the RTC in local time; everyone else expects UTC.
    offset = "localtime" if windows else "utc"
    # In the order virt-install writes them, so that adopting the VMs people made with it
    # leaves their definitions as they were.
    timers = [
        # Missed RTC ticks are caught up, which keeps Windows' and Linux' wall clock right after a pause.
        Timer(name="rtc", tickpolicy="catchup"),
        # A late PIT tick is delivered late rather than dropped, so guest time does not fall behind.
        Timer(name="pit", tickpolicy="delay"),
        # HPET emulation costs CPU and makes guests pick a worse clocksource than kvmclock.
        Timer(name="hpet", present=False),
    ]
    if windows and spec["domainType"] == "kvm":
        # Hyper-V's reference clock is Windows' cheapest stable time source (KVM only).
        timers.append(Timer(name="hypervclock", present=True))
    return Clock(offset=offset, timers=tuple(timers))


# A domain without <clock> is stored by libvirt as <clock offset='utc'/>.
LIBVIRT_CLOCK = Clock(offset="utc")

_TICKPOLICY = {
    "enum": ["delay", "catchup", "merge", "discard"],
    "description": "what QEMU does with ticks the guest missed: delay (deliver them late), catchup (deliver them faster), merge (one for all), discard",
}
_TIMER = {
    "type": ["object", "null"],
    "properties": {"present": {"type": "boolean"}, "tickpolicy": _TICKPOLICY},
    "additionalProperties": False,
    "minProperties": 1,
    "description": "a timer's settings, laid over the policy's; null: no <timer> element for it at all (the policy's left out, QEMU's own default)",
}
_TIMER_NAMES = ("platform", "pit", "rtc", "hpet", "tsc", "kvmclock", "hypervclock")

SCHEMA = {
    "type": "object",
    "description": (
        "the guest's clock, laid over the policy's: offset utc (localtime for osType "
        "windows), timers rtc catchup, pit delay, no hpet (and hypervclock for Windows on kvm)"
    ),
    "properties": {
        "offset": {
            "enum": ["utc", "localtime"],
            "description": "what the guest's RTC keeps: utc, or the host's local time (Windows' habit)",
        },
        "timers": {
            "type": "object",
            "properties": {name: _TIMER for name in _TIMER_NAMES},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
    "examples": [
        {"timers": {"hpet": {"present": True}, "pit": None}},
        {"offset": "localtime", "timers": {"rtc": {"tickpolicy": "delay"}}},
        {"timers": {"kvmclock": {"present": False}}},
    ],
}


def lower(spec: Spec, identity: Identity) -> Clock:
    """The policy's clock with the spec's own ``clock`` laid over it."""
    wanted = policy_clock(spec)
    timers = {timer.name: timer for timer in wanted.timers}
    override = spec.get("clock", {})
    for name, setting in override.get("timers", {}).items():
        if setting is None:  # the spec wants no such timer at all: QEMU's default
            timers.pop(name, None)
            continue
        timers[name] = Timer(
            name=name, tickpolicy=setting.get("tickpolicy"), present=setting.get("present")
        )
    return Clock(offset=override.get("offset", wanted.offset), timers=tuple(timers.values()))


def lift(clock: Clock | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    clock = clock or LIBVIRT_CLOCK
    wanted = policy_clock(spec)
    override: dict[str, Any] = {}
    if clock.offset != wanted.offset:
        override["offset"] = clock.offset
    policy_timers = {timer.name: timer for timer in wanted.timers}
    timers: dict[str, Any] = {}
    for timer in clock.timers:
        if policy_timers.get(timer.name) != timer:
            setting: dict[str, Any] = {}
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
    return override or None


# --- semantic checks -------------------------------------------------------------------------


def _tickpolicy_where_taken(spec: Spec) -> Iterator[Finding]:
    for name, timer in spec.get("clock", {}).get("timers", {}).items():
        if name in ("kvmclock", "hypervclock") and timer and "tickpolicy" in timer:
            # libvirt: "timer kvmclock doesn't support setting of timer tickpolicy".
            yield Finding(
                ("spec", "clock", "timers", name, "tickpolicy"),
                f"the {name} timer has no tickpolicy",
            )


FAMILY = Family(
    spec_field="clock",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="clock",
    lower=lower,
    lift=lift,
    checks=(_tickpolicy_where_taken,),
)
