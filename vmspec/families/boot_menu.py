"""``<os><bootmenu>``: the firmware's interactive boot menu, and how long it waits for a
key (formatdomain "BIOS bootloader")."""

from __future__ import annotations

from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, config_class
from vmspec.families.family import Family, Identity, Place, Spec


@config_class
class BootMenu:
    TAG: ClassVar[str] = "bootmenu"
    enable: bool | None = attr("enable")
    timeout: int | None = attr("timeout")  # milliseconds


SCHEMA = {
    "type": "object",
    "description": "the firmware's interactive boot menu; absent: the firmware's own default (no menu)",
    "properties": {
        "enabled": {"type": "boolean", "description": "whether the menu is shown"},
        "timeout": {
            "type": "integer",
            "minimum": 0,
            "maximum": 65535,
            "description": "how long the menu waits for a key, in milliseconds",
        },
    },
    "required": ["enabled"],
    "additionalProperties": False,
    "examples": [{"enabled": True, "timeout": 3000}, {"enabled": False}],
}


def lower(spec: Spec, identity: Identity) -> BootMenu | None:
    menu = spec.get("bootMenu")
    if menu is None:
        return None
    return BootMenu(enable=menu["enabled"], timeout=menu.get("timeout"))


def lift(menu: BootMenu | None, spec: Spec, identity: Identity) -> dict[str, Any] | None:
    if menu is None or menu.enable is None:
        return None  # a menu without enable is refused by libvirt's schema
    return {
        "enabled": menu.enable,
        **({"timeout": menu.timeout} if menu.timeout is not None else {}),
    }


FAMILY = Family(
    spec_field="bootMenu",
    schema=SCHEMA,
    place=Place.OS,
    config_field="bootmenu",
    lower=lower,
    lift=lift,
)
