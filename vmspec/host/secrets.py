"""Display passwords and disk secrets: read from a file or the environment at apply time,
put into the XML libvirt defines (passwords) or into a libvirt secret (disks' auth and
encryption), and nowhere else.

Compiled XML never carries them (golden files live in Git), plans compare without them
(libvirt shows a password only with VIR_DOMAIN_XML_SECURE, which vmspec never asks for),
and no message names a password's value, only where it comes from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lxml import etree

from vmspec.compare.model import PasswordSource
from vmspec.families.disk.secrets import ManagedSecret
from vmspec.host.errors import HostError

# The VNC protocol uses the first 8 characters: a longer password would look stronger than it is.
VNC_PASSWORD_LIMIT = 8


def _read(file: str | None, env: str | None, where: str, operation: str, vm: str) -> str:
    """A secret's value, read now; an error names where it should come from, never a value."""
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise HostError(operation, f"the environment variable {env} is not set", vm)
    else:
        try:
            value = Path(file).read_text(encoding="utf-8").rstrip("\n")
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


def with_passwords(xml: bytes, passwords: dict[str, str]) -> bytes:
    """The domain XML with ``passwd`` set on each display that has one (by type)."""
    if not passwords:
        return xml
    root = etree.fromstring(xml)
    for graphics in root.iterfind("devices/graphics"):
        password = passwords.get(graphics.get("type"))
        if password is not None:
            graphics.set("passwd", password)
    return etree.tostring(root, encoding="UTF-8")


def read_disk_secret(secret: ManagedSecret) -> str:
    """The value of a disk's secret (auth or encryption), read now."""
    operation = f"reading the secret of disk {secret.target}'s {secret.purpose}"
    return _read(secret.file, secret.env, secret.where, operation, secret.vm)


def disk_secret_xml(secret: ManagedSecret) -> str:
    """The libvirt secret apply defines for a disk: private (libvirt never hands the value
    out again) and kept across libvirtd restarts; its uuid is the one the domain names."""
    root = etree.Element("secret", ephemeral="no", private="yes")
    etree.SubElement(
        root, "description"
    ).text = f"vmspec: {secret.purpose} of disk {secret.target} of {secret.vm}"
    etree.SubElement(root, "uuid").text = secret.uuid
    if secret.usage_type is not None:
        # libvirt needs a usage for ceph and iscsi secrets; names are unique per type.
        usage = etree.SubElement(root, "usage", type=secret.usage_type)
        tag = "name" if secret.usage_type == "ceph" else "target"
        etree.SubElement(usage, tag).text = secret.usage_name
    return etree.tostring(root, encoding="unicode")
