"""``<clock>`` and its timers (formatdomain "Time keeping")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, children


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
