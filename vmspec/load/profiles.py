"""Profiles: shared parts of VM specs (``kind: Profile``), laid under the VMs that list them.

A VM's ``spec.profiles: [base, web]`` applies base, then web, then the VM's own fields.
The rules: mappings merge deeply, a scalar is replaced, ``disks`` merge by ``target``
and ``interfaces`` by ``name`` (or by position, for NICs without one), other lists are
replaced, and ``null`` removes an inherited value (where nothing is inherited it stays,
for the schema to judge: a clock timer's null means "QEMU's own default").

Merging happens before validation, on the data and the YAML nodes together: the merged
document's node tree is made of the nodes each file wrote, each marked with its file
(``SOURCE_FILE``), so that a problem in a value a profile wrote is located in the
profile's file and line. Only the mappings and lists that two layers both write are
new; everything else is shared with the profile, never copied.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from vmspec.load.source import MERGE_TAG, SOURCE_FILE, SourceDocument
from vmspec.problems import FieldPath, Finding, Problem

PROFILE = "Profile"
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


@dataclass(frozen=True, slots=True)
class _Layer:
    """A value with its node, and the file that wrote the node."""

    data: Any
    node: yaml.Node
    file: str


class ProfileError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def is_profile(document: SourceDocument) -> bool:
    return isinstance(document.data, dict) and document.data.get("kind") == PROFILE


def listed_profiles(data: Any) -> list[str]:
    """The names a document's ``spec.profiles`` lists; nothing when it is malformed
    (the schema says what is wrong with it)."""
    spec = data.get("spec") if isinstance(data, dict) else None
    names = spec.get("profiles") if isinstance(spec, dict) else None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return []
    return names


class Profiles:
    """The profiles of one run (every file given on the command line), by name."""

    def __init__(self) -> None:
        self._documents: dict[str, SourceDocument] = {}
        self._resolved: dict[str, _Layer] = {}
        self._cycles: dict[frozenset[str], Problem] = {}

    def add(self, document: SourceDocument) -> list[Problem]:
        """Register a Profile document; a second profile of the same name is a problem."""
        metadata, spec = document.data.get("metadata"), document.data.get("spec")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not isinstance(spec, dict):
            return []  # the schema reports it
        earlier = self._documents.setdefault(name, document)
        if earlier is document:
            return []
        file, line, _ = earlier.where(("metadata", "name"))
        message = f"the profile name {name!r} is already used in {file}:{line}"
        return [document.problem(Finding(("metadata", "name"), message))]

    def knows_all(self, document: SourceDocument) -> bool:
        """Whether every profile ``document`` needs, through other profiles too, is known
        (if not, the files still to come are read ahead for theirs)."""
        seen: set[str] = set()
        waiting = list(listed_profiles(document.data))
        while waiting:
            name = waiting.pop()
            if name in seen:
                continue
            seen.add(name)
            profile = self._documents.get(name)
            if profile is None:
                return False
            waiting.extend(listed_profiles(profile.data))
        return True

    def apply(self, document: SourceDocument) -> SourceDocument:
        """``document`` with its profiles laid under its spec; raises ProfileError for an
        unknown profile or a cycle, located where the name is written."""
        names = listed_profiles(document.data)
        if not names:
            return document
        base = self._parents(document, names, ())
        own = _spec_layer(document)
        spec = _merge(base, own, ("spec",)) if base is not None else own
        return _with_spec(document, spec)

    def problems(self) -> list[Problem]:
        """Unknown names and cycles in every profile, used by a VM or not."""
        found = []
        for name in self._documents:
            try:
                self._resolve(name, ())
            except ProfileError as error:
                found.append(error.problem)
        return found

    def _resolve(self, name: str, chain: tuple[str, ...]) -> _Layer:
        """A profile's spec with its own profiles laid under it (its ``profiles`` left out)."""
        resolved = self._resolved.get(name)
        if resolved is not None:
            return resolved
        document = self._documents[name]
        own = _spec_layer(document, without=("profiles",))
        base = self._parents(document, listed_profiles(document.data), (*chain, name))
        resolved = _merge(base, own, ("spec",)) if base is not None else own
        self._resolved[name] = resolved
        return resolved

    def _parents(
        self, document: SourceDocument, names: list[str], chain: tuple[str, ...]
    ) -> _Layer | None:
        merged: _Layer | None = None
        for index, name in enumerate(names):
            where = ("spec", "profiles", index)
            if name not in self._documents:
                raise ProfileError(document.problem(Finding(where, self._unknown(name))))
            if name in chain:
                cycle = chain[chain.index(name) :]
                message = f"profile {name!r} includes itself: {' → '.join((*cycle, name))}"
                problem = document.problem(Finding(where, message))
                # Met from any of its profiles, a cycle is one problem, told where first met.
                raise ProfileError(self._cycles.setdefault(frozenset(cycle), problem))
            layer = self._resolve(name, chain)
            merged = layer if merged is None else _merge(merged, layer, ("spec",))
        return merged

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._documents), n=1, cutoff=0.6)
        if close:
            return f"unknown profile {name!r}; did you mean {close[0]!r}?"
        if not self._documents:
            return f"unknown profile {name!r}: no file given holds a document of kind Profile"
        return f"unknown profile {name!r}; profiles given: {', '.join(sorted(self._documents))}"


