"""Field-by-field differences between two config objects, in libvirt's words.

Devices are matched by what identifies them (a disk by its target, a NIC by its
MAC), so removing the second disk reads as one removal, not as every later disk
changing. Each change carries its class: ``live`` (a running guest can take it
now, with --live), ``restart`` (takes effect at the next boot) or ``config``
(only the stored definition cares).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from lxml import etree

from vmspec.compare.model import Change, ChangeClass
from vmspec.config.matching import config_identity, hot_pluggable
from vmspec.config.xmlmap import to_element, xml_names, xml_value


def changes_between(before: Any, after: Any, root: str = "") -> list[Change]:
    return list(_walk(before, after, root))


def _walk(before: Any, after: Any, path: str):
    if before == after:
        return
    if (
        dataclasses.is_dataclass(before)
        and dataclasses.is_dataclass(after)
        and type(before) is type(after)
    ):
        cls = type(before)
        names = xml_names(cls)
        for field in dataclasses.fields(before):
            child_path = _join(path, names[field.name])
            old, new = getattr(before, field.name), getattr(after, field.name)
            if old == new:
                continue
            if _is_scalar(old) and _is_scalar(new):
                shown_old, shown_new = (
                    xml_value(cls, field.name, old),
                    xml_value(cls, field.name, new),
                )
                yield Change(child_path, shown_old, shown_new, classify(child_path, old, new))
            else:
                yield from _walk(old, new, child_path)
        return

    if isinstance(before, tuple) and isinstance(after, tuple):
        yield from _walk_list(before, after, path)
        return
    tag = _last_tag(path)
    yield Change(
        path or "/", _render(before, tag), _render(after, tag), classify(path, before, after)
    )


def _walk_list(before: tuple[Any, ...], after: tuple[Any, ...], path: str):
    before_keys = _unique([_identity(item, index) for index, item in enumerate(before)])
    after_keys = _unique([_identity(item, index) for index, item in enumerate(after)])
    for key, item in zip(before_keys, before, strict=True):
        if key not in after_keys:
            yield Change(
                f"{path}[{key}]", _render(item, _last_tag(path)), None, classify(path, item, None)
            )
    for key, item in zip(after_keys, after, strict=True):
        if key in before_keys:
            yield from _walk(before[before_keys.index(key)], item, f"{path}[{key}]")
        else:
            yield Change(
                f"{path}[{key}]", None, _render(item, _last_tag(path)), classify(path, None, item)
            )


def _unique(keys: list[str]) -> list[str]:
    """Two devices of one identity (a primary and a secondary qxl video) are told apart
    by their order among those: the second is ``qxl#2``."""
    seen: dict[str, int] = {}
    unique = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        unique.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return unique


def _identity(item: Any, index: int) -> str:
    """What names an item across definitions: what its device class declares (a disk's
    target, a NIC's MAC: vmspec/config/matching.py), a timer's or CPU feature's name;
    else its place in the list."""
    declared = config_identity(item) if dataclasses.is_dataclass(item) else None
    if declared:
        return declared
    name = getattr(item, "name", None)
    if isinstance(name, str):
        return name
    return str(index + 1)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, bool))


def _join(path: str, name: str) -> str:
    if name.startswith("@") or name == "text()":
        return f"{path}/{name}" if name != "text()" else path
    return f"{path}/{name}" if path else name


def _last_tag(path: str) -> str | None:
    """The element name a path ends in (``features/pmu`` → ``pmu``): a class that serves
    several elements (on/off switches) takes its tag from the field that holds it."""
    step = re.sub(r"\[[^]]*\]", "", path.rsplit("/", 1)[-1])
    return step if re.fullmatch(r"[A-Za-z][\w.-]*", step) else None


def _render(value: Any, tag: str | None = None) -> str | None:
    if value is None or value == () or value is False:
        return None
    if value is True:
        return "present"
    if dataclasses.is_dataclass(value):
        return etree.tostring(to_element(value, tag, masked=True)).decode()
    if isinstance(value, tuple):
        return " ".join(_render(item, tag) or "" for item in value)
    return str(value)


def classify(path: str, before: Any, after: Any) -> ChangeClass:
    if path.startswith(("metadata", "title", "description")):
        return ChangeClass.CONFIG  # only the stored definition reads these
    whole_device = before is None or after is None
    if whole_device and hot_pluggable(before if after is None else after):
        return ChangeClass.LIVE  # hot-plug: attach or detach on a running guest
    return ChangeClass.RESTART
