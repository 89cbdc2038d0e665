"""``<seclabel>``: how the host's security drivers confine the guest's QEMU (formatdomain
"Security label").

Each security driver (``model``: selinux, apparmor, dac) labels QEMU and the files it
opens. ``dynamic`` (libvirt's default) has the driver pick a fresh label at each start,
from ``baselabel`` where given; ``static`` runs QEMU under the spec's ``label`` (and
relabels files only with ``relabel``); ``none`` leaves QEMU unconfined by that driver.
What libvirt picks at start (a dynamic ``label``, the ``imagelabel`` of files) is
output only, never a setting. Per-device labels (a disk's) are the devices' own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, config_class, text_child
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding


@config_class
class SecurityLabel:
    TAG: ClassVar[str] = "seclabel"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    type: str | None = attr("type")
    model: str | None = attr("model")
    relabel: bool | None = attr("relabel")
    label: str | None = text_child("label")
    imagelabel: str | None = text_child("imagelabel")
    baselabel: str | None = text_child("baselabel")


# --- policy and what libvirt 9.0 fills in on define (seen with virsh define + dumpxml) ------

DEFAULT_TYPE = "dynamic"
TYPE_REASON = "libvirt's own default: a fresh label for each start"
LIBVIRT_RELABEL = {"dynamic": True, "static": False}
RELABEL_REASON = (
    "libvirt writes relabel yes into a dynamic label (the only value it takes) and no into "
    "a static one; vmspec writes them too, so that the two compare equal"
)

_LABEL = {"type": "string", "pattern": "^\\S+$", "maxLength": 4096}

SCHEMA = {
    "type": "array",
    "description": "how the host's security drivers (selinux, apparmor, dac) confine the guest's QEMU, one entry per driver; without it, each driver's dynamic default",
    "maxItems": 4,
    "items": {
        "type": "object",
        "properties": {
            "model": {
                "enum": ["selinux", "apparmor", "dac", "none"],
                "description": "the security driver (virsh capabilities lists the host's under secmodel); none: no driver at all",
            },
            "type": {
                "enum": ["dynamic", "static", "none"],
                "description": f"dynamic: a fresh label at each start; static: the label below; none: unconfined by this driver; default: {DEFAULT_TYPE}",
            },
            "relabel": {
                "type": "boolean",
                "description": "static only: also label the files QEMU opens with it (default false)",
            },
            "label": {
                **_LABEL,
                "description": "static only, and needed there: the label QEMU runs under (selinux system_u:system_r:svirt_t:s0:c1,c2; dac +UID:+GID or user:group; an apparmor profile)",
            },
            "baselabel": {
                **_LABEL,
                "description": "dynamic only: the label the driver starts from (selinux: its type, say system_u:system_r:svirt_custom_t:s0)",
            },
        },
        "required": ["model"],
        "additionalProperties": False,
    },
    "examples": [
        [{"model": "dac", "type": "none"}],
        [{"model": "dac", "type": "static", "relabel": True, "label": "libvirt-qemu:libvirt-qemu"}],
        [{"model": "dac"}],
        [{"model": "selinux", "baselabel": "system_u:system_r:svirt_custom_t:s0"}],
    ],
}


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, entry in enumerate(spec.get("seclabels", ())):
        where = ("spec", "seclabels", index)
        if "type" not in entry:
            yield PolicyDefault((*where, "type"), DEFAULT_TYPE, TYPE_REASON)
        # The spec has a word for a static label's relabel only (a dynamic one's is fixed).
        if "relabel" not in entry and entry.get("type", DEFAULT_TYPE) == "static":
            relabel = LIBVIRT_RELABEL["static"]
            yield PolicyDefault((*where, "relabel"), relabel, RELABEL_REASON)


def lower(spec: Spec, identity: Identity) -> tuple[SecurityLabel, ...]:
    return tuple(_lowered(entry) for entry in spec.get("seclabels", ()))


def _lowered(entry: dict[str, Any]) -> SecurityLabel:
    kind = entry.get("type", DEFAULT_TYPE)
    relabel = entry.get("relabel", LIBVIRT_RELABEL.get(kind))
    return SecurityLabel(
        type=kind,
        model=entry["model"],
        relabel=relabel,
        label=entry.get("label"),
        baselabel=entry.get("baselabel"),
    )


def lift(
    labels: tuple[SecurityLabel, ...], spec: Spec, identity: Identity
) -> list[dict[str, Any]] | None:
    lifted = []
    for label in map(_as_stored, labels):
        if label.model is None:
            continue  # cannot_say names it
        entry: dict[str, Any] = {"model": label.model}
        kind = label.type or DEFAULT_TYPE
        if kind != DEFAULT_TYPE:
            entry["type"] = kind
        if kind == "static" and label.relabel:
            entry["relabel"] = True
        if label.label is not None:
            entry["label"] = label.label
        if label.baselabel is not None:
            entry["baselabel"] = label.baselabel
        lifted.append(entry)
    return lifted or None


def cannot_say(labels: tuple[SecurityLabel, ...]) -> tuple[str, ...]:
    return tuple(
        f"/domain/seclabel[{index}]/@model: none (libvirt takes the host's first security driver, which differs between hosts)"
        for index, label in enumerate(labels, start=1)
        if label.model is None
    )


def as_libvirt_stores_it(live: tuple[SecurityLabel, ...], wanted: Any) -> tuple[SecurityLabel, ...]:
    """libvirt writes the relabel of a type where none is given; the label a dynamic
    driver picks and every imagelabel are output only (written at start, picked again
    at the next), never settings. And a driver the spec does not name confines QEMU
    dynamically from its own base: a bare dynamic label of it is that same default
    (libvirt adds one for each of the host's drivers when it starts the guest)."""
    named = {label.model for label in wanted or ()}
    return tuple(
        label
        for label in map(_as_stored, live)
        if label.model in named or not _is_drivers_default(label)
    )


def _is_drivers_default(label: SecurityLabel) -> bool:
    return label.type == "dynamic" and label.baselabel is None


def _as_stored(label: SecurityLabel) -> SecurityLabel:
    kind = label.type or DEFAULT_TYPE
    relabel = LIBVIRT_RELABEL.get(kind) if label.relabel is None else label.relabel
    return dataclasses.replace(
        label,
        type=kind,
        relabel=relabel,
        label=None if kind == "dynamic" else label.label,
        imagelabel=None,
    )


# --- semantic checks -------------------------------------------------------------------------

# What each field belongs to: libvirt's RNG takes a label only in a static seclabel (the
# dynamic one's is output only), a baselabel only in a dynamic one.
_FIELD_TYPES = {"label": "static", "relabel": "static", "baselabel": "dynamic"}


def _fields_of_the_type(spec: Spec) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for index, entry in enumerate(spec.get("seclabels", ())):
        where = ("spec", "seclabels", index)
        kind = entry.get("type", DEFAULT_TYPE)
        for field, owner in _FIELD_TYPES.items():
            if field in entry and kind != owner:
                message = f"{field} is a {owner} label's: set type {owner}, or remove {field}"
                yield Finding((*where, field), message)
        if kind == "static" and "label" not in entry:
            yield Finding(
                (*where, "type"), "a static label needs its label (such as +107:+107 for dac)"
            )
        if entry["model"] == "none" and kind != "none":
            yield Finding((*where, "type"), "model none is no driver at all: its type is none")
        model = entry["model"]
        if model in seen:
            # libvirt: "seclabel for model dac is already provided".
            message = f"model {model} is seclabels[{seen[model]}] already: one label per driver"
            yield Finding((*where, "model"), message)
        seen.setdefault(model, index)


FAMILY = Family(
    spec_field="seclabels",
    schema=SCHEMA,
    place=Place.DOMAIN,
    config_field="seclabels",
    lower=lower,
    lift=lift,
    cannot_say=cannot_say,
    checks=(_fields_of_the_type,),
    libvirt_fills_in=as_libvirt_stores_it,
    libvirt_resolves_at_start=as_libvirt_stores_it,
    policy_defaults=policy_defaults,
)
