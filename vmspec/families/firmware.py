"""The guest's firmware (formatdomain "BIOS bootloader"): chosen by libvirt from the host's
firmware descriptors (``<os firmware='efi'>`` and the ``<firmware>`` features it must
have, such as secure boot), or named by hand (``<loader>`` and ``<nvram>``).

Four families, one module: they are one choice, and the rules between them (what a
loader may say under autoselection) are stated once, here. Seen with libvirt 9.0:

- with ``firmware='efi'`` the definition keeps only what the spec says; at start libvirt
  writes the OVMF build and NVRAM it picked (and drops the firmware attribute), and
  picks again the same way at the next start;
- a hand-named read-only pflash loader gets an NVRAM file
  /var/lib/libvirt/qemu/nvram/NAME_VARS.fd on define, and a loader of no type is a ROM.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, children, config_class, text
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@config_class
class FirmwareFeature:
    TAG: ClassVar[str] = "feature"
    enabled: bool | None = attr("enabled")
    name: str | None = attr("name")


@config_class
class FirmwareFeatures:
    """``<firmware>``: what the firmware libvirt picks must (or must not) have."""

    TAG: ClassVar[str] = "firmware"
    features: tuple[FirmwareFeature, ...] = children()


@config_class
class Loader:
    TAG: ClassVar[str] = "loader"
    readonly: bool | None = attr("readonly")
    secure: bool | None = attr("secure")
    type: str | None = attr("type")
    stateless: bool | None = attr("stateless")
    path: str | None = text()


@config_class
class Nvram:
    """The firmware's variable store (UEFI's boot entries and keys), and the file a new
    one is copied from. A store on the network (``type='network'``) has no class: import
    reports it as what the spec cannot say."""

    TAG: ClassVar[str] = "nvram"
    template: str | None = attr("template")
    path: str | None = text()


# libvirt's own NVRAM file for a domain (qemu.conf's nvram_dir), made on define.
LIBVIRT_NVRAM_DIR = "/var/lib/libvirt/qemu/nvram"

# --- the spec's words ----------------------------------------------------------------------

# (spec key, libvirt's feature name), in the order libvirt writes them.
_FIRMWARE_FEATURES = (("enrolledKeys", "enrolled-keys"), ("secureBoot", "secure-boot"))
_LOADER_SETTINGS = (
    ("path", "path"),
    ("type", "type"),
    ("readonly", "readonly"),
    ("secure", "secure"),
    ("stateless", "stateless"),
)
# What a loader may still say when libvirt picks the firmware (it refuses the rest:
# "loader attribute 'type' cannot be specified when firmware autoselection is enabled").
_UNDER_AUTOSELECTION = ("secure", "stateless")

FIRMWARE_SCHEMA = {
    "enum": ["bios", "efi"],
    "description": "efi: libvirt picks the host's UEFI build (OVMF) and its NVRAM template from the firmware descriptors; absent or bios: the machine's default BIOS",
    "examples": ["efi"],
}

FIRMWARE_FEATURES_SCHEMA = {
    "type": "object",
    "description": "what the UEFI build libvirt picks (firmware: efi) must have (true) or lack (false)",
    "properties": {
        "secureBoot": {
            "type": "boolean",
            "description": "UEFI secure boot (libvirt turns SMM on for it when the guest starts)",
        },
        "enrolledKeys": {
            "type": "boolean",
            "description": "Microsoft's and the distribution's keys already enrolled in the NVRAM template, so that secure boot is enforced from the first boot",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [{"secureBoot": True, "enrolledKeys": True}, {"secureBoot": False}],
}

LOADER_SCHEMA = {
    "type": "object",
    "description": "the firmware image, named by hand (with firmware: efi only secure and stateless, libvirt picks the image)",
    "properties": {
        "path": {"$ref": "#/$defs/absolutePath", "description": "the firmware image"},
        "type": {
            "enum": ["pflash", "rom"],
            "description": "pflash: a flash chip (UEFI, with an NVRAM store); rom: a read-only image (SeaBIOS); absent: rom",
        },
        "readonly": {"type": "boolean", "description": "whether the guest may write the image"},
        "secure": {
            "type": "boolean",
            "description": "a secure-boot build, whose flash only SMM code may write (needs features.smm unless firmware: efi)",
        },
        "stateless": {
            "type": "boolean",
            "description": "a build that keeps no NVRAM (its variables live in the image)",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"path": "/usr/share/OVMF/OVMF_CODE_4M.fd", "type": "pflash", "readonly": True},
        {"path": "/usr/share/seabios/bios-256k.bin", "type": "rom"},
    ],
}

NVRAM_SCHEMA = {
    "type": "object",
    "description": f"the UEFI variable store of a hand-named pflash loader; absent: libvirt makes {LIBVIRT_NVRAM_DIR}/NAME_VARS.fd",
    "properties": {
        "path": {
            "$ref": "#/$defs/absolutePath",
            "description": "the guest's own store",
            "examples": ["/var/lib/libvirt/qemu/nvram/web-01_VARS.fd"],
        },
        "template": {
            "$ref": "#/$defs/absolutePath",
            "description": "the image a new store is copied from (the firmware's empty variables)",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {"template": "/usr/share/OVMF/OVMF_VARS_4M.fd"},
    ],
}


# --- checks --------------------------------------------------------------------------------


def _loader_under_autoselection(spec: Spec) -> Iterator[Finding]:
    loader = spec.get("loader", {})
    if spec.get("firmware") == "efi":
        for key in loader:
            if key not in _UNDER_AUTOSELECTION:
                yield Finding(
                    ("spec", "loader", key),
                    f"with firmware: efi libvirt picks the loader, so it cannot have a {key}: "
                    "leave it out, or leave firmware out to name the loader yourself",
                )
        return
    if loader and "path" not in loader:
        yield Finding(
            ("spec", "loader"), "a loader needs a path (or firmware: efi, for libvirt to pick one)"
        )
    if loader.get("stateless") is False and loader.get("type") != "pflash":
        # libvirt: "Only pflash loader type permits NVRAM".
        yield Finding(
            ("spec", "loader", "stateless"),
            "a loader with an NVRAM store (stateless: false) is a flash one: set type: pflash",
        )
    if loader.get("secure") and not spec.get("features", {}).get("smm"):
        # libvirt: "Secure boot requires SMM feature enabled".
        yield Finding(
            ("spec", "loader", "secure"),
            "a secure-boot loader needs SMM: set features.smm: true",
        )


def _features_need_autoselection(spec: Spec) -> Iterator[Finding]:
    wanted = spec.get("firmwareFeatures")
    if wanted is None:
        return
    if spec.get("firmware") != "efi":
        yield Finding(
            ("spec", "firmwareFeatures"),
            "firmware features tell libvirt which UEFI build to pick: set firmware: efi",
        )
    if wanted.get("enrolledKeys") and wanted.get("secureBoot") is False:
        yield Finding(
            ("spec", "firmwareFeatures", "enrolledKeys"),
            "enrolled keys are secure boot's: they need secureBoot (true, or left out)",
        )


def _nvram_needs_uefi(spec: Spec) -> Iterator[Finding]:
    if "nvram" not in spec:
        return
    if spec.get("firmware") == "efi":
        if "template" in spec["nvram"]:
            # libvirt: "nvram attribute 'template' cannot be specified when firmware
            # autoselection is enabled": the template comes with the build it picks.
            yield Finding(
                ("spec", "nvram", "template"),
                "with firmware: efi libvirt picks the template with the firmware: leave it out",
            )
        return
    if spec.get("loader", {}).get("type") != "pflash":
        yield Finding(
            ("spec", "nvram"),
            "an NVRAM store belongs to a pflash loader (loader.type: pflash) or to firmware: efi",
        )


# --- lowering and lifting ------------------------------------------------------------------


def lower_firmware(spec: Spec, identity: Identity) -> str | None:
    # bios is the machine's default, which libvirt needs not be told; told, libvirt 9.0
    # looks for a BIOS firmware descriptor at start, which Debian's QEMU does not ship
    # ("Unable to find any firmware to satisfy 'bios'"). So import reports one as a loss.
    return "efi" if spec.get("firmware") == "efi" else None


def lift_firmware(firmware: str | None, spec: Spec, identity: Identity) -> str | None:
    return "efi" if firmware == "efi" else None


def running_firmware(running: str | None, wanted: str | None) -> str | None:
    # libvirt replaces firmware='efi' with the OVMF loader and NVRAM it picked at start.
    return "efi" if wanted == "efi" and running is None else running


def lower_features(spec: Spec, identity: Identity) -> FirmwareFeatures | None:
    wanted = spec.get("firmwareFeatures")
    if not wanted:
        return None
    return FirmwareFeatures(
        features=tuple(
            FirmwareFeature(enabled=wanted[key], name=name)
            for key, name in _FIRMWARE_FEATURES
            if key in wanted
        )
    )


def lift_features(
    firmware: FirmwareFeatures | None, spec: Spec, identity: Identity
) -> dict[str, bool] | None:
    if firmware is None:
        return None
    keys = {name: key for key, name in _FIRMWARE_FEATURES}
    lifted = {
        keys[feature.name]: feature.enabled
        for feature in firmware.features
        if feature.name in keys and feature.enabled is not None
    }
    return lifted or None


def lower_loader(spec: Spec, identity: Identity) -> Loader | None:
    loader = spec.get("loader")
    if not loader:
        return None
    return Loader(**{field: loader.get(key) for key, field in _LOADER_SETTINGS})


def lift_loader(loader: Loader | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if loader is None:
        return None
    lifted = {
        key: getattr(loader, field)
        for key, field in _LOADER_SETTINGS
        if getattr(loader, field) is not None
    }
    return lifted or None


def loader_as_libvirt_stores_it(live: Loader | None, wanted: Loader | None) -> Loader | None:
    if live is not None and live.type == "rom" and (wanted is None or wanted.type is None):
        return dataclasses.replace(live, type=None)  # a loader of no type is a ROM
    return live


def lower_nvram(spec: Spec, identity: Identity) -> Nvram | None:
    nvram = spec.get("nvram")
    if not nvram:
        return None
    return Nvram(template=nvram.get("template"), path=nvram.get("path"))


def lift_nvram(nvram: Nvram | None, spec: Spec, identity: Identity) -> dict[str, str] | None:
    if nvram is None:
        return None
    lifted = {}
    if nvram.path is not None and nvram.path != libvirts_nvram_path(identity.name):
        lifted["path"] = nvram.path
    if nvram.template is not None:
        lifted["template"] = nvram.template
    return lifted or None


def libvirts_nvram_path(name: str) -> str:
    return f"{LIBVIRT_NVRAM_DIR}/{name}_VARS.fd"


def unstated_dropped(live: Any, wanted: Any) -> Any:
    """What libvirt fills in on define (the NVRAM file of a pflash loader) or picks at start
    (the firmware image and NVRAM under firmware='efi'): whatever the spec leaves unsaid
    is libvirt's, and it picks the same again."""
    if live is None:
        return None
    kept = {
        field.name: getattr(live, field.name)
        if wanted is not None and getattr(wanted, field.name) is not None
        else None
        for field in dataclasses.fields(live)
    }
    reduced = type(live)(**kept)
    return None if reduced == type(live)() else reduced


