"""explain is complete: every value lowering chooses where a spec is silent has a reason.

No table says which spec field becomes which part of the XML, so the test finds the
defaults by what they do: a field the spec wrote is taken out again, and where the
domain then comes out the same (the value written was the default), with another value
in the same place, or with a value where there was none (lowering chose one), lowering
has a default there, and explain must name a policy rule for it. Run over every example in specs/examples and
every example of every family's schema, with the policy's defaults already laid in, so
that a field's removal shows only its own default."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.families.test_registry import EXAMPLES, _document
from vmspec.compile import VIRTUAL_MACHINE, ValidDocuments
from vmspec.emit import domain_xml
from vmspec.explain import Explanation, explain
from vmspec.load import SourceDocument, load_text
from vmspec.lower import lower_virtual_machine
from vmspec.problems import FieldPath
from vmspec.schema import validate_document
from vmspec.yaml_text import dump_spec_yaml

EXAMPLE_FOLDER = Path(__file__).parent.parent / "specs" / "examples"

# Fields whose removal leaves the domain as it was for another reason than a default.
NOT_A_DEFAULT = {
    "state": "what apply does with the domain, not part of it",
    "autostart": "a flag libvirt keeps beside the domain",
    "profiles": "laid in before explain and lowering see the spec",
    "cloudInit": "the seed ISO's content, not the domain's",
    "disks[].volume.create": "the volume's XML, not the domain's",
    "interfaces[].name": "the key profiles merge NICs by",
    "osType": "steers other defaults (the clock, Hyper-V), each explained itself",
    "disks[].readonly": "false is no <readonly/>: nothing written",
    "graphics[].port": "none means libvirt picks a free one (autoport): no value to show",
}


def _example_documents() -> Iterator[Any]:
    for document in ValidDocuments([EXAMPLE_FOLDER]):
        if document.data["kind"] == VIRTUAL_MACHINE:
            yield pytest.param(document, id=document.data["metadata"]["name"])
    for param in EXAMPLES:
        family, example = param.values
        document = _valid(_document(family.spec_field, example))
        assert document is not None, f"{param.id} is not valid (tests/families says why)"
        yield pytest.param(document, id=param.id)


def _valid(data: dict[str, Any]) -> SourceDocument | None:
    documents, problems = load_text(dump_spec_yaml(data), "probe.yaml")
    if problems or len(documents) != 1 or validate_document(documents[0]):
        return None
    return documents[0]


DOCUMENTS = list(_example_documents())


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_explained_spec_compiles_to_the_same_domain(document):
    """Every default explain shows is the value compile writes, so writing them all out
    changes nothing, and is a valid spec."""
    explained = explain(document).data
    assert _xml(explained) == _xml(document.data)
    documents, problems = load_text(dump_spec_yaml(explained), "explained.yaml")
    assert [*problems, *validate_document(documents[0])] == []


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_default_lowering_chooses_is_explained(document):
    unexplained = sorted(set(_unexplained_defaults(explain(document))))
    assert unexplained == [], (
        "lowering chooses these where the spec is silent, and explain names no rule for "
        "them (a family's policy_defaults, from the functions its lowering calls)"
    )


@pytest.mark.parametrize(("family", "example"), EXAMPLES)
def test_every_choice_a_family_example_leaves_out_is_explained_where_lowering_makes_it(
    family, example
):
    """The fields no example writes: a field of a few values (an enum, a boolean) the
    example leaves out, set to each value in turn; where one of them changes a value the
    domain already has, lowering wrote one for it, and explain must say why."""
    document = _valid(_document(family.spec_field, example))
    explained = explain(document)
    elements, values = _leaves(_xml(explained.data))
    unexplained = []
    where = ("spec", family.spec_field)
    for path, choices in dict.fromkeys(_left_out_choices(example, family.schema, where)):
        if _by_policy(explained, path):
            continue
        for choice in choices:
            other = _valid(_with(explained.data, path, choice))
            if other is None:
                continue
            elements_other, values_other = _leaves(_xml(other.data))
            if elements_other == elements and any(
                values_other.get(key, value) != value for key, value in values.items()
            ):
                unexplained.append(_pattern(path))
                break
    assert unexplained == [], "lowering chooses these, and explain names no rule for them"


def _left_out_choices(
    value: Any, schema: dict[str, Any], path: FieldPath
) -> Iterator[tuple[FieldPath, tuple[Any, ...]]]:
    """The enum and boolean fields ``value`` leaves out, with the values they take."""
    if isinstance(value, dict):
        for key, field_schema in schema.get("properties", {}).items():
            if key in value:
                yield from _left_out_choices(value[key], field_schema, (*path, key))
            elif "enum" in field_schema or field_schema.get("type") == "boolean":
                yield (*path, key), tuple(field_schema.get("enum", (True, False)))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _left_out_choices(item, schema["items"], (*path, index))
    for alternative in (*schema.get("oneOf", ()), *schema.get("anyOf", ())):
        yield from _left_out_choices(value, alternative, path)


def _with(data: dict[str, Any], path: FieldPath, value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    holder = copied
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = value
    return copied


def _unexplained_defaults(explained: Explanation) -> Iterator[str]:
    """The fields of ``explained`` lowering has a default for that explain names no rule
    for, as patterns (disks[].bus)."""
    data = explained.data
    assert _valid(data) is not None, "the explained spec is not valid: see the test above"
    elements, values = _leaves(_xml(data))
    for path in _fields(data["spec"], ("spec",)):
        pattern = _pattern(path)
        if _by_policy(explained, path) or _exempt(pattern):
            continue
        without = _valid(_without(data, path))
        if without is None:
            continue  # the field is required, or needed by another
        elements_without, values_without = _leaves(_xml(without.data))
        if elements_without != elements:
            continue  # the field adds or removes elements: no default of its own
        # Another value where there was one, or one where there was none: lowering's own.
        changed = any(values_without.get(key, value) != value for key, value in values.items())
        added = not values_without.keys() <= values.keys()
        if (values_without == values or changed or added) and not _by_policy(
            explain(without), path
        ):
            yield pattern


def _fields(value: Any, path: FieldPath) -> Iterator[FieldPath]:
    """The paths of the values a spec writes (a list of scalars is one value)."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _fields(item, (*path, key))
    elif isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        for index, item in enumerate(value):
            yield from _fields(item, (*path, index))
    else:
        yield path


