"""``<tpm>``: a Trusted Platform Module, emulated by swtpm or the host's own passed
through (formatdomain "TPM device"). Windows 11 needs one of version 2.0.

The emulator keeps its state (keys, sealed secrets such as BitLocker's) under
/var/lib/libvirt/swtpm/UUID, which libvirt keeps as long as the domain is redefined
with the same uuid; apply redefines, and never undefines, so an update keeps it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.arches import X86_ARCHES, spec_arch
from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import attr, child, config_class, discriminator
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.problems import Finding


@config_class
class TpmDevice:
    TAG: ClassVar[str] = "device"
    path: str | None = attr("path")


@config_class
class TpmEmulator:
    """``<backend type='emulator'>``: swtpm, run by libvirt, its state kept by libvirt."""

    TAG: ClassVar[str] = "backend"
    type: str = discriminator("type", "emulator")
    version: str | None = attr("version")
    persistent_state: bool | None = attr("persistent_state")


@config_class
class TpmPassthrough:
    """``<backend type='passthrough'>``: the host's own TPM device."""

    TAG: ClassVar[str] = "backend"
    type: str = discriminator("type", "passthrough")
    device: TpmDevice | None = child()


# libvirt's third type, external (a swtpm of someone else's socket), has no class: parsing
# reports it as uncovered, and import as what the spec cannot say.
TpmBackend = TpmEmulator | TpmPassthrough


@config_class
class Tpm:
    TAG: ClassVar[str] = "tpm"
    IDENTITY: ClassVar[tuple[str, ...]] = ("@model",)
    model: str | None = attr("model")
    backend: TpmEmulator | TpmPassthrough | None = child()
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


# --- policy: what vmspec writes where the spec says nothing, and why ----------------------

DEFAULT_BACKEND = "emulator"
BACKEND_REASON = (
    "swtpm needs nothing of the host; a passed-through TPM is the host's own, one guest's alone"
)
DEFAULT_MODEL_X86 = "tpm-crb"
MODEL_X86_REASON = "CRB is TPM 2.0's modern interface, virt-install's pick wherever QEMU has it"
DEFAULT_MODEL_OTHER = "tpm-tis"
MODEL_OTHER_REASON = "QEMU has only the TIS interface (tpm-tis-device) outside x86"
DEFAULT_VERSION = "2.0"
VERSION_REASON = (
    "Windows 11 refuses TPM 1.2, and CRB carries 2.0 only; 1.2 remains a choice for tis"
)

# --- what libvirt 9.0 fills in on define (seen with `virsh define` + `dumpxml --inactive`) --

LIBVIRT_MODEL = "tpm-tis"  # for every arch vmspec speaks (tpm-spapr is ppc64's)
LIBVIRT_VERSION = {"tpm-crb": "2.0", "tpm-tis": "1.2"}  # an emulator without a version
LIBVIRT_PASSTHROUGH_DEVICE = "/dev/tpm0"  # a passthrough backend without a device

SCHEMA = {
    "type": "object",
    "description": "a TPM: emulated by swtpm (its state kept across applies) or the host's passed through",
    "properties": {
        "model": {
            "enum": ["tpm-tis", "tpm-crb"],
            "description": f"the interface: default {DEFAULT_MODEL_X86} on x86 (TPM 2.0 only), {DEFAULT_MODEL_OTHER} on aarch64",
        },
        "backend": {
            "enum": ["emulator", "passthrough"],
            "description": f"emulator: swtpm, a TPM of the guest's own; passthrough: the host's TPM (device), which no other guest may use; default: {DEFAULT_BACKEND}",
        },
        "version": {
            "enum": ["1.2", "2.0"],
            "description": f"the emulated TPM's version (quote it: '2.0'); tpm-crb is 2.0 only; default: {DEFAULT_VERSION}",
        },
        "persistentState": {
            "type": "boolean",
            "description": "emulator only: keep the TPM's state when the domain is undefined (libvirt's persistent_state); default: false",
        },
        "device": {
            "$ref": "#/$defs/absolutePath",
            "description": "passthrough only, and needed there: the host's TPM device, such as /dev/tpm0",
        },
    },
    "additionalProperties": False,
    "examples": [
        {},
        {"model": "tpm-tis", "version": "1.2"},
        {"model": "tpm-crb", "backend": "emulator", "version": "2.0", "persistentState": True},
        {"model": "tpm-tis", "backend": "passthrough", "device": "/dev/tpm0"},
    ],
}


def model_and_reason(spec: Spec) -> tuple[str, str]:
    if spec_arch(spec) in X86_ARCHES:
        return DEFAULT_MODEL_X86, MODEL_X86_REASON
    return DEFAULT_MODEL_OTHER, MODEL_OTHER_REASON


def default_model(spec: Spec) -> str:
    return model_and_reason(spec)[0]


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    tpm = spec.get("tpm")
    if tpm is None:
        return
    if "model" not in tpm:
        yield PolicyDefault(("spec", "tpm", "model"), *model_and_reason(spec))
    if "backend" not in tpm:
        yield PolicyDefault(("spec", "tpm", "backend"), DEFAULT_BACKEND, BACKEND_REASON)
    if "version" not in tpm and tpm.get("backend", DEFAULT_BACKEND) == "emulator":
        yield PolicyDefault(("spec", "tpm", "version"), DEFAULT_VERSION, VERSION_REASON)


