"""``<rng>``: a paravirtual entropy source (formatdomain "Random number generator device")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import attr, child, config_class, text
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec


@config_class
class RngBackend:
    TAG: ClassVar[str] = "backend"
    model: str | None = attr("model")
    path: str | None = text()


@config_class
class Rng:
    TAG: ClassVar[str] = "rng"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    backend: RngBackend | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


DEFAULT_BACKEND = "/dev/urandom"
BACKEND_REASON = "/dev/urandom never blocks the guest's boot waiting for host entropy"

SCHEMA = {
    "type": "object",
    "description": "a virtio entropy source fed from a host device",
    "properties": {
        "backend": {
            "enum": ["/dev/urandom", "/dev/random", "/dev/hwrng"],
            "description": f"the host's source of entropy; default: {DEFAULT_BACKEND}, which never blocks",
        }
    },
    "additionalProperties": False,
    "examples": [{}, {"backend": "/dev/hwrng"}],
}


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    if "rng" in spec and "backend" not in spec["rng"]:
        yield PolicyDefault(("spec", "rng", "backend"), DEFAULT_BACKEND, BACKEND_REASON)


def lower(spec: Spec, identity: Identity) -> tuple[Rng, ...]:
    if "rng" not in spec:
        return ()
    path = spec["rng"].get("backend", DEFAULT_BACKEND)
    return (Rng(model="virtio", backend=RngBackend(model="random", path=path)),)


def lift(rngs: tuple[Rng, ...], spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if not rngs or rngs[0].backend is None:
        return None
    return {"backend": rngs[0].backend.path}


FAMILY = Family(
    spec_field="rng",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="rngs",
    lower=lower,
    lift=lift,
    policy_defaults=policy_defaults,
)
