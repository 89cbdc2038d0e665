"""``<vsock>``: a virtio socket between host and guest (formatdomain "Vsock"), which
host services reach the guest by (AF_VSOCK, its context id) without a network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import YES_NO, attr, child, config_class
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec


@config_class
class VsockCid:
    TAG: ClassVar[str] = "cid"
    auto: bool | None = attr("auto", codec=YES_NO)
    address: int | None = attr("address")


@config_class
class Vsock:
    TAG: ClassVar[str] = "vsock"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    cid: VsockCid | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


DEFAULT_MODEL = "virtio"
MODEL_REASON = "the modern device; the transitional ones are for guests older than virtio 1.0"
DEFAULT_CID = "auto"
CID_REASON = "libvirt picks a CID no other guest on the host has"

SCHEMA = {
    "type": "object",
    "description": "a virtio socket (AF_VSOCK) between host and guest; needs /dev/vhost-vsock on the host",
    "properties": {
        "model": {
            "enum": ["virtio", "virtio-transitional", "virtio-non-transitional"],
            "description": f"default: {DEFAULT_MODEL}",
        },
        "cid": {
            # One schema for both forms, so that a wrong one gets a message of its own.
            "type": ["string", "integer"],
            "pattern": "^auto$",
            "minimum": 3,
            "maximum": 4294967294,
            "description": "the guest's context id (3 or more: 0-2 are the host's), or auto: libvirt picks a free one at each start; default: auto",
        },
    },
    "additionalProperties": False,
    "examples": [{}, {"cid": 42}],
}


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    vsock = spec.get("vsock")
    if vsock is not None:
        if "model" not in vsock:
            yield PolicyDefault(("spec", "vsock", "model"), DEFAULT_MODEL, MODEL_REASON)
        if "cid" not in vsock:
            yield PolicyDefault(("spec", "vsock", "cid"), DEFAULT_CID, CID_REASON)


def lower(spec: Spec, identity: Identity) -> Vsock | None:
    vsock = spec.get("vsock")
    if vsock is None:
        return None
    cid = vsock.get("cid", DEFAULT_CID)
    return Vsock(
        model=vsock.get("model", DEFAULT_MODEL),
        cid=VsockCid(auto=True) if cid == "auto" else VsockCid(auto=False, address=cid),
    )


def lift(vsock: Vsock | None, spec: Spec, identity: Identity) -> Spec | None:
    if vsock is None:
        return None
    lifted: Spec = {}
    if vsock.model != DEFAULT_MODEL:
        lifted["model"] = vsock.model
    cid = vsock.cid
    if cid is not None and not cid.auto and cid.address is not None:
        lifted["cid"] = cid.address
    return lifted


def as_libvirt_stores_it(live: Vsock | None, wanted: Any) -> Vsock | None:
    """libvirt 9.0 writes ``<cid auto='yes'/>`` for a vsock that names no cid, and keeps
    the address of an auto cid it was given (which the next start picks anew)."""
    if live is None:
        return None
    if live.cid is None or (live.cid.auto and live.cid.address is not None):
        return dataclasses.replace(live, cid=VsockCid(auto=True))
    return live


FAMILY = Family(
    spec_field="vsock",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="vsock",
    lower=lower,
    lift=lift,
    libvirt_fills_in=as_libvirt_stores_it,
    libvirt_resolves_at_start=as_libvirt_stores_it,
    policy_defaults=policy_defaults,
)
