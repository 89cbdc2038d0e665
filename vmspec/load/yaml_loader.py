"""Read spec files safely: YAML nodes with positions, converted to plain data under strict limits.

``yaml.compose`` with libyaml's C loader yields nodes that carry line and column
at C speed. We convert nodes to Python ourselves instead of using a constructor,
because only then can we refuse duplicate keys, bound alias expansion (a
billion-laughs file fails fast) and reject every tag that is not plain data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import yaml

from vmspec.load.source import MERGE_TAG, SourceDocument
from vmspec.problems import FieldPath, Problem

try:  # libyaml is what makes loading fast; the pure-Python loader gives the same nodes.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - libyaml is present wherever PyYAML is built normally
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_MAX_RESOLVED = 4096


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, remembering the tags it resolves. libyaml parses in C but asks
    Python for each scalar's tag, trying regular expressions in turn; the same keys and
    values (target, disks, virtio, true) come back in every spec. The safe loader has
    no path resolvers, so a tag depends only on what is asked."""

    _resolved: ClassVar[dict[tuple[Any, ...], str]] = {}

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        asked = (kind, value, implicit)
        tag = self._resolved.get(asked)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._resolved) < _MAX_RESOLVED:  # names and paths differ in each spec
                self._resolved[asked] = tag
        return tag


SPEC_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_NODES_PER_DOCUMENT = 100_000
MAX_NESTING = 64

_STR = "tag:yaml.org,2002:str"
_SCALAR_CONSTRUCTORS = {
    "tag:yaml.org,2002:null": yaml.SafeLoader.construct_yaml_null,
    "tag:yaml.org,2002:bool": yaml.SafeLoader.construct_yaml_bool,
    "tag:yaml.org,2002:int": yaml.SafeLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": yaml.SafeLoader.construct_yaml_float,
}
# Dates are kept as the text the user wrote: no spec field is a date.
_TEXT_TAGS = {_STR, "tag:yaml.org,2002:timestamp", "!"}
# The SafeLoader's scalar constructors only read node.value; one instance serves all.
_constructor = yaml.SafeLoader("")


class _LoadError(Exception):
    def __init__(self, node: yaml.Node, message: str, path: FieldPath = ()) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.path = path
        # Set while the error travels up through an alias: the path below an alias
        # exists only in the expansion, so the error is relocated to the alias' parent.
        self.inside_alias = False

    def add_parent(self, node: yaml.Node, part: str | int) -> None:
        if self.inside_alias:
            self.node, self.path, self.inside_alias = node, (), False
        else:
            self.path = (part, *self.path)


