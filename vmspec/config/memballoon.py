"""``<memballoon>``: lets the host reclaim and report guest memory.

formatdomain: "Memory balloon device".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr


@dataclass(**CONFIG)
class Memballoon:
    TAG: ClassVar[str] = "memballoon"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
