"""A loaded YAML document: its plain data and the node tree that knows line and column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from vmspec.problems import FieldPath, Finding, Problem

MERGE_TAG = "tag:yaml.org,2002:merge"
# The attribute a node laid into a merged document carries: the file that wrote it
# (nodes below it inherit it). A node of one file always names that file, so a
# profile's nodes keep it while many VMs share them.
SOURCE_FILE = "vmspec_source_file"


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
        node, key_node, depth, _, _ = self._walk(path)
        return node, key_node, depth

    def locate(self, path: FieldPath, *, at_key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at ``path`` (or of its key with ``at_key``)."""
        _, line, column = self.where(path, at_key=at_key)
        return line, column

    def where(self, path: FieldPath, *, at_key: bool = False) -> tuple[str, int, int]:
        """The file, 1-based line and column of the value at ``path`` (or of its key).

        A path that leads past the document's end (a missing field) is located at
        the nearest existing parent. A value that a mapping got from a merge key
        (``<<: *base``) is located at that merge key: that is where this mapping
        took it, while the anchor may serve many. A value a profile wrote is located
        in the profile's file (vmspec.load.profiles marks the nodes it lays in).
        """
        node, key_node, depth, merge_key, file = self._walk(path)
        mark = node.start_mark
        if merge_key is not None:
            mark = merge_key.start_mark
        elif key_node is not None and depth == len(path) and at_key:
            mark = key_node.start_mark
        return file, mark.line + 1, mark.column + 1

    def _walk(
        self, path: FieldPath
    ) -> tuple[yaml.Node, yaml.Node | None, int, yaml.Node | None, str]:
        node, key_node, depth, first_merge_key = self.root, None, 0, None
        file = getattr(node, SOURCE_FILE, self.file)
        for part in path:
            found = _child(node, part)
            if found is None:
                break
            key_node, node, merge_key = found
            file = getattr(node, SOURCE_FILE, file)
            first_merge_key = first_merge_key or merge_key
            depth += 1
        return node, key_node, depth, first_merge_key, file

    def problem(self, finding: Finding, *, at_key: bool = False) -> Problem:
        file, line, column = self.where(finding.path, at_key=at_key)
        return Problem(file, line, column, finding.path, finding.message)


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
