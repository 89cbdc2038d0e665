"""Validate a loaded document against the JSON Schema, then against the semantic checks.

jsonschema's own messages name Python values ("True is not of type 'string'");
ours name the field, what it expects, and how to fix it, located at the line
and column the user wrote.
"""

from __future__ import annotations

import difflib
import functools
import json
import pkgutil
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import yaml

if TYPE_CHECKING:  # imported where needed: only specs that fail the fast check need jsonschema
    from jsonschema import Draft202012Validator, ValidationError

from vmspec.load.profiles import PROFILE
from vmspec.load.source import SourceDocument
from vmspec.problems import Finding, Problem
from vmspec.schema.semantic import semantic_findings

SCHEMA_FILE = "vmspec.schema.json"

_JSON_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


def load_schema() -> dict[str, Any]:
    # pkgutil, not importlib.resources: the same package-relative read (zip-safe too) without
    # importlib.resources' own imports (tempfile, zipfile), ~4 ms of every command's start-up.
    data = pkgutil.get_data("vmspec.schema", SCHEMA_FILE)
    assert data is not None, "vmspec is installed by a loader that cannot read its files"
    return json.loads(data)


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """``pattern`` with JSON Schema's (ECMA-262) meaning of ``$``: the end of the text.
    Python's ``$`` also matches before a final newline, which let "web-01\n" through."""
    from jsonschema import ValidationError

    if isinstance(instance, str) and not _compiled_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _compiled_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"(?<!\\)\$$", r"\\Z", pattern))


@functools.cache
def _validator() -> Draft202012Validator:
    # Built once per process, and only when a spec fails the fast check: importing
    # jsonschema costs a CLI start about 27 ms.
    from jsonschema import Draft202012Validator, validators

    strict = validators.extend(Draft202012Validator, validators={"pattern": _ecma_pattern})
    return strict(load_schema())


@functools.cache
def _fast_validator() -> jsonschema_rs.Validator:
    # jsonschema-rs answers "valid?" about 100x faster than jsonschema; nearly every spec
    # in a repo is valid, so jsonschema (whose errors we reword) runs only for the others.
    return jsonschema_rs.validator_for(load_schema())


def validate_document(document: SourceDocument) -> list[Problem]:
    """Every problem of one document: schema problems first; semantic checks only on valid data."""
    data = document.data
    if not isinstance(data, dict):
        found = "a list" if isinstance(data, list) else f"{_describe_value(data)}"
        message = f"a spec document must be a mapping with apiVersion, kind, metadata and spec, not {found}"
        return [document.problem(Finding((), message))]
    if not _fast_validator().is_valid(data):
        errors = list(_validator().iter_errors(data))
        if data.get("kind") == PROFILE:
            errors = [error for error in errors if not _left_to_the_vm(error)]
            if not errors:
                return []
        problems = [
            problem for error in errors for problem in _problems_from_error(document, error)
        ]
        if not problems:
            # The two validators disagree (a bug in one of them): never let the spec through.
            problems = [
                document.problem(Finding(tuple(error.instance_path), error.message))
                for error in _fast_validator().iter_errors(data)
            ]
        return _unique(problems)
    if data.get("kind") == PROFILE:
        return []  # the semantic rules judge the VMs the profile is merged into
    return [document.problem(finding) for finding in semantic_findings(data)]


def _left_to_the_vm(error: ValidationError) -> bool:
    """A field a profile leaves out (nested ones too): the VMs that list it, or a later
    profile, may say it. A disk's target is the exception: it is what disks merge by."""
    path = tuple(error.absolute_path)
    if error.validator != "required" or path[:1] != ("spec",):
        return False
    return not (path[1:2] == ("disks",) and "'target'" in error.message)


def _unique(problems: list[Problem]) -> list[Problem]:
    # A wrong type under both the envelope and the kind's own schema is one problem, not two.
    return list(dict.fromkeys(problems))


def _problems_from_error(document: SourceDocument, error: ValidationError) -> list[Problem]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance

    if keyword == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        extras = [key for key in instance if key not in schema.get("properties", {})]
        return [
            document.problem(Finding((*path, key), _unknown_field(key, known)), at_key=True)
            for key in extras
        ]
    if "propertyNames" in error.absolute_schema_path:
        # The error's instance is the offending key; it sits inside the mapping at ``path``.
        key = instance
        names = _property_names_schema(error)
        message = (
            f"{key!r} is not a valid key here: expected {names.get('description', 'another key')}"
        )
        return [document.problem(Finding((*path, key), message), at_key=True)]
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        where = "the document" if not path else "this mapping"
        # Located at the key that opens the mapping (spec:), where the field belongs.
        finding = Finding(path, f"missing required field '{missing}' in {where}")
        return [document.problem(finding, at_key=True)]
    if keyword == "uniqueItems":
        index = _first_repeat(instance)
        finding = Finding((*path, index), f"{_show(instance[index])} is already in the list")
        return [document.problem(finding)]

    return [
        document.problem(Finding(path, _message(document, path, keyword, schema, instance, error)))
    ]


