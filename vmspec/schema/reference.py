"""docs/spec-reference.md, generated from the JSON Schema: every field of every kind with
its type, constraints, default, examples and description.

``python -m vmspec.schema.reference`` writes it (``--check`` only compares, for CI);
tests/schema/test_reference.py fails when the committed file differs. The walk is
generic: kinds come from the schema's ``if kind == X then ...`` branches, and fields
from ``properties``, ``items``, ``additionalProperties``, ``$ref``, ``oneOf`` and
``anyOf``, so fields and kinds added to the schema appear without touching this module.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vmspec.schema import load_schema
from vmspec.schema.titles import field_title

Schema = dict[str, Any]

REFERENCE_FILE = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"
# Descriptions end with the default where the schema has no "default" keyword for it.
_DEFAULT_IN_DESCRIPTION = re.compile(r"(?:^|\(|[;:] )default:? ([^;()]{1,60})(?=[;()]|$)")
_COMPOSITIONS = ("oneOf", "anyOf")


@dataclass
class Section:
    """One object of the spec: its path (``spec.disks[]``) and its fields' rows."""

    path: str
    description: str = ""
    rows: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # YAML blocks of structured examples


class Reference:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        # The fields of each object listed already → where, and which of them are required.
        self.documented: dict[str, tuple[str, set[str]]] = {}
        self.kind = ""  # the kind being walked, to name a section of another kind

    def resolve(self, node: Schema) -> Schema:
        """The node with its $ref followed; the node's own keys win (a field's own
        description over the shared definition's)."""
        seen = set()
        while "$ref" in node and node["$ref"] not in seen:
            seen.add(node["$ref"])
            target = self.schema
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def sections(self, path: str, node: Schema) -> Iterator[Section]:
        """The section of the object at ``path`` and those of the objects inside it."""
        node = self.resolve(node)
        parent, _, name = path.rpartition(".")
        if parent.endswith(f".{name}") or parent.endswith(f".{name}[]"):
            # A field nested in itself (backingStore.backingStore...): written out level
            # by level in the schema, each one less deep, and listed once.
            yield Section(path, f"The same fields as `{parent}`, one level deeper.")
            return
        # The same fields twice (a shared $ref, each clock timer's catchup, a kind whose
        # spec is another's with nothing required) are listed once.
        shape = json.dumps(
            [node.get(key) for key in ("properties", "additionalProperties")], sort_keys=True
        )
        if shape in self.documented:
            where, required = self.documented[shape]
            same = f"The same fields as `{where}` above"
            if set(node.get("required", ())) != required:
                needed = ", ".join(f"`{name}`" for name in node.get("required", ())) or "none"
                same += f", except which are required here: {needed}"
            described = _prose(node.get("description", "").rstrip("."))
            yield Section(path, ". ".join(part for part in (described, same) if part) + ".")
            return
        self.documented[shape] = (f"{self.kind} {path}".strip(), set(node.get("required", ())))
        section = Section(path, _prose(node.get("description", "")))
        key = re.sub(r"( \(variant \d+\))$", "", name)
        section.examples += _example_blocks(key.removesuffix("[]"), node, key.endswith("[]"))
        children: list[tuple[str, Schema]] = []
        required = set(node.get("required", ()))
        for name, child in node.get("properties", {}).items():
            section.rows.append(self.row(name, child, name in required))
            inner = self.inner_objects(f"{path}.{name}", child)
            # A field's examples go with its own fields where it has a section; a list's
            # (whole lists) and a scalar's stay here.
            if not inner or self.resolve(child).get("type") == "array":
                section.examples += _example_blocks(name, self.resolve(child))
            children += inner
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and not node.get("properties"):
            section.rows.append(self.row("<key>", extra, False))
            children += self.inner_objects(f"{path}.<key>", extra)
        if section.rows or section.description:
            yield section
        for child_path, child in children:
            yield from self.sections(child_path, child)

    def inner_objects(self, path: str, node: Schema) -> list[tuple[str, Schema]]:
        """The objects with fields of their own inside ``node``: itself, its items, its
        map values, each variant of a oneOf or anyOf."""
        resolved = self.resolve(node)
        if "items" in resolved and isinstance(resolved["items"], dict):
            return self.inner_objects(f"{path}[]", resolved["items"])
        variants = [v for key in _COMPOSITIONS for v in resolved.get(key, ())]
        if variants:
            objects = [v for v in variants if self._has_fields(v)]
            if len(objects) == 1:
                return self.inner_objects(path, objects[0])
            return [
                found
                for number, variant in enumerate(objects, 1)
                for found in self.inner_objects(f"{path} (variant {number})", variant)
            ]
        if self._has_fields(resolved):
            return [(path, node)]
        extra = resolved.get("additionalProperties")
        if isinstance(extra, dict):
            return self.inner_objects(f"{path}.<key>", extra)
        return []

    def _has_fields(self, node: Schema) -> bool:
        return bool(self.resolve(node).get("properties"))

    def row(self, name: str, node: Schema, required: bool) -> str:
        resolved = self.resolve(node)
        description = resolved.get("description", "")
        # A title is shown where it says more than the field's name, which is its row's.
        title = resolved.get("title", "")
        if title and title != field_title(name):
            description = f"{title}: {description}" if description else title
        facts = [fact for fact in (_constraints(resolved), _scalar_examples(resolved)) if fact]
        text = "; ".join(part for part in (_prose(description.rstrip(".")), *facts) if part)
        cells = [
            f"`{name}`" + (" **(required)**" if required else ""),
            self.type_of(resolved),
            _default(resolved),
            text,
        ]
        return "| " + " | ".join(_cell(cell) for cell in cells) + " |"

    def type_of(self, node: Schema) -> str:
        node = self.resolve(node)
        if "const" in node:
            return f"`{json.dumps(node['const'])}`"
        if "enum" in node:
            kinds = sorted({_json_type(value) for value in node["enum"]})
            return " or ".join(kinds)
        variants = [v for key in _COMPOSITIONS for v in node.get(key, ())]
        if variants and "type" not in node:
            return " or ".join(dict.fromkeys(self.type_of(v) for v in variants))
        kinds = node.get("type", "object" if "properties" in node else "any")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        shown = []
        for kind in kinds:
            if kind == "array" and isinstance(node.get("items"), dict):
                shown.append(f"list of {self.type_of(node['items'])}")
            elif kind == "object" and isinstance(node.get("additionalProperties"), dict):
                value = self.type_of(node["additionalProperties"])
                shown.append(f"map of {value}" if not node.get("properties") else "object")
            else:
                shown.append(kind)
        return " or ".join(shown)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number", type(None): "null"}.get(type(value), "any")


