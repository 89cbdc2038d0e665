"""``<filesystem>``: a host folder the guest mounts by its tag (formatdomain
"Filesystems"), through virtiofs (``driver: virtiofs``, virtiofsd on the host) or 9p
(``driver: path`` or ``handle``, QEMU's own server; no driver: QEMU's default, 9p).

Only folders (``type='mount'``) are spoken; libvirt's other types (file, block, ram,
bind, template) are for LXC and other drivers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.allocation import Address, DeviceAlias
from vmspec.config.xmlmap import ON_OFF, attr, child, config_class, flag
from vmspec.families.family import Family, Identity, Place, PolicyDefault, Spec
from vmspec.families.memory_backing import shared_memory
from vmspec.problems import Finding


@config_class
class FilesystemDriver:
    TAG: ClassVar[str] = "driver"
    type: str | None = attr("type")
    queue: int | None = attr("queue")  # virtiofs: the virtqueue's size


@config_class
class VirtiofsCache:
    TAG: ClassVar[str] = "cache"
    mode: str | None = attr("mode")


@config_class
class VirtiofsBinary:
    """``<binary>``: how libvirt runs virtiofsd for this folder."""

    TAG: ClassVar[str] = "binary"
    path: str | None = attr("path")
    xattr: bool | None = attr("xattr", codec=ON_OFF)
    cache: VirtiofsCache | None = child()


@config_class
class FilesystemSource:
    TAG: ClassVar[str] = "source"
    dir: str | None = attr("dir")


@config_class
class FilesystemTarget:
    TAG: ClassVar[str] = "target"
    dir: str | None = attr("dir")  # not a folder: the tag the guest mounts


@config_class
class Filesystem:
    TAG: ClassVar[str] = "filesystem"
    # The guest mounts a share by its tag, so the tag is what names it.
    IDENTITY: ClassVar[tuple[str, ...]] = ("target/@dir",)
    type: str | None = attr("type")
    accessmode: str | None = attr("accessmode")
    driver: FilesystemDriver | None = child()
    binary: VirtiofsBinary | None = child()
    source: FilesystemSource | None = child()
    target: FilesystemTarget | None = child()
    readonly: bool = flag("readonly")
    alias: DeviceAlias | None = child()
    address: Address | None = child()  # libvirt's to allocate (vmspec/config/allocation.py)


ACCESSMODE_REASON = (
    "libvirt's default for QEMU, written out so that a normalized definition compares equal"
)
DEFAULT_TYPE = "mount"  # ACCESSMODE_REASON
DEFAULT_ACCESSMODE = "passthrough"
NINE_P_DRIVERS = ("path", "handle")
# QEMU's vhost-user-fs: the tag fills the 36 bytes of virtio_fs_config.tag, or "tag is too long".
VIRTIOFS_TAG_BYTES = 36
VIRTIOFS_ONLY = ("queue", "binary")
NINE_P_ONLY = ("accessmode", "readonly")

SCHEMA = {
    "type": "array",
    "description": "host folders the guest mounts by tag, through virtiofs or 9p",
    "items": {
        "type": "object",
        "properties": {
            "driver": {
                "enum": ["virtiofs", *NINE_P_DRIVERS],
                "description": "virtiofs (needs memoryBacking access shared), or 9p's path or handle; absent: QEMU's default, 9p",
            },
            "source": {"$ref": "#/$defs/absolutePath", "description": "the host folder"},
            "target": {
                "type": "string",
                "pattern": "^[^\\r\\n]+$",
                "maxLength": 255,
                "description": "the tag the guest mounts it by (mount -t virtiofs TAG /mnt)",
            },
            "queue": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1024,
                "description": "virtiofs: the size of its request queue",
            },
            "binary": {
                "type": "object",
                "properties": {
                    "path": {"$ref": "#/$defs/absolutePath", "description": "virtiofsd"},
                    "xattr": {"type": "boolean", "description": "pass extended attributes"},
                    "cache": {
                        "enum": ["none", "always"],
                        "description": "how long the guest may cache file data and metadata",
                    },
                },
                "additionalProperties": False,
                "minProperties": 1,
                "description": "virtiofs: how libvirt runs virtiofsd",
            },
            "accessmode": {
                "enum": ["passthrough", "mapped", "squash"],
                "description": "9p: how the guest's file owners map to the host's; default: passthrough",
            },
            "readonly": {"type": "boolean", "description": "9p: the guest cannot write"},
        },
        "required": ["source", "target"],
        "additionalProperties": False,
    },
    "examples": [
        [{"driver": "virtiofs", "source": "/srv/share", "target": "share"}],
        [
            {
                "driver": "virtiofs",
                "source": "/srv/data",
                "target": "data",
                "queue": 1024,
                "binary": {"path": "/usr/lib/qemu/virtiofsd", "xattr": True, "cache": "always"},
            },
            {"driver": "path", "source": "/srv/iso", "target": "iso", "readonly": True},
            {"source": "/srv/home", "target": "home", "accessmode": "mapped"},
        ],
    ],
}


def policy_defaults(spec: Spec, identity: Identity) -> Iterator[PolicyDefault]:
    for index, share in enumerate(spec.get("filesystems", [])):
        if "accessmode" not in share:
            path = ("spec", "filesystems", index, "accessmode")
            yield PolicyDefault(path, DEFAULT_ACCESSMODE, ACCESSMODE_REASON)


def lower(spec: Spec, identity: Identity) -> tuple[Filesystem, ...]:
    return tuple(_filesystem(share) for share in spec.get("filesystems", []))


def _filesystem(share: dict[str, Any]) -> Filesystem:
    driver = share.get("driver")
    return Filesystem(
        type=DEFAULT_TYPE,
        accessmode=share.get("accessmode", DEFAULT_ACCESSMODE),
        driver=FilesystemDriver(type=driver, queue=share.get("queue")) if driver else None,
        binary=_binary(share["binary"]) if "binary" in share else None,
        source=FilesystemSource(dir=share["source"]),
        target=FilesystemTarget(dir=share["target"]),
        readonly=share.get("readonly", False),
    )


def _binary(binary: dict[str, Any]) -> VirtiofsBinary:
    cache = binary.get("cache")
    return VirtiofsBinary(
        path=binary.get("path"),
        xattr=binary.get("xattr"),
        cache=VirtiofsCache(mode=cache) if cache else None,
    )


def lift(
    filesystems: tuple[Filesystem, ...], spec: Spec, identity: Identity
) -> list[dict[str, Any]] | None:
    # What a share has beyond these (another type, a socket source) the self-check names.
    lifted = [_lift_one(share) for share in filesystems]
    return lifted or None


def _lift_one(share: Filesystem) -> dict[str, Any]:
    lifted: dict[str, Any] = {}
    if share.driver and share.driver.type:
        lifted["driver"] = share.driver.type
    if share.source and share.source.dir:
        lifted["source"] = share.source.dir
    if share.target and share.target.dir:
        lifted["target"] = share.target.dir
    if share.driver and share.driver.queue is not None:
        lifted["queue"] = share.driver.queue
    if share.binary:
        binary = {"path": share.binary.path, "xattr": share.binary.xattr}
        binary["cache"] = share.binary.cache.mode if share.binary.cache else None
        lifted["binary"] = {key: value for key, value in binary.items() if value is not None}
    if share.accessmode not in (None, DEFAULT_ACCESSMODE):
        lifted["accessmode"] = share.accessmode
    if share.readonly:
        lifted["readonly"] = True
    return lifted


def as_libvirt_stores_it(
    filesystems: tuple[Filesystem, ...], wanted: Any
) -> tuple[Filesystem, ...]:
    """libvirt's QEMU driver writes type='mount' and accessmode='passthrough' where a
    definition leaves them out (seen with libvirt 9.0: define, dumpxml --inactive)."""
    return tuple(
        dataclasses.replace(
            share,
            type=share.type or DEFAULT_TYPE,
            accessmode=share.accessmode or DEFAULT_ACCESSMODE,
        )
        for share in filesystems
    )


def as_libvirt_starts_it(
    filesystems: tuple[Filesystem, ...], wanted: tuple[Filesystem, ...]
) -> tuple[Filesystem, ...]:
    """Where a virtiofs share names no virtiofsd, libvirt picks one from QEMU's
    vhost-user descriptors (/usr/share/qemu/vhost-user) at start and writes its path into
    the running definition; the next start picks from the same descriptors."""
    wanted_by_tag = {share.target.dir: share for share in wanted if share.target}
    return tuple(
        _without_picked_binary(wanted_by_tag.get(share.target.dir if share.target else None), share)
        for share in filesystems
    )


def _without_picked_binary(wanted: Filesystem | None, running: Filesystem) -> Filesystem:
    if wanted is None or running.binary is None or running.binary.path is None:
        return running
    if wanted.binary is not None and wanted.binary.path is not None:
        return running  # the spec's own virtiofsd: a different one is a real change
    binary = dataclasses.replace(running.binary, path=None)
    return dataclasses.replace(running, binary=None if binary == VirtiofsBinary() else binary)


def _virtiofs_needs_shared_memory(spec: Spec) -> Iterator[Finding]:
    if shared_memory(spec):
        return
    for index, share in enumerate(spec.get("filesystems", [])):
        if share.get("driver") == "virtiofs":
            # libvirt refuses it at define: "'virtiofs' requires shared memory".
            message = (
                "virtiofs needs the guest's memory shared with virtiofsd: add "
                "memoryBacking: {source: memfd, access: shared}"
            )
            yield Finding(("spec", "filesystems", index, "driver"), message)


def _driver_fields(spec: Spec) -> Iterator[Finding]:
    for index, share in enumerate(spec.get("filesystems", [])):
        virtiofs = share.get("driver") == "virtiofs"
        others = NINE_P_ONLY if virtiofs else VIRTIOFS_ONLY
        for key in others:
            if share.get(key) in (None, False) or (virtiofs and share[key] == DEFAULT_ACCESSMODE):
                continue  # what is no change to the driver's own behaviour
            if virtiofs:
                # libvirt 9.0: "virtiofs only supports passthrough accessmode",
                # "virtiofs does not yet support read-only mode".
                message = f"{key} is 9p's: virtiofs passes the host's owners through and cannot be read-only"
            else:
                message = f"{key} is virtiofs's: add driver: virtiofs, or leave {key} out for 9p"
            yield Finding(("spec", "filesystems", index, key), message)


def _tags(spec: Spec) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for index, share in enumerate(spec.get("filesystems", [])):
        tag = share["target"]
        where = ("spec", "filesystems", index, "target")
        if tag in first:
            message = f"tag {tag!r} is also filesystems[{first[tag]}]'s: the guest mounts each share by its own tag"
            yield Finding(where, message)
        first.setdefault(tag, index)
        if share.get("driver") == "virtiofs" and len(tag.encode()) > VIRTIOFS_TAG_BYTES:
            message = f"a virtiofs tag is at most {VIRTIOFS_TAG_BYTES} bytes: QEMU refuses a longer one at start"
            yield Finding(where, message)


def _share_folders(shares: tuple[Filesystem, ...]) -> list[tuple[str, str]]:
    return [
        (f"filesystem {share.target.dir if share.target else '?'}", share.source.dir)
        for share in shares
        if share.source and share.source.dir
    ]


FAMILY = Family(
    spec_field="filesystems",
    schema=SCHEMA,
    place=Place.DEVICES,
    config_field="filesystems",
    lower=lower,
    lift=lift,
    checks=(_virtiofs_needs_shared_memory, _driver_fields, _tags),
    libvirt_fills_in=as_libvirt_stores_it,
    libvirt_resolves_at_start=as_libvirt_starts_it,
    host_paths=_share_folders,
    policy_defaults=policy_defaults,
)
