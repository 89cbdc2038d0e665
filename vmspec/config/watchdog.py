"""``<watchdog>``: a virtual watchdog timer, and what the host does when the guest stops
feeding it (formatdomain: "Watchdog devices")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr


@dataclass(**CONFIG)
class Watchdog:
    TAG: ClassVar[str] = "watchdog"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    action: str | None = attr("action")
