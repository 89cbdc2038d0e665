"""Display passwords and disk secrets: read from a file or the environment at apply time,
put into the XML libvirt defines (passwords) or into a libvirt secret (disks' auth and
encryption), and nowhere else.

Compiled XML never carries them (golden files live in Git), plans compare without them
(libvirt shows a password only with VIR_DOMAIN_XML_SECURE, which vmspec never asks for),
and no message names a password's value, only where it comes from.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

from lxml import etree

from vmspec.compare.model import PasswordSource
from vmspec.config.domain import Domain
from vmspec.families.disk.secrets import ManagedSecret, secret_uuid
from vmspec.host.errors import HostError
from vmspec.host.plan_memo import SECRET_LENGTH_THAT_MATTERS, read_secret_file

# The VNC protocol uses the first 8 characters: a longer password would look stronger than
# it is. (A plan's memo keeps whether a password is longer: the same number.)
VNC_PASSWORD_LIMIT = SECRET_LENGTH_THAT_MATTERS


def _read(file: str | None, env: str | None, where: str, operation: str, vm: str) -> str:
    """A secret's value, read now; an error names where it should come from, never a value."""
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise HostError(operation, f"the environment variable {env} is not set", vm)
    else:
        try:
            value = read_secret_file(file).rstrip("\n")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not UTF-8 text"
            raise HostError(operation, f"{file}: {reason}", vm) from None
    if not value:
        raise HostError(operation, f"{where} is empty", vm)
    return value


def read_password(source: PasswordSource, vm: str) -> str:
    """The display password, read now."""
    value = _read(source.file, source.env, source.where, "reading the display password", vm)
    if source.graphics_type == "vnc" and len(value) > VNC_PASSWORD_LIMIT:
        message = f"{source.where} holds more than {VNC_PASSWORD_LIMIT} characters, and VNC uses only the first {VNC_PASSWORD_LIMIT}"
        raise HostError("reading the display password", message, vm)
    return value


def password_sources(spec: dict[str, Any]) -> tuple[PasswordSource, ...]:
    return tuple(
        PasswordSource(graphics["type"], graphics.get("passwordFile"), graphics.get("passwordEnv"))
        for graphics in spec.get("graphics", [])
        if "passwordFile" in graphics or "passwordEnv" in graphics
    )


def with_passwords(domain: Domain, passwords: dict[str, str]) -> Domain:
    """``domain`` with ``passwd`` set on each display that has one (by type): the one
    place a password enters a config object, right before apply emits and defines it
    (Graphics.passwd is a secret: no repr, plan or diff shows it)."""
    if not passwords or domain.devices is None:
        return domain
    displays = tuple(
        dataclasses.replace(graphics, passwd=passwords[graphics.type])
        if graphics.type in passwords
        else graphics
        for graphics in domain.devices.graphics
    )
    return dataclasses.replace(
        domain, devices=dataclasses.replace(domain.devices, graphics=displays)
    )


def read_disk_secret(secret: ManagedSecret) -> str:
    """The value of a disk's secret (auth or encryption), read now."""
    operation = f"reading the secret of disk {secret.target}'s {secret.purpose}"
    return _read(secret.file, secret.env, secret.where, operation, secret.vm)


_DESCRIPTION = "vmspec: {purpose} of disk {target} of {vm}"
_DESCRIBED = re.compile(r"vmspec: (auth|encryption) of disk (\S+) of (.+)")


def disk_secret_xml(secret: ManagedSecret) -> str:
    """The libvirt secret apply defines for a disk: private (libvirt never hands the value
    out again) and kept across libvirtd restarts; its uuid is the one the domain names."""
    root = etree.Element("secret", ephemeral="no", private="yes")
    etree.SubElement(root, "description").text = _DESCRIPTION.format(
        purpose=secret.purpose, target=secret.target, vm=secret.vm
    )
    etree.SubElement(root, "uuid").text = secret.uuid
    if secret.usage_type is not None:
        # libvirt needs a usage for ceph and iscsi secrets; names are unique per type.
        usage = etree.SubElement(root, "usage", type=secret.usage_type)
        tag = "name" if secret.usage_type == "ceph" else "target"
        etree.SubElement(usage, tag).text = secret.usage_name
    return etree.tostring(root, encoding="unicode")


def disk_secrets_defined_for(secrets: Any, vm: str, domain_uuid: str) -> list[tuple[str, Any]]:
    """Of libvirt's ``secrets``, those apply defined for a disk of ``vm``, each with what it
    was for (``auth of vdb``). A secret counts only when its description says so and its
    uuid is the one vmspec derives for that disk of this very domain: a secret someone
    defined by hand is never taken, whatever its description says."""
    found = []
    for secret in secrets:
        described = _DESCRIBED.fullmatch(_description(secret))
        if described is None or described[3] != vm:
            continue
        purpose, target = described[1], described[2]
        if secret.UUIDString() == secret_uuid(domain_uuid, target, purpose):
            found.append((f"{purpose} of {target}", secret))
    return found


def _description(secret: Any) -> str:
    return etree.fromstring(secret.XMLDesc(0)).findtext("description") or ""