def _message(
    document: SourceDocument,
    path: tuple[str | int, ...],
    keyword: str,
    schema: dict[str, Any],
    instance: Any,
    error: ValidationError,
) -> str:
    if schema.get("title") == "size" and keyword in ("type", "pattern"):
        return _size_message(instance)
    if keyword == "type":
        expected = schema["type"]
        kinds = expected if isinstance(expected, list) else [expected]
        names = " or ".join(_JSON_TYPE_NAMES.get(kind, kind) for kind in kinds)
        message = f"expected {names}, found {_describe_value(instance)}"
        if expected == "string":
            message += _quoting_hint(document, path)
        return message
    if keyword == "enum":
        choices = schema["enum"]
        message = f"{_show(instance)} is not one of: {', '.join(str(c) for c in choices)}"
        if instance is None:
            message = f"expected one of: {', '.join(str(c) for c in choices)}; found nothing (null)"
        if isinstance(instance, str):
            close = difflib.get_close_matches(instance, [str(c) for c in choices], n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        elif isinstance(instance, (bool, int, float)) and all(isinstance(c, str) for c in choices):
            # An unquoted no, or a version such as 2.0, where only text is taken.
            message += _quoting_hint(document, path)
        return message
    if keyword == "const":
        return f"must be '{schema['const']}', found {_show(instance)}"
    if keyword == "pattern":
        expected = schema.get("description", f"text matching {schema['pattern']}")
        return f"{_show(instance)} is not valid: expected {expected}"
    if keyword == "minimum":
        return f"must be at least {schema['minimum']}, found {instance}"
    if keyword == "maximum":
        return f"must be at most {schema['maximum']}, found {instance}"
    if keyword == "maxLength":
        return f"is {len(instance)} characters long; at most {schema['maxLength']} are allowed"
    if keyword == "minLength":
        return f"must be at least {schema['minLength']} characters long"
    if keyword == "minItems":
        return f"needs at least {_count(schema['minItems'], 'entry', 'entries')}"
    if keyword == "maxItems":
        return f"has {len(instance)} entries; at most {schema['maxItems']} are allowed"
    if keyword == "minProperties":
        return "must set at least one field"
    if keyword == "not":  # a value a field's other types would take (spinlocks: true)
        expected = schema.get("description")
        return f"{_show(instance)} is not allowed" + (f": expected {expected}" if expected else "")
    return error.message


def _property_names_schema(error: ValidationError) -> dict[str, Any]:
    parent = error.parent
    schema = parent.schema if parent is not None else error.schema
    if isinstance(schema, dict) and "propertyNames" in schema:
        return schema["propertyNames"]
    return schema if isinstance(schema, dict) else {}


def _first_repeat(items: list[Any]) -> int:
    for index, item in enumerate(items):
        if item in items[:index]:
            return index
    return 0


def _unknown_field(key: str, known: list[str]) -> str:
    if key in ("password", "passwd") and "passwordFile" in known:
        # Said plainly, since a spec lives in Git: the value itself is never echoed.
        return f"unknown field '{key}': a password never goes into a spec; use passwordFile or passwordEnv"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known fields: {', '.join(known)}"
    return f"unknown field '{key}'{hint}"


_PLAIN_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?\Z")


def _size_message(instance: Any) -> str:
    if isinstance(instance, bool) or not isinstance(instance, (int, float, str)):
        return f"expected a size with a unit such as 4GiB, found {_describe_value(instance)}"
    number = str(instance).strip()
    if _PLAIN_NUMBER.match(number) and float(number) > 0:
        # A bare number is ambiguous (libvirt would read KiB, people usually mean MiB or GiB).
        guess = f"{number}GiB" if float(number) < 64 else f"{number}MiB"
        return f"a size needs a unit: write for example '{guess}' (units: KiB, MiB, GiB, TiB)"
    return f"{_show(instance)} is not a size: write a number and a unit such as 512MiB or 4GiB"


def _quoting_hint(document: SourceDocument, path: tuple[str | int, ...]) -> str:
    """YAML 1.1 reads unquoted no/yes/on/off as booleans and 12:30 as a number: say so.
    (Plain scalars have style None from PyYAML's loader and '' from libyaml's.)"""
    node, _, depth = document.node_at(path)
    if depth == len(path) and isinstance(node, yaml.ScalarNode) and not node.style and node.value:
        return f' (YAML reads the unquoted {node.value} as a {_yaml_kind(node)}; quote it: "{node.value}")'
    return ""


def _yaml_kind(node: yaml.ScalarNode) -> str:
    return node.tag.rsplit(":", 1)[-1].replace("bool", "boolean").replace("int", "number")


def _describe_value(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def _show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)
