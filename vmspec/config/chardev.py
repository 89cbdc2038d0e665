"""Character devices: ``<serial>``, ``<console>`` and ``<channel>`` share one shape.

formatdomain: "Consoles, serial, parallel & channel devices".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child


@dataclass(**CONFIG)
class CharSource:
    TAG: ClassVar[str] = "source"
    mode: str | None = attr("mode")
    path: str | None = attr("path")


@dataclass(**CONFIG)
class CharTarget:
    TAG: ClassVar[str] = "target"
    type: str | None = attr("type")
    port: int | None = attr("port")
    name: str | None = attr("name")


@dataclass(**CONFIG)
class CharDevice:
    """The tag (serial, console, channel) is the field's that holds it."""

    TAG: ClassVar[str] = "serial"
    # A channel goes by its target's name, a serial port or console by its port.
    IDENTITY: ClassVar[tuple[str, ...]] = ("target/@name", "target/@port")
    type: str | None = attr("type")
    source: CharSource | None = child()
    target: CharTarget | None = child()
