"""docs/spec-reference.md is generated from the schema and must be what the schema says now."""

from __future__ import annotations

import json

from vmspec.schema import load_schema
from vmspec.schema.reference import REFERENCE_FILE, reference_markdown


def test_the_committed_reference_is_up_to_date():
    # After changing the schema: python -m vmspec.schema.reference
    assert REFERENCE_FILE.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/spec-reference.md is out of date: python -m vmspec.schema.reference"
    )


def property_names(node) -> set[str]:
    names = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                names |= set(value)
            names |= property_names(value)
    elif isinstance(node, list):
        for item in node:
            names |= property_names(item)
    return names


def test_every_field_of_the_schema_has_a_row():
    text = reference_markdown()
    missing = sorted(name for name in property_names(load_schema()) if f"| `{name}`" not in text)
    assert missing == []


SMALL = {
    "description": "A document.",
    "required": ["kind"],
    "properties": {"kind": {"enum": ["Gadget"]}, "spec": {"type": "object"}},
    "allOf": [
        {
            "if": {"properties": {"kind": {"const": "Gadget"}}, "required": ["kind"]},
            "then": {"properties": {"spec": {"$ref": "#/$defs/gadget"}}},
        },
        {
            "if": {"properties": {"kind": {"const": "Sketch"}}, "required": ["kind"]},
            "then": {"properties": {"spec": {"$ref": "#/$defs/sketch"}}},
        },
    ],
    "$defs": {
        "size": {"type": "string", "description": "a size such as 4GiB"},
        "gadget": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"$ref": "#/$defs/size"},
                "parts": {
                    "type": "array",
                    "maxItems": 3,
                    "items": {
                        "oneOf": [
                            {"type": "string"},
                            {"type": "object", "properties": {"tag": {"const": "a|b"}}},
                        ]
                    },
                    "examples": [[{"tag": "a|b"}]],
                },
                "mode": {
                    "enum": ["fast", "slow"],
                    "description": "how it runs <quickly>; default: slow",
                },
            },
        },
    },
}


def small_schema() -> dict:
    """SMALL, and a kind Sketch whose spec is a Gadget's with nothing required (as a
    Profile is a VirtualMachine's)."""
    schema = json.loads(json.dumps(SMALL))
    schema["$defs"]["sketch"] = {**schema["$defs"]["gadget"], "required": []}
    return schema


def test_kinds_refs_lists_and_variants_come_from_the_schema_alone():
    text = reference_markdown(small_schema())
    assert "- [Gadget](#gadget)" in text and "## Gadget\n" in text
    assert "| `size` **(required)** | string |  | a size such as 4GiB |" in text
    assert "| `parts` | list of string or object |  | at most 3 items |" in text
    assert "### `spec.parts[]`" in text and '| `tag` | `"a\\|b"` |' in text
    assert "| `mode` | string | slow | how it runs &lt;quickly&gt;; default: slow; one of" in text
    assert "```yaml\nparts:\n- tag: a|b\n```" in text


def test_a_kind_with_the_fields_of_another_points_there():
    text = reference_markdown(small_schema())
    sketch = text[text.index("## Sketch") :]
    assert "The same fields as `Gadget spec` above, except which are required here: none." in sketch
    assert "| `size`" not in sketch
