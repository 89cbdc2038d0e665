"""Issue 13: every field of every kind says what it is in an editor (a title, a
description) and shows what to write (examples, or the enum's values), and every
example is a value the field takes."""

from __future__ import annotations

import jsonschema
import pytest

from vmspec.schema import load_schema
from vmspec.schema.examples import add_derived_examples, is_leaf
from vmspec.schema.reference import fields
from vmspec.schema.titles import add_titles, field_title


@pytest.fixture(scope="module")
def schema():
    return load_schema()


def test_the_assembled_schema_is_valid_for_its_meta_schema(schema):
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_field_of_every_kind_has_a_title_and_a_description(schema):
    lacking = [
        path
        for path, node in fields(schema)
        if not node.get("title") or not node.get("description")
    ]
    assert lacking == []


def test_every_leaf_field_has_examples(schema):
    # Booleans, enums and consts are left out: the editor offers their values already.
    assert [
        path for path, node in fields(schema) if is_leaf(node) and not node.get("examples")
    ] == []


def test_every_example_of_every_field_is_valid_for_that_field(schema):
    invalid = []
    for path, node in fields(schema):
        validator = jsonschema.Draft202012Validator({**node, "$defs": schema["$defs"]})
        invalid += [
            (path, example)
            for example in node.get("examples", ())
            if not validator.is_valid(example)
        ]
    assert invalid == []


def test_a_leaf_takes_the_values_its_enclosing_examples_show():
    schema = {
        "properties": {
            "disk": {
                "type": "object",
                "properties": {
                    "target": {"type": "string"},
                    "queues": {"type": "integer", "maximum": 8},
                    "cache": {"enum": ["none", "writeback"]},
                    "serial": {"type": "string", "examples": ["hand-written"]},
                },
                "examples": [
                    {"target": "vda", "queues": 2, "cache": "none", "serial": "a"},
                    {"target": "vdb", "queues": 16},
                    {"target": "vda"},
                ],
            }
        }
    }
    add_derived_examples(schema)
    fields_of_disk = schema["properties"]["disk"]["properties"]
    assert fields_of_disk["target"]["examples"] == ["vda", "vdb"]  # each value once
    assert fields_of_disk["queues"]["examples"] == [2]  # 16 is not valid for the field alone
    assert "examples" not in fields_of_disk["cache"]  # an enum offers its values already
    assert fields_of_disk["serial"]["examples"] == ["hand-written"]


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("maxMemory", "Max memory"),
        ("tlsPort", "TLS port"),
        ("vcpus", "vCPUs"),
        ("secretUuid", "Secret UUID"),
        ("iothreadpins", "I/O thread pins"),
        ("readIopsSecMax", "Read IOPS max"),
        ("readBytesSec", "Read bytes per second"),
        ("evmcs", "eVMCS"),
    ],
)
def test_a_title_is_the_fields_name_in_words(name, title):
    assert field_title(name) == title


def test_a_hand_written_title_wins_over_the_generated_one():
    timer = {"type": "object"}
    schema = {
        "properties": {
            "pit": timer,
            "rtc": timer,
            "tlsPort": {"type": "integer", "title": "Port for TLS"},
            "memory": {"$ref": "#/$defs/size"},
        },
        "$defs": {"size": {"title": "size", "type": "string"}},
    }
    add_titles(schema)
    assert schema["properties"]["tlsPort"]["title"] == "Port for TLS"
    # The definition's title names the type; the field referring to it gets its own.
    assert schema["properties"]["memory"]["title"] == "Memory"
    assert schema["$defs"]["size"]["title"] == "size"
    # One dict given to two fields still gets each field's title.
    assert [schema["properties"][name]["title"] for name in ("pit", "rtc")] == ["PIT", "RTC"]
