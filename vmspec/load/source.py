"""A loaded YAML document: its plain data and the node tree that knows line and column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from vmspec.problems import FieldPath, Finding, Problem

MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One YAML document of a file.

    ``data`` holds plain Python values (dict, list, str, int, float, bool, None).
    Positions are not copied into the data: ``locate`` walks the node tree along a
    field path, and only when a problem has to be reported, which keeps the hot
    path free of bookkeeping.
    """

    file: str
    root: yaml.Node
    data: Any

    def node_at(self, path: FieldPath) -> tuple[yaml.Node, yaml.Node | None, int]:
        """The deepest node on ``path``, the key node naming it (if any) and how deep it got."""
        node, key_node, depth, _ = self._walk(path)
        return node, key_node, depth

    def locate(self, path: FieldPath, *, at_key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at ``path`` (or of its key with ``at_key``).

        A path that leads past the document's end (a missing field) is located at
        the nearest existing parent. A value that a mapping got from a merge key
        (``<<: *base``) is located at that merge key: that is where this mapping
        took it, while the anchor may serve many.
        """
        node, key_node, depth, merge_key = self._walk(path)
        mark = node.start_mark
        if merge_key is not None:
            mark = merge_key.start_mark
        elif key_node is not None and depth == len(path) and at_key:
            mark = key_node.start_mark
        return mark.line + 1, mark.column + 1

    def _walk(self, path: FieldPath) -> tuple[yaml.Node, yaml.Node | None, int, yaml.Node | None]:
        node, key_node, depth, first_merge_key = self.root, None, 0, None
        for part in path:
            found = _child(node, part)
            if found is None:
                break
            key_node, node, merge_key = found
            first_merge_key = first_merge_key or merge_key
            depth += 1
        return node, key_node, depth, first_merge_key

    def problem(self, finding: Finding, *, at_key: bool = False) -> Problem:
        line, column = self.locate(finding.path, at_key=at_key)
        return Problem(self.file, line, column, finding.path, finding.message)


def _child(
    node: yaml.Node, part: str | int
) -> tuple[yaml.Node | None, yaml.Node, yaml.Node | None] | None:
    """(key node, value node, merge key it came through) of one step down, or None."""
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return (None, node.value[part], None) if 0 <= part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                merged.append((key_node, value_node))
            elif isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                return key_node, value_node, None
        # Keys brought in by a merge key (<<: *base) live in the anchored mapping.
        for merge_key, source in merged:
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for mapping in sources:
                found = _child(mapping, part)
                if found is not None:
                    return found[0], found[1], merge_key
    return None
