"""``<rng>``: a paravirtual entropy source (formatdomain "Random number generator device")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, text


@dataclass(**CONFIG)
class RngBackend:
    TAG: ClassVar[str] = "backend"
    model: str | None = attr("model")
    path: str | None = text()


@dataclass(**CONFIG)
class Rng:
    TAG: ClassVar[str] = "rng"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    backend: RngBackend | None = child()