def _constraints(node: Schema) -> str:
    facts = []
    if "enum" in node:
        facts.append("one of " + ", ".join(f"`{json.dumps(v)}`" for v in node["enum"]))
    for low, high, noun in (
        ("minimum", "maximum", ""),
        ("minLength", "maxLength", " characters"),
        ("minItems", "maxItems", " items"),
    ):
        if low in node and high in node:
            facts.append(f"from {node[low]} to {node[high]}{noun}")
        elif low in node or high in node:
            facts.append(
                f"at least {node[low]}{noun}" if low in node else f"at most {node[high]}{noun}"
            )
    if "pattern" in node and "description" not in node:
        facts.append(f"matches `{node['pattern']}`")
    if node.get("uniqueItems"):
        facts.append("no item twice")
    return "; ".join(facts)


def _default(node: Schema) -> str:
    if "default" in node:
        return f"`{json.dumps(node['default'])}`"
    found = _DEFAULT_IN_DESCRIPTION.search(node.get("description", ""))
    return _prose(found.group(1).strip()) if found else ""


def _scalar_examples(node: Schema) -> str:
    scalars = [e for e in node.get("examples", ()) if not isinstance(e, dict | list)]
    return ("examples: " + ", ".join(f"`{json.dumps(e)}`" for e in scalars)) if scalars else ""


