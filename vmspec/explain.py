"""``vmspec explain``: a VM's fully resolved spec, each value with where it came from.

A value a file wrote names that file and line (the VM's own file, or the profile's);
a value the policy set where every file is silent names the rule's reason. Pure: the
host's facts (is it itself a VM?) come in as an argument, read by the CLI with -c.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from vmspec.load import SourceDocument
from vmspec.lower.defaults import policy_defaults
from vmspec.problems import FieldPath

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# Comments start in this column, or two spaces after a longer line.
_COMMENT_COLUMN = 44


@dataclass(frozen=True, slots=True)
class Explanation:
    data: dict[str, Any]
    """The document with the policy's defaults laid in where the files are silent."""
    origins: dict[FieldPath, str]
    """Where each value came from: FILE:LINE, or ``policy: REASON``."""


def explain(document: SourceDocument, *, nested_kvm_host: bool = False) -> Explanation:
    """``document`` (a valid VirtualMachine, its profiles laid in) with its origins."""
    origins: dict[FieldPath, str] = {}
    _origins_of(document, document.data, (), origins)
    data = document.data
    for default in policy_defaults(data, nested_kvm_host=nested_kvm_host):
        data = _with_value(data, default.path, default.value)
        origins[default.path] = f"policy: {default.reason}"
    return Explanation(data, origins)


def parse_field(text: str) -> FieldPath:
    """``spec.disks[0].cache`` → ('spec', 'disks', 0, 'cache'); ValueError if malformed."""
    parts: list[str | int] = []
    position = 0
    for match in _PATH_PART.finditer(text):
        separator = text[position : match.start()]
        if separator not in ("", ".") or (separator == "" and match.group(1) and parts):
            break
        parts.append(match.group(1) if match.group(1) else int(match.group(2)))
        position = match.end()
    if not parts or position != len(text):
        raise ValueError(f"{text!r} is not a field path such as spec.disks[0].cache")
    return tuple(parts)


def show_field(path: FieldPath) -> str:
    return "".join(
        f"[{part}]" if isinstance(part, int) else f"{'.' if index else ''}{part}"
        for index, part in enumerate(path)
    )


def field_lines(explanation: Explanation, path: FieldPath) -> list[str]:
    """One field of the explanation (a whole mapping or list if it is one)."""
    value: Any = explanation.data
    for part in path:
        found = _step(value, part)
        if found is None:
            return [f"{show_field(path)}: not set (libvirt's or QEMU's own default applies)"]
        value = found[0]
    origins = explanation.origins
    if path not in origins:
        # Inside a mapping the policy set as a whole: that mapping's reason is this value's.
        around = next(
            (path[:end] for end in range(len(path), 0, -1) if path[:end] in origins), None
        )
        if around is not None:
            origins = {**origins, path: origins[around]}
    return _lines({show_field(path): value}, (), origins, prefix=path[:-1])


def document_lines(explanation: Explanation) -> list[str]:
    return _lines(explanation.data, (), explanation.origins)


def _origins_of(
    document: SourceDocument, value: Any, path: FieldPath, origins: dict[FieldPath, str]
) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _origins_of(document, item, (*path, key), origins)
    elif isinstance(value, list) and value and not _is_flow(value):
        for index, item in enumerate(value):
            _origins_of(document, item, (*path, index), origins)
    else:
        file, line, _ = document.where(path)
        origins[path] = f"{file}:{line}"


def _with_value(data: Any, path: FieldPath, value: Any) -> Any:
    """``data`` with ``value`` at ``path``, copying only the containers on the way; an
    index one past a list's end (or 0 where there is no list) appends an item."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        copied = list(data or ())
        if head == len(copied):
            copied.append(None)
        copied[head] = _with_value(copied[head], rest, value)
        return copied
    copied_mapping = dict(data) if isinstance(data, dict) else {}
    copied_mapping[head] = _with_value(copied_mapping.get(head), rest, value)
    return copied_mapping


def _step(value: Any, part: str | int) -> tuple[Any] | None:
    if isinstance(value, dict) and part in value:
        return (value[part],)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return (value[part],)
    return None


def _is_flow(value: Any) -> bool:
    """A list written on one line: of scalars only (boot: [hd, network])."""
    return isinstance(value, list) and not any(isinstance(item, (dict, list)) for item in value)


def _lines(
    mapping: dict[str, Any],
    path: FieldPath,
    origins: dict[FieldPath, str],
    *,
    indent: str = "",
    prefix: FieldPath = (),
) -> list[str]:
    """YAML of ``mapping``, each leaf with its origin as a comment. ``prefix`` is the path
    of ``mapping`` in the document when it is shown alone (one field)."""
    lines: list[str] = []
    for key, value in mapping.items():
        here = (*path, key) if not prefix else (*prefix, *_last(key))
        if isinstance(value, dict) and value:
            # A mapping or list the policy set as a whole (a clock timer) has its origin here.
            lines.append(_commented(f"{indent}{key}:", origins.get(here)))
            lines.extend(_lines(value, here, origins, indent=indent + "  "))
        elif isinstance(value, list) and value and not _is_flow(value):
            lines.append(_commented(f"{indent}{key}:", origins.get(here)))
            for index, item in enumerate(value):
                lines.extend(_item_lines(item, (*here, index), origins, indent))
        else:
            lines.append(_commented(f"{indent}{key}: {_flow(value)}", origins.get(here)))
    return lines


def _item_lines(
    item: Any, path: FieldPath, origins: dict[FieldPath, str], indent: str
) -> list[str]:
    if isinstance(item, dict) and item:
        if path in origins:
            # An item the policy added as a whole (a controller): its reason, on its first line.
            origins = {**origins, (*path, next(iter(item))): origins[path]}
        lines = _lines(item, path, origins, indent=indent + "    ")
        lines[0] = f"{indent}  - {lines[0][len(indent) + 4 :]}"
        return lines
    return [_commented(f"{indent}  - {_flow(item)}", origins.get(path))]


def _last(key: str) -> FieldPath:
    # A field shown alone is keyed by its whole path: its last part is what it names.
    parsed = parse_field(key)
    return parsed[-1:]


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...")


def _commented(line: str, origin: str | None) -> str:
    if origin is None:
        return line
    return f"{line.ljust(_COMMENT_COLUMN - 2)}  # {origin}"
