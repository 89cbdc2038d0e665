"""``<controller>``: the buses disks and devices hang on (formatdomain: "Controllers").

libvirt adds the ones a machine needs by itself (its PCI topology, the default USB,
SATA, SCSI and virtio-serial controllers); a spec names only those it chooses, such
as virtio-scsi for a Windows boot disk, which libvirt's default lsilogic would not
boot. Which controllers are libvirt's own is decided in lift and normalize.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child


@dataclass(**CONFIG)
class ControllerDriver:
    TAG: ClassVar[str] = "driver"
    queues: int | None = attr("queues")


@dataclass(**CONFIG)
class ControllerMaster:
    """A USB 1 companion's first port on its USB 2 (EHCI) master."""

    TAG: ClassVar[str] = "master"
    startport: int | None = attr("startport")


@dataclass(**CONFIG)
class Controller:
    TAG: ClassVar[str] = "controller"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@type", "@index")
    type: str | None = attr("type")
    index: int | None = attr("index")
    model: str | None = attr("model")
    ports: int | None = attr("ports")
    driver: ControllerDriver | None = child()
    master: ControllerMaster | None = child()


def default_index(kind: str, companion: bool, earlier: list[Controller]) -> int:
    """The index libvirt gives a controller written without one: the next of its type;
    a USB companion (one with a master) shares its master's, the last one before it."""
    own_type = [item for item in earlier if item.type == kind and item.master is None]
    if companion and own_type:
        return own_type[-1].index or 0
    return len(own_type)