def lower(spec: Spec, identity: Identity) -> tuple[Tpm, ...]:
    if "tpm" not in spec:
        return ()
    tpm = spec["tpm"]
    model = tpm.get("model", default_model(spec))
    if tpm.get("backend", DEFAULT_BACKEND) == "passthrough":
        backend: TpmBackend = TpmPassthrough(device=TpmDevice(path=tpm.get("device")))
    else:
        backend = TpmEmulator(
            version=tpm.get("version", DEFAULT_VERSION),
            # no is libvirt's default, which it drops on define: written only when yes.
            persistent_state=tpm.get("persistentState") or None,
        )
    return (Tpm(model=model, backend=backend),)


def lift(tpms: tuple[Tpm, ...], spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if not tpms:
        return None  # a second TPM (a ppc64 proxy) is left for the self-check to name
    tpm = as_libvirt_stores_it(tpms, ())[0]
    backend = tpm.backend
    if backend is None:
        return None  # external (a swtpm of someone else's): no word for it yet
    lifted: dict[str, Any] = {}
    if tpm.model != default_model(spec):
        lifted["model"] = tpm.model
    if isinstance(backend, TpmPassthrough):
        lifted["backend"] = "passthrough"
        lifted["device"] = backend.device.path if backend.device else None
    else:
        if backend.version != DEFAULT_VERSION:
            lifted["version"] = backend.version
        if backend.persistent_state:
            lifted["persistentState"] = True  # no is libvirt's default, which it drops
    return {key: value for key, value in lifted.items() if value is not None}


def as_libvirt_stores_it(live: tuple[Tpm, ...], wanted: Any) -> tuple[Tpm, ...]:
    """What libvirt 9.0 writes into a ``<tpm>`` on define: the default model, the
    version that goes with the model, the default passthrough device; and it drops
    ``persistent_state='no'`` (its default) and a passthrough backend's version."""
    return tuple(_as_stored(tpm) for tpm in live)


def _as_stored(tpm: Tpm) -> Tpm:
    model = tpm.model or LIBVIRT_MODEL
    backend = tpm.backend
    if isinstance(backend, TpmEmulator):
        version = backend.version or LIBVIRT_VERSION.get(model)
        # no is libvirt's default, which it drops: absent and no are the same guest.
        state = backend.persistent_state or None
        backend = dataclasses.replace(backend, version=version, persistent_state=state)
    elif isinstance(backend, TpmPassthrough):
        device = backend.device or TpmDevice(path=LIBVIRT_PASSTHROUGH_DEVICE)
        backend = dataclasses.replace(backend, device=device)
    return dataclasses.replace(tpm, model=model, backend=backend)


# --- semantic checks -------------------------------------------------------------------------

_EMULATOR_ONLY = ("version", "persistentState")


def _backend_fields(spec: Spec) -> Iterator[Finding]:
    tpm = spec.get("tpm")
    if tpm is None:
        return
    backend = tpm.get("backend", DEFAULT_BACKEND)
    if backend == "passthrough" and "device" not in tpm:
        yield Finding(
            ("spec", "tpm", "backend"),
            "a passthrough TPM needs the host's device: add device (such as /dev/tpm0)",
        )
    if backend != "passthrough" and "device" in tpm:
        yield Finding(
            ("spec", "tpm", "device"),
            "device is the host TPM of a passthrough backend: set backend: passthrough, or remove device",
        )
    for key in _EMULATOR_ONLY:
        if backend == "passthrough" and key in tpm:
            yield Finding(
                ("spec", "tpm", key),
                f"{key} is the emulator's: a passed-through TPM is the host's own; remove it",
            )


def _crb_version(spec: Spec) -> Iterator[Finding]:
    tpm = spec.get("tpm")
    if tpm is None or tpm.get("model", default_model(spec)) != "tpm-crb":
        return
    # libvirt: "Unsupported interface 'tpm-crb' for TPM 1.2".
    if tpm.get("version") == "1.2":
        yield Finding(
            ("spec", "tpm", "version"),
            "tpm-crb is a TPM 2.0 interface: set version '2.0', or model tpm-tis for 1.2",
        )
    arch = spec_arch(spec)
    if arch not in X86_ARCHES:
        # QEMU has the CRB interface on x86 only.
        yield Finding(
            ("spec", "tpm", "model"),
            f"tpm-crb is x86's; on {arch} QEMU has only tpm-tis",
        )


def _passed_through(tpms: tuple[Tpm, ...]) -> list[tuple[str, str]]:
    return [
        ("tpm", tpm.backend.device.path)
        for tpm in tpms
        if isinstance(tpm.backend, TpmPassthrough)
        and tpm.backend.device
        and tpm.backend.device.path
    ]


FAMILY = Family(
    spec_field="tpm",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="tpms",
    lower=lower,
    lift=lift,
    checks=(_backend_fields, _crb_version),
    policy_defaults=policy_defaults,
    libvirt_fills_in=as_libvirt_stores_it,
    host_paths=_passed_through,
)
