"""``<clock>``: the offset of the guest's RTC and its timers (formatdomain "Time keeping").

The spec's ``clock`` is laid over the policy's: it names only the timers it changes,
and ``null`` for a timer removes the policy's (QEMU's own default then).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, child, children, config_class
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding


@config_class
class Catchup:
    """How a timer with tickpolicy catchup catches up (QEMU's driftfix)."""

    TAG: ClassVar[str] = "catchup"
    threshold: int | None = attr("threshold")
    slew: int | None = attr("slew")
    limit: int | None = attr("limit")


@config_class
class Timer:
    TAG: ClassVar[str] = "timer"
    name: str | None = attr("name")
    tickpolicy: str | None = attr("tickpolicy")
    present: bool | None = attr("present")
    track: str | None = attr("track")
    frequency: int | None = attr("frequency")
    mode: str | None = attr("mode")
    catchup: Catchup | None = child()


@config_class
class Clock:
    TAG: ClassVar[str] = "clock"
    offset: str | None = attr("offset")
    adjustment: str | None = attr("adjustment")  # seconds, or reset
    basis: str | None = attr("basis")
    timezone: str | None = attr("timezone")
    start: int | None = attr("start")
    timers: tuple[Timer, ...] = children()


# --- policy: what vmspec writes where the spec says nothing, and why ----------------------


def policy_clock(spec: Spec) -> Clock:
    """Clock offset and timer policies, before the spec's own ``clock``."""
    return policy_clock_and_reasons(spec)[0]


def policy_clock_and_reasons(spec: Spec) -> tuple[Clock, dict[str, str]]:
    """The policy's clock, and why it says each thing: by "offset" and by timer name."""
    windows = spec.get("osType", "linux") == "windows"
    offset = "localtime" if windows else "utc"
    reasons = {
        "offset": "Windows keeps the RTC in local time"
        if windows
        else "everyone but Windows expects the RTC in UTC"
    }
    # In the order virt-install writes them, so that adopting the VMs people made with it
    # leaves their definitions as they were.
    timers = [
        (
            Timer(name="rtc", tickpolicy="catchup"),
            "missed RTC ticks are caught up, which keeps Windows' and Linux' wall clock "
            "right after a pause",
        ),
        (
            Timer(name="pit", tickpolicy="delay"),
            "a late PIT tick is delivered late rather than dropped, so guest time does not "
            "fall behind",
        ),
        (
            Timer(name="hpet", present=False),
            "HPET emulation costs CPU and makes guests pick a worse clocksource than kvmclock",
        ),
    ]
    if windows and spec["domainType"] == "kvm":
        timers.append(
            (
                Timer(name="hypervclock", present=True),
                "Hyper-V's reference clock is Windows' cheapest stable time source (KVM only)",
            )
        )
    reasons.update((str(timer.name), reason) for timer, reason in timers)
    return Clock(offset=offset, timers=tuple(timer for timer, _ in timers)), reasons


# A domain without <clock> is stored by libvirt as <clock offset='utc'/>.
LIBVIRT_CLOCK = Clock(offset="utc")
# What libvirt writes into a variable clock where none is given, by the spec's word.
LIBVIRT_VARIABLE = {"adjustment": 0, "basis": "utc"}
LIBVIRT_BASIS = LIBVIRT_VARIABLE["basis"]
VARIABLE_REASON = (
    "libvirt writes a variable clock's adjustment and basis where none is given: written "
    "out so that a normalized definition compares equal"
)


def variable_defaults(spec: Spec) -> dict[str, Any]:
    """A variable clock's adjustment and basis where its spec is silent."""
    clock = spec.get("clock", {})
    if clock.get("offset") != "variable":
        return {}
    return {word: value for word, value in LIBVIRT_VARIABLE.items() if word not in clock}


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    clock = spec.get("clock", {})
    policy, reasons = policy_clock_and_reasons(spec)
    if "offset" not in clock:
        yield PolicyDefault(("spec", "clock", "offset"), policy.offset, reasons["offset"])
    for word, value in variable_defaults(spec).items():
        yield PolicyDefault(("spec", "clock", word), value, VARIABLE_REASON)
    said = clock.get("timers", {})
    for timer in policy.timers:
        if timer.name not in said:
            value = {
                field.name: getattr(timer, field.name)
                for field in dataclasses.fields(timer)
                if field.name != "name" and getattr(timer, field.name) is not None
            }
            yield PolicyDefault(("spec", "clock", "timers", timer.name), value, reasons[timer.name])


_TICKPOLICY = {
    "enum": ["delay", "catchup", "merge", "discard"],
    "description": "what QEMU does with ticks the guest missed: delay (deliver them late), catchup (deliver them faster), merge (one for all), discard",
}
_UNSIGNED_INT = {"type": "integer", "minimum": 0, "maximum": 4294967295}
# formatdomain lists the three catchup attributes with no meaning beyond "a positive
# integer"; the examples are its own.
_CATCHUP_DESCRIPTIONS = {
    key: f"libvirt's <catchup {key}>, given to the hypervisor as it is (formatdomain documents no unit for it)"
    for key in ("threshold", "slew", "limit")
}
_CATCHUP_EXAMPLES = {"threshold": [123], "slew": [120], "limit": [10000]}
_TIMER = {
    "type": ["object", "null"],
    "properties": {
        "present": {
            "type": "boolean",
            "description": "whether the guest has this timer (<timer present>); false hides it",
        },
        "tickpolicy": _TICKPOLICY,
        "catchup": {
            "type": "object",
            "properties": {
                key: {
                    **_UNSIGNED_INT,
                    "description": description,
                    "examples": _CATCHUP_EXAMPLES[key],
                }
                for key, description in _CATCHUP_DESCRIPTIONS.items()
            },
            "additionalProperties": False,
            "minProperties": 1,
            "description": "tickpolicy catchup only: how fast missed ticks are made up",
        },
        "track": {
            "enum": ["boot", "guest", "wall", "realtime"],
            "description": "rtc and platform only: what the RTC follows: the host's time from boot (boot), the guest's run time (guest, which stops while the guest is paused), the host's wall clock (wall) or its monotonic clock (realtime)",
        },
        "frequency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 18446744073709551615,
            "description": "tsc only: the TSC's frequency in Hz (a guest that migrates between hosts of different TSCs keeps this one)",
            "examples": [2400000000, 3000000000],
        },
        "mode": {
            "enum": ["auto", "native", "emulate", "paravirt", "smpsafe"],
            "description": "tsc only: how the guest's TSC is provided",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "description": "a timer's settings, laid over the policy's; null: no <timer> element for it at all (the policy's left out, QEMU's own default)",
}
_TIMER_NAMES = ("platform", "pit", "rtc", "hpet", "tsc", "kvmclock", "hypervclock", "armvtimer")

SCHEMA = {
    "type": "object",
    "description": (
        "the guest's clock, laid over the policy's: offset utc (localtime for osType "
        "windows), timers rtc catchup, pit delay, no hpet (and hypervclock for Windows on kvm)"
    ),
    "properties": {
        "offset": {
            "enum": ["utc", "localtime", "timezone", "variable", "absolute"],
            "description": "what the guest's RTC keeps: utc, the host's local time (Windows' habit), another timezone, an offset of its own (variable: adjustment seconds from basis, kept as the guest changes its clock) or a fixed start (absolute)",
        },
        "adjustment": {
            "oneOf": [
                {
                    "type": "integer",
                    "minimum": -9223372036854775808,
                    "maximum": 9223372036854775807,
                },
                {"const": "reset"},
            ],
            "description": "variable: seconds from basis (default 0); utc or localtime: reset, to forget the offset the guest set",
        },
        "basis": {
            "enum": ["utc", "localtime"],
            "description": "variable only: what adjustment is counted from; default: utc",
        },
        "timezone": {
            "type": "string",
            "pattern": "^[a-zA-Z0-9_\\.\\+\\-/]+$",
            "maxLength": 256,
            "description": "timezone only: a tz database name such as Europe/Paris",
        },
        "start": {
            "type": "integer",
            "minimum": 0,
            "maximum": 18446744073709551615,
            "description": "absolute only, and needed there: the RTC's time at every start, in seconds since 1970 (UTC)",
        },
        "timers": {
            "type": "object",
            "properties": {name: _TIMER for name in _TIMER_NAMES},
            "additionalProperties": False,
            "description": "the guest's timers by name, each laid over the policy's (rtc catchup, pit delay, no hpet); null drops one",
        },
    },
    "additionalProperties": False,
    "examples": [
        {"timers": {"hpet": {"present": True}, "pit": None}},
        {"offset": "localtime", "timers": {"rtc": {"tickpolicy": "delay"}}},
        {"timers": {"kvmclock": {"present": False}}},
        {"offset": "variable", "adjustment": 3600, "timers": {"rtc": {"track": "guest"}}},
        {"offset": "timezone", "timezone": "Europe/Paris"},
        {"offset": "absolute", "start": 1700000000},
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
        timers[name] = _timer(name, setting)
    offset = override.get("offset", wanted.offset)
    variable = offset == "variable"
    filled = {**override, **variable_defaults(spec)}
    adjustment = filled.get("adjustment")
    return Clock(
        offset=offset,
        adjustment=str(adjustment) if variable else adjustment,
        basis=filled.get("basis") if variable else None,
        timezone=override.get("timezone"),
        start=override.get("start"),
        timers=tuple(timers.values()),
    )


def _timer(name: str, setting: dict[str, Any]) -> Timer:
    catchup = setting.get("catchup")
    return Timer(
        name=name,
        tickpolicy=setting.get("tickpolicy"),
        present=setting.get("present"),
        track=setting.get("track"),
        frequency=setting.get("frequency"),
        mode=setting.get("mode"),
        catchup=Catchup(**catchup) if catchup else None,
    )


def lift(clock: Clock | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    clock = clock or LIBVIRT_CLOCK
    wanted = policy_clock(spec)
    override: dict[str, Any] = {}
    if clock.offset != wanted.offset:
        override["offset"] = clock.offset
    override.update(_offset_settings(clock))
    policy_timers = {timer.name: timer for timer in wanted.timers}
    timers: dict[str, Any] = {}
    for timer in clock.timers:
        if policy_timers.get(timer.name) != timer:
            timers[timer.name] = _timer_setting(timer) or {"present": True}
    # A timer the policy would add and the domain lacks is said to be absent, so that
    # adopting the domain leaves its clock as it was (the guest would see new timers).
    own = {timer.name for timer in clock.timers}
    timers.update({name: None for name in policy_timers if name not in own})
    if timers:
        override["timers"] = timers
    return override or None


def _offset_settings(clock: Clock) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if clock.adjustment is not None:
        # Seconds, or reset; anything else stays text, which the spec's schema refuses.
        text = clock.adjustment.strip()
        adjustment: int | str = int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else text
        if not (clock.offset == "variable" and adjustment == 0):
            settings["adjustment"] = adjustment
    if clock.basis not in (None, LIBVIRT_BASIS):
        settings["basis"] = clock.basis
    if clock.timezone is not None:
        settings["timezone"] = clock.timezone
    if clock.start is not None:
        settings["start"] = clock.start
    return settings


def _timer_setting(timer: Timer) -> dict[str, Any]:
    setting = {
        key: getattr(timer, key)
        for key in ("present", "tickpolicy", "track", "frequency", "mode")
        if getattr(timer, key) is not None
    }
    if timer.catchup is not None:
        catchup = dataclasses.asdict(timer.catchup)
        setting["catchup"] = {key: value for key, value in catchup.items() if value is not None}
    return setting


def as_started(running: Clock | None, wanted: Clock | None) -> Clock | None:
    """A variable clock's adjustment is the guest's: libvirt follows the guest as it sets
    its RTC, and the running definition says where it is now."""
    if running is None or wanted is None or running.offset != "variable":
        return running
    return dataclasses.replace(running, adjustment=wanted.adjustment)


# --- semantic checks -------------------------------------------------------------------------


def _tickpolicy_where_taken(spec: Spec) -> Iterator[Finding]:
    for name, timer in spec.get("clock", {}).get("timers", {}).items():
        if name in ("kvmclock", "hypervclock") and timer and "tickpolicy" in timer:
            # libvirt: "timer kvmclock doesn't support setting of timer tickpolicy".
            yield Finding(
                ("spec", "clock", "timers", name, "tickpolicy"),
                f"the {name} timer has no tickpolicy",
            )


# The timers libvirt's schema gives each setting (domaincommon.rng, timer).
_TIMERS_TAKING = {"track": ("rtc", "platform"), "frequency": ("tsc",), "mode": ("tsc",)}


def _timer_fields(spec: Spec) -> Iterator[Finding]:
    for name, timer in spec.get("clock", {}).get("timers", {}).items():
        where = ("spec", "clock", "timers", name)
        for key, names in _TIMERS_TAKING.items():
            if timer and key in timer and name not in names:
                yield Finding(
                    (*where, key), f"{key} is for the {' and '.join(names)} timer, not {name}"
                )
        if timer and "catchup" in timer and timer.get("tickpolicy") != "catchup":
            yield Finding((*where, "catchup"), "catchup goes with tickpolicy catchup")


# The offsets each clock setting belongs to (domaincommon.rng, clock).
_OFFSETS_TAKING = {
    "basis": ("variable",),
    "timezone": ("timezone",),
    "start": ("absolute",),
    "adjustment": ("variable", "utc", "localtime"),
}


def _offset_fields(spec: Spec) -> Iterator[Finding]:
    clock = spec.get("clock", {})
    offset = clock.get("offset", policy_clock(spec).offset)
    where = ("spec", "clock")
    for key, offsets in _OFFSETS_TAKING.items():
        if key in clock and offset not in offsets:
            yield Finding(
                (*where, key), f"{key} is for offset {' or '.join(offsets)}, not {offset}"
            )
    if offset == "absolute" and "start" not in clock:
        yield Finding((*where, "offset"), "offset absolute needs start (seconds since 1970)")
    adjustment = clock.get("adjustment")
    if offset in ("utc", "localtime") and adjustment is not None and adjustment != "reset":
        # libvirt turns it into offset variable (seen with libvirt 9.0: define, dumpxml).
        message = f"a number of seconds is offset variable's: set offset variable (basis {offset})"
        yield Finding((*where, "adjustment"), message)
    if offset == "variable" and adjustment == "reset":
        yield Finding((*where, "adjustment"), "reset is for offset utc or localtime: give seconds")


FAMILY = Family(
    spec_field="clock",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="clock",
    lower=lower,
    lift=lift,
    checks=(_tickpolicy_where_taken, _timer_fields, _offset_fields),
    policy_defaults=policy_defaults,
    libvirt_resolves_at_start=as_started,
)
