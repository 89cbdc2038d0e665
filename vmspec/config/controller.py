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
class Controller:
    TAG: ClassVar[str] = "controller"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@type", "@index")
    type: str | None = attr("type")
    index: int | None = attr("index")
    model: str | None = attr("model")
    ports: int | None = attr("ports")
    driver: ControllerDriver | None = child()
