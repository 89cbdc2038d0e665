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
        node, key_node, depth = self.root, None, 0
        for part in path:
            found = _child(node, part)
            if found is None:
                break
            key_node, node = found
            depth += 1
        return node, key_node, depth

    def locate(self, path: FieldPath, *, at_key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at ``path`` (or of its key with ``at_key``).

        A path that leads past the document's end (a missing field) is located at
        the nearest existing parent.
        """
        node, key_node, depth = self.node_at(path)
        mark = node.start_mark
        if key_node is not None and depth == len(path) and at_key:
            mark = key_node.start_mark
        return mark.line + 1, mark.column + 1

    def problem(self, finding: Finding, *, at_key: bool = False) -> Problem:
        line, column = self.locate(finding.path, at_key=at_key)
        return Problem(self.file, line, column, finding.path, finding.message)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return (None, node.value[part]) if 0 <= part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                merged.append(value_node)
            elif isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                return key_node, value_node
        # Keys brought in by a merge key (<<: *base) live in the anchored mapping.
        for source in merged:
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for mapping in sources:
                found = _child(mapping, part)
                if found is not None:
                    return found
    return None
