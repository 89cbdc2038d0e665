"""A disk's I/O limits, network credentials and encryption: the spec's words for
libvirt's ``<iotune>``, ``<auth>`` and ``<encryption>``, lowered and lifted (a part of
the disk family).

A secret's value never reaches the spec nor the XML: the spec names a libvirt secret
that exists (``secretUsage``, ``secretUuid``), or where apply reads the value from
(``secretFile``, ``secretEnv``), in which case apply defines the libvirt secret itself,
under a uuid derived from the VM's uuid, the disk's target and the secret's purpose.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

from vmspec.families.disk.config import DiskAuth, DiskEncryption, DiskIoTune, SecretReference

# The spec's name of each <iotune> child (libvirt's, in camelCase), in libvirt's order.
IOTUNE_FIELDS = {
    "".join(
        word.capitalize() if position else word for position, word in enumerate(name.split("_"))
    ): name
    for name in (field.name for field in dataclasses.fields(DiskIoTune))
}

SECRET_SOURCES = ("secretFile", "secretEnv", "secretUsage", "secretUuid")
"""Where a disk's secret comes from: exactly one of these."""
MANAGED_SECRET_SOURCES = ("secretFile", "secretEnv")
"""... of which these two make apply define the libvirt secret."""

# The <secret type> libvirt expects for each network protocol's credentials.
AUTH_SECRET_TYPES = {"rbd": "ceph", "iscsi": "iscsi"}
ENCRYPTION_SECRET_TYPE = "passphrase"
# What libvirt 9.0 writes when the definition names no engine.
DEFAULT_ENCRYPTION_ENGINE = "qemu"

# uuid5(vmspec.lower.identity.DOMAIN_UUID_NAMESPACE, "Secret"), written out since a
# family cannot import lowering (which loops over the families); a test checks it.
# Never change it, or every managed secret moves.
SECRET_UUID_NAMESPACE = uuid.UUID("9b0cc7e5-ed30-5008-9edd-dd9233407f7d")


def secret_uuid(domain_uuid: str, target: str, purpose: str) -> str:
    """The uuid of the libvirt secret apply defines for a disk's ``auth`` or ``encryption``."""
    return str(uuid.uuid5(SECRET_UUID_NAMESPACE, f"{domain_uuid}/{target}/{purpose}"))


@dataclass(frozen=True, slots=True)
class ManagedSecret:
    """A libvirt secret apply defines: where its value comes from, never the value."""

    vm: str
    target: str
    purpose: str  # auth | encryption
    uuid: str
    usage_type: str | None  # ceph | iscsi for auth (libvirt needs one); None: no usage
    file: str | None
    env: str | None

    @property
    def where(self) -> str:
        return f"secretFile {self.file}" if self.file else f"secretEnv {self.env}"

    @property
    def usage_name(self) -> str:
        return f"vmspec/{self.vm}/{self.target}/{self.purpose}"


def managed_secrets(spec: dict[str, Any], vm: str, domain_uuid: str) -> tuple[ManagedSecret, ...]:
    found = []
    for disk in spec.get("disks", []):
        for purpose in ("auth", "encryption"):
            section = disk.get(purpose)
            if section is None or not any(key in section for key in MANAGED_SECRET_SOURCES):
                continue
            usage_type = _secret_type(disk, purpose)
            found.append(
                ManagedSecret(
                    vm,
                    disk["target"],
                    purpose,
                    secret_uuid(domain_uuid, disk["target"], purpose),
                    None if usage_type == ENCRYPTION_SECRET_TYPE else usage_type,
                    section.get("secretFile"),
                    section.get("secretEnv"),
                )
            )
    return tuple(found)


def _secret_type(disk: dict[str, Any], purpose: str) -> str:
    if purpose == "encryption":
        return ENCRYPTION_SECRET_TYPE
    return AUTH_SECRET_TYPES.get(disk.get("network", {}).get("protocol"), "ceph")


def _secret(disk: dict[str, Any], purpose: str, domain_uuid: str) -> SecretReference:
    section = disk[purpose]
    kind = _secret_type(disk, purpose)
    if "secretUsage" in section:
        return SecretReference(type=kind, usage=section["secretUsage"])
    if "secretUuid" in section:
        return SecretReference(type=kind, uuid=section["secretUuid"].lower())
    return SecretReference(type=kind, uuid=secret_uuid(domain_uuid, disk["target"], purpose))


# --- lowering ---------------------------------------------------------------------------


def iotune(disk: dict[str, Any]) -> DiskIoTune | None:
    limits = disk.get("iotune")
    if not limits:
        return None
    return DiskIoTune(**{IOTUNE_FIELDS[key]: value for key, value in limits.items()})


def auth(disk: dict[str, Any], domain_uuid: str) -> DiskAuth | None:
    if "auth" not in disk:
        return None
    return DiskAuth(username=disk["auth"]["username"], secret=_secret(disk, "auth", domain_uuid))


def encryption(disk: dict[str, Any], domain_uuid: str) -> DiskEncryption | None:
    if "encryption" not in disk:
        return None
    return DiskEncryption(
        format="luks",
        engine=DEFAULT_ENCRYPTION_ENGINE,
        secret=_secret(disk, "encryption", domain_uuid),
    )


# --- lifting ----------------------------------------------------------------------------


def lift_iotune(limits: DiskIoTune | None) -> dict[str, Any] | None:
    if limits is None:
        return None
    lifted = {
        key: getattr(limits, field)
        for key, field in IOTUNE_FIELDS.items()
        if getattr(limits, field) is not None
    }
    return lifted or None


def lift_secret(secret: SecretReference | None) -> dict[str, Any] | None:
    """The spec's source of a referenced secret: libvirt keeps the value, so import names
    the secret (a secret vmspec defined too: its file or variable is nowhere in the XML)."""
    if secret is None:
        return None
    if secret.usage:
        return {"secretUsage": secret.usage}
    if secret.uuid:
        return {"secretUuid": secret.uuid}
    return None