def _without(data: dict[str, Any], path: FieldPath) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    holder = copied
    for part in path[:-1]:
        holder = holder[part]
    del holder[path[-1]]
    return copied


def _by_policy(explained: Explanation, path: FieldPath) -> bool:
    """Whether a policy rule set the value at ``path``, or the mapping or item around it."""
    origins = explained.origins
    return any(
        origins.get(path[:end], "").startswith("policy: ") for end in range(len(path), 1, -1)
    )


def _pattern(path: FieldPath) -> str:
    return "".join(
        "[]" if isinstance(part, int) else f"{'.' if index > 1 else ''}{part}"
        for index, part in enumerate(path)
        if index
    )


def _exempt(pattern: str) -> bool:
    return any(pattern == field or pattern.startswith(f"{field}.") for field in NOT_A_DEFAULT)


def _xml(data: dict[str, Any]) -> bytes:
    return domain_xml(lower_virtual_machine(data))


def _leaves(xml: bytes) -> tuple[set[str], dict[str, str]]:
    """The domain's elements, and its attributes and texts by XPath; without the
    ownership marker's hash, which covers everything else."""
    root = etree.fromstring(xml)
    tree = root.getroottree()
    elements: set[str] = set()
    values: dict[str, str] = {}
    for element in root.iter(etree.Element):
        where = tree.getpath(element)
        elements.add(where)
        values.update(
            (f"{where}/@{name}", value) for name, value in element.attrib.items() if name != "hash"
        )
        if element.text and element.text.strip():
            values[where] = element.text.strip()
    return elements, values