def _spec_layer(document: SourceDocument, without: tuple[str, ...] = ()) -> _Layer:
    node, _, depth = document.node_at(("spec",))
    assert depth == 1 and isinstance(node, yaml.MappingNode), "only documents with a spec mapping"
    _mark(node, document.file)
    data = document.data["spec"]
    if not any(key in data for key in without):
        return _Layer(data, node, document.file)
    pairs = _pairs(node)
    kept = [key for key in data if key not in without]
    new_node = _mapping_node([pairs[key] for key in kept], node, document.file)
    return _Layer({key: data[key] for key in kept}, new_node, document.file)


def _with_spec(document: SourceDocument, spec: _Layer) -> SourceDocument:
    """The document with its spec replaced by the merged one."""
    root = document.root
    pairs = _pairs(root)
    for _, value_node in pairs.values():
        _mark(value_node, document.file)
    pairs["spec"] = (pairs["spec"][0], spec.node)
    data = {**document.data, "spec": spec.data}
    return SourceDocument(
        document.file, _mapping_node(list(pairs.values()), root, document.file), data
    )


def _merge(base: _Layer, over: _Layer, path: FieldPath) -> _Layer:
    """``over`` laid on ``base``."""
    if isinstance(base.data, dict) and isinstance(over.data, dict):
        return _merge_mappings(base, over, path)
    if isinstance(base.data, list) and isinstance(over.data, list):
        key_of = _LIST_KEYS.get(path)
        if key_of is not None:
            return _merge_lists(base, over, path, key_of)
    return over


def _merge_mappings(base: _Layer, over: _Layer, path: FieldPath) -> _Layer:
    base_pairs, over_pairs = _pairs(base.node), _pairs(over.node)
    data: dict[str, Any] = {}
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in base.data.items():
        key_node, value_node = base_pairs[key]
        _mark(value_node, base.file)
        if key not in over.data:
            data[key] = value
            pairs.append((key_node, value_node))
            continue
        if over.data[key] is None:
            continue  # null removes the inherited value
        over_key_node, over_value_node = over_pairs[key]
        _mark(over_value_node, over.file)
        merged = _merge(
            _Layer(value, value_node, _file(value_node, base.file)),
            _Layer(over.data[key], over_value_node, over.file),
            (*path, key),
        )
        data[key] = merged.data
        pairs.append((over_key_node, merged.node))
    for key, value in over.data.items():
        if key not in base.data:
            key_node, value_node = over_pairs[key]
            _mark(value_node, over.file)
            data[key] = value
            pairs.append((key_node, value_node))
    return _Layer(data, _mapping_node(pairs, over.node, over.file), over.file)


def _merge_lists(
    base: _Layer, over: _Layer, path: FieldPath, key_of: Callable[[Any, int], Any]
) -> _Layer:
    items = [
        _Layer(value, node, _file(node, base.file))
        for value, node in zip(base.data, base.node.value, strict=True)
    ]
    position = {key_of(item.data, index): index for index, item in enumerate(items)}
    position.pop(None, None)
    for index, (value, node) in enumerate(zip(over.data, over.node.value, strict=True)):
        layer = _Layer(value, node, _file(node, over.file))
        found = position.get(key_of(value, index))
        if found is None:
            items.append(layer)
        else:
            items[found] = _merge(items[found], layer, (*path, index))
    for item in items:
        _mark(item.node, item.file)
    node = yaml.SequenceNode(
        _SEQ, [item.node for item in items], over.node.start_mark, over.node.end_mark
    )
    _mark(node, over.file)
    return _Layer([item.data for item in items], node, over.file)


def _disk_key(disk: Any, index: int) -> Any:
    return disk.get("target") if isinstance(disk, dict) else None


def _interface_key(interface: Any, index: int) -> Any:
    # A named NIC merges with the NIC of that name; the others with the one at their place.
    if isinstance(interface, dict) and "name" in interface:
        return ("name", interface["name"])
    return ("position", index)


# The lists whose items merge one by one; every other list is replaced as a whole.
_LIST_KEYS: dict[FieldPath, Callable[[Any, int], Any]] = {
    ("spec", "disks"): _disk_key,
    ("spec", "interfaces"): _interface_key,
}


def _pairs(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """A mapping node's (key node, value node) by key, merge keys (<<) resolved as the
    loader resolves them: keys written in the mapping win."""
    found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    merged: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == MERGE_TAG:
            merged.append(value_node)
        else:
            found[key_node.value] = (key_node, value_node)
    for source in merged:
        for mapping in source.value if isinstance(source, yaml.SequenceNode) else [source]:
            for key, pair in _pairs(mapping).items():
                found.setdefault(key, pair)
    return found


def _mapping_node(
    pairs: list[tuple[yaml.Node, yaml.Node]], like: yaml.Node, file: str
) -> yaml.MappingNode:
    node = yaml.MappingNode(_MAP, pairs, like.start_mark, like.end_mark)
    _mark(node, file)
    return node


def _mark(node: yaml.Node, file: str) -> None:
    # Only once: a node belongs to one file for good, whichever merge meets it first.
    # (Nodes are plain objects: their __dict__ holds the mark, set in one call.)
    node.__dict__.setdefault(SOURCE_FILE, file)


def _file(node: yaml.Node, default: str) -> str:
    return getattr(node, SOURCE_FILE, default)