def _example_blocks(name: str, node: Schema, in_list: bool = False) -> list[str]:
    """The node's structured examples as YAML under its field's name (scalar ones are in
    its row)."""
    return [
        yaml.safe_dump(
            {name: [example] if in_list else example},
            sort_keys=False,
            allow_unicode=True,
            width=88,
        )
        for example in node.get("examples", ())
        if isinstance(example, dict | list)
    ]


def _prose(text: str) -> str:
    """Prose that stays prose: libvirt's <elements> are not HTML to a Markdown renderer,
    nor is a * emphasis."""
    return html.escape(text, quote=False).replace("*", "\\*")


def _cell(text: str) -> str:
    """One table cell: one line, and a | inside is not the end of the cell."""
    return " ".join(text.split("\n")).replace("|", "\\|")


def kinds(schema: Schema) -> list[tuple[str, Schema]]:
    """Each kind with the schema of its document: the envelope's properties with the
    kind's own metadata and spec (from its ``if kind == X then`` branch)."""
    found = []
    for branch in schema.get("allOf", ()):
        kind = branch.get("if", {}).get("properties", {}).get("kind", {}).get("const")
        if kind is not None:
            found.append((kind, branch.get("then", {}).get("properties", {})))
    return found


def fields(schema: Schema) -> Iterator[tuple[str, Schema]]:
    """Every field of every kind as ("Kind:part.path", its schema with $ref followed), for
    checks that every field says what it is (tests/schema/test_editor_schema.py)."""
    builder = Reference(schema)

    def walk(node: Schema, path: str) -> Iterator[tuple[str, Schema]]:
        node = builder.resolve(node)
        for name, child in node.get("properties", {}).items():
            yield f"{path}.{name}", builder.resolve(child)
            yield from walk(child, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            yield from walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], f"{path}.<key>")
        for variant in (v for key in _COMPOSITIONS for v in node.get(key, ())):
            yield from walk(variant, path)

    for kind, parts in kinds(schema):
        for part, node in parts.items():
            yield from walk(node, f"{kind}:{part}")


def reference_markdown(schema: Schema | None = None) -> str:
    schema = schema or load_schema()
    builder = Reference(schema)
    lines = [
        "# Spec reference",
        "",
        "<!-- Generated from vmspec/schema/vmspec.schema.json by"
        " `python -m vmspec.schema.reference`: do not edit by hand. -->",
        "",
        _prose(schema.get("description", "")),
        "",
        "Every document has `apiVersion`, `kind`, `metadata` and `spec`; the kinds:",
        "",
    ]
    documents = kinds(schema)
    lines += [f"- [{kind}](#{kind.lower()})" for kind, _ in documents]
    lines.append("")
    lines += _table(
        builder,
        Section(
            "document",
            rows=[
                builder.row(name, child, name in schema.get("required", ()))
                for name, child in schema.get("properties", {}).items()
            ],
        ),
    )
    for kind, parts in documents:
        builder.kind = kind
        lines += [f"## {kind}", ""]
        for part, node in parts.items():
            for section in builder.sections(part, node):
                lines += _table(builder, section, heading="###")
    return "\n".join(lines).rstrip("\n") + "\n"


def _table(builder: Reference, section: Section, heading: str = "##") -> list[str]:
    lines = [f"{heading} `{section.path}`", ""]
    if section.description:
        lines += [section.description, ""]
    if section.rows:
        lines += ["| field | type | default | description |", "| --- | --- | --- | --- |"]
        lines += [*section.rows, ""]
    if section.examples:
        lines += ["Examples:", ""]
    for block in section.examples:
        lines += ["```yaml", block.rstrip("\n"), "```", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    text = reference_markdown()
    if arguments == ["--check"]:
        current = REFERENCE_FILE.read_text(encoding="utf-8") if REFERENCE_FILE.exists() else ""
        if current != text:
            print(f"{REFERENCE_FILE} is out of date: python -m vmspec.schema.reference")
            return 1
        return 0
    REFERENCE_FILE.parent.mkdir(exist_ok=True)
    REFERENCE_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {REFERENCE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
