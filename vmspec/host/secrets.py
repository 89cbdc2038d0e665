"""Display passwords: read from a file or the environment at apply time, put into the XML
libvirt defines, and nowhere else.

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
from vmspec.host.errors import HostError

# The VNC protocol uses the first 8 characters: a longer password would look stronger than it is.
VNC_PASSWORD_LIMIT = 8


def read_password(source: PasswordSource, vm: str) -> str:
    """The password, read now; an error names where it should come from, never a value."""
    if source.env is not None:
        value = os.environ.get(source.env)
        if value is None:
            raise HostError(
                "reading the display password",
                f"the environment variable {source.env} is not set",
                vm,
            )
    else:
        try:
            value = Path(source.file).read_text(encoding="utf-8").rstrip("\n")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not UTF-8 text"
            raise HostError(
                "reading the display password", f"{source.file}: {reason}", vm
            ) from None
    if not value:
        raise HostError("reading the display password", f"{source.where} is empty", vm)
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
