"""Examples for the schema's leaf fields, which editors (yaml-language-server) offer in
completion and docs/spec-reference.md lists: taken from the structured examples an
enclosing object carries already (a family's examples are realistic whole values), so
that a field's examples are the values its family shows it with.

A field with examples of its own keeps them; a boolean, an enum or a const needs none
(the editor offers its values already).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema

Schema = dict[str, Any]

# A field's list stays short: completion offers each one.
MOST_EXAMPLES = 3
_COMPOSITIONS = ("oneOf", "anyOf")
_SCALAR_TYPES = {"string", "integer", "number"}


def is_leaf(node: Schema) -> bool:
    """A field whose value is written by hand: text or a number, not a choice of values."""
    kinds = node.get("type")
    kinds = set(kinds) - {"null"} if isinstance(kinds, list) else {kinds}
    return bool(kinds) and kinds <= _SCALAR_TYPES and "enum" not in node and "const" not in node


def add_derived_examples(schema: Schema) -> None:
    """Gives each leaf field without examples the values the examples of the objects
    around it show it with (deduplicated, valid for the field, a few at most)."""
    found: dict[int, tuple[Schema, list[Any]]] = {}
    for node, value in _examples_in_place(schema, schema):
        if isinstance(value, dict | list):
            continue
        _, values = found.setdefault(id(node), (node, []))
        if value not in values:
            values.append(value)
    for node, values in found.values():
        resolved = _resolve(schema, node)
        if "examples" in node or not is_leaf(resolved):
            continue
        valid = [value for value in values if _valid(schema, node, value)]
        if valid:
            node["examples"] = valid[:MOST_EXAMPLES]


def _examples_in_place(schema: Schema, node: Any) -> Iterator[tuple[Schema, Any]]:
    """Every (field, value) that a structured example anywhere in the schema shows."""
    if isinstance(node, list):
        for item in node:
            yield from _examples_in_place(schema, item)
        return
    if not isinstance(node, dict):
        return
    for example in node.get("examples", ()):
        yield from _values(schema, node, example)
    for key, value in node.items():
        if key not in ("examples", "default", "const", "enum", "if"):
            yield from _examples_in_place(schema, value)


def _values(
    schema: Schema, node: Schema, value: Any, depth: int = 0
) -> Iterator[tuple[Schema, Any]]:
    """``value`` laid on ``node``: each field inside it with the value it has there."""
    if depth > 64:  # a $ref that leads back to itself
        return
    resolved = _resolve(schema, node)
    for variant in (v for key in _COMPOSITIONS for v in resolved.get(key, ())):
        if _valid(schema, variant, value):
            yield from _values(schema, variant, value, depth + 1)
    if isinstance(value, dict):
        properties = resolved.get("properties", {})
        extra = resolved.get("additionalProperties")
        for key, inner in value.items():
            child = properties.get(key, extra if isinstance(extra, dict) else None)
            if isinstance(child, dict):
                yield child, inner
                yield from _values(schema, child, inner, depth + 1)
    elif isinstance(value, list) and isinstance(resolved.get("items"), dict):
        for inner in value:
            yield from _values(schema, resolved["items"], inner, depth + 1)


def _resolve(schema: Schema, node: Schema) -> Schema:
    """The node with its $ref followed, its own keys winning (as reference.py reads it)."""
    seen = set()
    while "$ref" in node and node["$ref"] not in seen:
        seen.add(node["$ref"])
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _valid(schema: Schema, node: Schema, value: Any) -> bool:
    # The node's $refs point into the whole schema's $defs.
    whole = {**node, "$defs": schema.get("$defs", {})}
    return jsonschema.Draft202012Validator(whole).is_valid(value)