def spec_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The spec files named by ``paths``: files as given, directories searched recursively."""
    for path in paths:
        if path.is_dir():
            found = sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.suffix in SPEC_SUFFIXES
                and candidate.is_file()
                and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
            )
            yield from found
        else:
            yield path


def load_paths(paths: Iterable[Path]) -> tuple[list[SourceDocument], list[Problem]]:
    """Load every document of every spec file under ``paths``, collecting problems."""
    documents: list[SourceDocument] = []
    problems: list[Problem] = []
    for path in spec_files(paths):
        found, found_problems = load_file(path)
        documents.extend(found)
        problems.extend(found_problems)
    return documents, problems


def load_file(path: Path) -> tuple[list[SourceDocument], list[Problem]]:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            message = f"file is {size} bytes; spec files are limited to {MAX_FILE_BYTES} bytes"
            return [], [Problem(name, 0, 0, (), message)]
        raw = path.read_bytes()
    except OSError as error:
        return [], [Problem(name, 0, 0, (), f"cannot read file: {error.strerror}")]
    return load_bytes(raw, name)


def load_bytes(raw: bytes, name: str) -> tuple[list[SourceDocument], list[Problem]]:
    try:
        # utf-8-sig accepts (and drops) a byte-order mark that some editors write.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        line_start = raw.rfind(b"\n", 0, error.start) + 1
        column = len(raw[line_start : error.start].decode("utf-8", "replace")) + 1
        message = f"file is not UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})"
        return [], [Problem(name, line, column, (), message)]
    return load_text(text, name)


def load_text(text: str, name: str) -> tuple[list[SourceDocument], list[Problem]]:
    documents: list[SourceDocument] = []
    problems: list[Problem] = []
    try:
        for root in yaml.compose_all(text, Loader=_Loader):
            if _is_empty(root):
                continue  # a stray '---' at the end of a file, as Kubernetes manifests often have
            try:
                data = _Converter().convert(root, 0)
            except _LoadError as error:
                # This document is lost, but the file's other documents are still checked.
                mark = error.node.start_mark
                problems.append(
                    Problem(name, mark.line + 1, mark.column + 1, error.path, error.message)
                )
                continue
            documents.append(SourceDocument(name, root, data))
    except yaml.MarkedYAMLError as error:
        problems.append(_syntax_problem(name, error))

    except yaml.reader.ReaderError as error:
        line, column = _line_and_column(text, error.position)
        character = (
            f"U+{error.character:04X}"
            if isinstance(error.character, int)
            else repr(error.character)
        )
        problems.append(
            Problem(name, line, column, (), f"invalid YAML: character {character}: {error.reason}")
        )
    except yaml.YAMLError as error:
        problems.append(Problem(name, 0, 0, (), f"invalid YAML: {_first_line(error)}"))
    if not documents and not problems:
        problems.append(Problem(name, 1, 1, (), "file holds no YAML document"))
    return documents, problems


def _syntax_problem(name: str, error: yaml.MarkedYAMLError) -> Problem:
    """Locate a syntax error where libyaml found it, except in a flow collection: an
    unclosed '[' or '{' is noticed only where libyaml gives up, often lines later, so
    it is located where it opens. The message names both places."""
    problem, context = error.problem_mark, error.context_mark
    message = f"invalid YAML: {error.problem or error.context}"
    if problem is None or context is None or not error.context:
        mark = problem or context
        if mark is None:
            return Problem(name, 0, 0, (), message)
        return Problem(name, mark.line + 1, mark.column + 1, (), message)
    if "flow" in error.context:
        message += f" at {problem.line + 1}:{problem.column + 1} ({error.context} that starts here)"
        return Problem(name, context.line + 1, context.column + 1, (), message)
    message += f" ({error.context} that starts at {context.line + 1}:{context.column + 1})"
    return Problem(name, problem.line + 1, problem.column + 1, (), message)


def _line_and_column(text: str, utf8_offset: int) -> tuple[int, int]:
    """libyaml reports reader errors as a byte offset into the UTF-8 text."""
    before = text.encode("utf-8")[:utf8_offset]
    line_start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1


class _Converter:
    """Turns one document's node graph into plain data, counting nodes as aliases expand.

    Field paths are not built on the way down (that would cost on every node);
    an error collects its path on the way up instead, as each level re-raises it.
    """

    __slots__ = ("active", "converted", "nodes")

    def __init__(self) -> None:
        self.nodes = 0
        self.active: set[int] = set()  # collections being converted: a recursive alias shows here
        self.converted: set[int] = set()  # collections seen before: meeting one again is an alias

    def convert(self, node: yaml.Node, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES_PER_DOCUMENT:
            raise _LoadError(
                node,
                f"document expands to more than {MAX_NODES_PER_DOCUMENT} values "
                "(aliases repeating aliases?); refusing to expand it",
            )
        if depth > MAX_NESTING:
            raise _LoadError(node, f"nesting is deeper than {MAX_NESTING} levels")
        kind = node.__class__
        if kind is yaml.ScalarNode:
            return node.value if node.tag == _STR else _scalar(node)
        identity = id(node)
        if identity in self.active:
            raise _LoadError(node, "an alias refers to a value that contains it (recursive alias)")
        self.active.add(identity)
        try:
            if kind is yaml.SequenceNode:
                _expect_plain_tag(node, "tag:yaml.org,2002:seq")
                result: Any = self._sequence(node, depth)
            else:
                _expect_plain_tag(node, "tag:yaml.org,2002:map")
                result = self._mapping(node, depth)
        except _LoadError as error:
            error.inside_alias = error.inside_alias or identity in self.converted
            raise
        self.active.discard(identity)
        self.converted.add(identity)
        return result

    def _sequence(self, node: yaml.SequenceNode, depth: int) -> list[Any]:
        result = []
        for index, item in enumerate(node.value):
            try:
                result.append(self.convert(item, depth + 1))
            except _LoadError as error:
                error.add_parent(node, index)
                raise
        return result

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                merged.append(value_node)
                continue
            if key_node.__class__ is not yaml.ScalarNode:
                raise _LoadError(
                    key_node, "a mapping key must be a plain word, not a list or mapping"
                )
            key = key_node.value
            if key in result:
                raise _LoadError(
                    key_node, f"duplicate key '{key}' (it is already set above)", (key,)
                )
            if (
                value_node.__class__ is yaml.ScalarNode
                and value_node.tag == _STR
                and self.nodes < MAX_NODES_PER_DOCUMENT
                and depth < MAX_NESTING
            ):
                # convert's first case without the call to it: most values are text.
                self.nodes += 1
                result[key] = value_node.value
                continue
            try:
                result[key] = self.convert(value_node, depth + 1)
            except _LoadError as error:
                error.add_parent(node, key)
                raise
        # YAML merge keys (<<: *defaults): keys written in this mapping win over merged ones.
        for source in merged:
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for mapping in sources:
                if not isinstance(mapping, yaml.MappingNode):
                    raise _LoadError(
                        mapping, "a merge key (<<) takes a mapping or a list of mappings"
                    )
                try:
                    merged_values = self.convert(mapping, depth + 1)
                except _LoadError as error:
                    error.inside_alias = False  # located where the anchor is written
                    raise
                for key, value in merged_values.items():
                    result.setdefault(key, value)
        return result


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag in _TEXT_TAGS:
        return node.value
    construct = _SCALAR_CONSTRUCTORS.get(node.tag)
    if construct is None:
        raise _LoadError(node, f"unsupported YAML tag {node.tag}; specs hold plain data only")
    return construct(_constructor, node)


def _expect_plain_tag(node: yaml.Node, tag: str) -> None:
    if node.tag != tag:
        raise _LoadError(node, f"unsupported YAML tag {node.tag}; specs hold plain data only")


def _is_empty(root: yaml.Node) -> bool:
    return isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null") and root.value == ""


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
