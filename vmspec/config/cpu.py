"""``<cpu>``: mode, model, topology and features (formatdomain "CPU model and topology");
the guest's NUMA cells are a family of their own (vmspec/families/numa.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vmspec.config.xmlmap import CONFIG, attr, child, children, text
from vmspec.families.numa import Numa


@dataclass(**CONFIG)
class CpuModel:
    TAG: ClassVar[str] = "model"
    fallback: str | None = attr("fallback")
    name: str | None = text()


@dataclass(**CONFIG)
class CpuTopology:
    TAG: ClassVar[str] = "topology"
    sockets: int | None = attr("sockets")
    dies: int | None = attr("dies")
    cores: int | None = attr("cores")
    threads: int | None = attr("threads")


@dataclass(**CONFIG)
class CpuFeature:
    TAG: ClassVar[str] = "feature"
    policy: str | None = attr("policy")
    name: str | None = attr("name")


@dataclass(**CONFIG)
class Cpu:
    TAG: ClassVar[str] = "cpu"
    mode: str | None = attr("mode")
    match: str | None = attr("match")
    check: str | None = attr("check")
    model: CpuModel | None = child()
    topology: CpuTopology | None = child()
    features: tuple[CpuFeature, ...] = children()
    numa: Numa | None = child()
