"""YAML that vmspec writes (imported specs, cloud-init seeds), as text that reads back
as the same data.

PyYAML with ``allow_unicode`` writes U+0085 (NEL), U+2028 and U+2029 raw inside quoted
scalars, yet YAML 1.1 counts them as line breaks: a reader folds them into spaces
(PyYAML does so for NEL), and editors may break the line there. Strings holding one
are written double-quoted, where the emitter escapes them as \\N, \\L and \\P.
"""

from __future__ import annotations

from typing import Any

import yaml

# The characters YAML 1.1 treats as line breaks besides \n and \r, which PyYAML already
# writes so that they read back (a folded block, or an escaped double-quoted string).
YAML_ONLY_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


class HexInt(int):
    """A whole number that reads better in hex (a USB vendor id, as lsusb shows it):
    written 0x0529, which YAML reads back as the same number."""


class _SpecDumper(yaml.SafeDumper):
    """SafeDumper, with text holding a YAML-only line break written double-quoted."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if any(line_break in text for line_break in YAML_ONLY_LINE_BREAKS):
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
    return dumper.represent_str(text)


def _represent_hex(dumper: yaml.SafeDumper, number: HexInt) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:int", f"0x{number:04x}")


_SpecDumper.add_representer(str, _represent_text)
_SpecDumper.add_representer(HexInt, _represent_hex)


def dump_spec_yaml(document: Any, *, sort_keys: bool = False) -> str:
    """``document`` as UTF-8-friendly block YAML, every string exact; in its own key
    order unless ``sort_keys``."""
    return yaml.dump(
        document,
        Dumper=_SpecDumper,
        sort_keys=sort_keys,
        default_flow_style=False,
        allow_unicode=True,
    )