def loader_as_libvirt_starts_it(live: Loader | None, wanted: Loader | None) -> Loader | None:
    return unstated_dropped(live, wanted)


def nvram_as_libvirt_stores_it(live: Nvram | None, wanted: Nvram | None) -> Nvram | None:
    if live is None or (wanted is not None and wanted.path is not None):
        return live
    # The NVRAM file libvirt makes on define for a pflash loader whose spec names none.
    without_path = dataclasses.replace(live, path=None)
    return None if without_path == Nvram() else without_path


def _loader_image(loader: Loader | None) -> tuple[tuple[str, str], ...]:
    return (("loader", loader.path),) if loader and loader.path else ()


def _nvram_template(nvram: Nvram | None) -> tuple[tuple[str, str], ...]:
    # The store itself is libvirt's to make from the template; the template must exist.
    return (("nvram template", nvram.template),) if nvram and nvram.template else ()


CHECKS = (_loader_under_autoselection, _features_need_autoselection, _nvram_needs_uefi)

FIRMWARE = Family(
    spec_field="firmware",
    schema=FIRMWARE_SCHEMA,
    place=Place.OS,
    config_field="firmware",
    lower=lower_firmware,
    lift=lift_firmware,
    checks=CHECKS,
    libvirt_resolves_at_start=running_firmware,
)
FIRMWARE_FEATURES = Family(
    spec_field="firmwareFeatures",
    schema=FIRMWARE_FEATURES_SCHEMA,
    place=Place.OS,
    config_field="firmware_features",
    lower=lower_features,
    lift=lift_features,
)
LOADER = Family(
    spec_field="loader",
    schema=LOADER_SCHEMA,
    place=Place.OS,
    config_field="loader",
    lower=lower_loader,
    lift=lift_loader,
    libvirt_fills_in=loader_as_libvirt_stores_it,
    libvirt_resolves_at_start=loader_as_libvirt_starts_it,
    host_paths=_loader_image,
)
NVRAM = Family(
    spec_field="nvram",
    schema=NVRAM_SCHEMA,
    place=Place.OS,
    config_field="nvram",
    lower=lower_nvram,
    lift=lift_nvram,
    libvirt_fills_in=nvram_as_libvirt_stores_it,
    libvirt_resolves_at_start=unstated_dropped,
    host_paths=_nvram_template,
)
FAMILIES = (FIRMWARE, FIRMWARE_FEATURES, LOADER, NVRAM)
