"""Schema and semantic problems: located, complete, and worded so the fix is obvious."""

from __future__ import annotations

import jsonschema

from tests.conftest import MINIMAL_SPEC
from vmspec.load import load_text
from vmspec.problems import Problem
from vmspec.schema import load_schema, validate_document


def problems_for(text: str) -> list[Problem]:
    documents, problems = load_text(text, "vm.yaml")
    assert problems == []
    return validate_document(documents[0])


def test_the_schema_is_a_valid_draft_2020_12_schema():
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_minimal_spec_is_valid():
    assert problems_for(MINIMAL_SPEC) == []


def test_an_unknown_key_suggests_the_closest_known_one_at_the_key():
    (problem,) = problems_for(MINIMAL_SPEC + "  memroy: 1GiB\n")
    assert (problem.line, problem.column, problem.path) == (9, 3, ("spec", "memroy"))
    assert problem.message == "unknown field 'memroy'; did you mean 'memory'?"


def test_all_problems_of_a_document_are_reported_at_once():
    text = MINIMAL_SPEC.replace("vcpus: 1", "vcpus: 0") + "  arch: x86\n  memroy: 1GiB\n"
    paths = sorted(problem.path for problem in problems_for(text))
    assert paths == [("spec", "arch"), ("spec", "memroy"), ("spec", "vcpus")]


def test_a_bare_number_as_memory_suggests_a_unit():
    (problem,) = problems_for(MINIMAL_SPEC.replace("memory: 128MiB", "memory: 4096"))
    assert problem.path == ("spec", "memory")
    assert "needs a unit" in problem.message and "'4096MiB'" in problem.message


def test_a_yaml_boolean_where_a_string_belongs_says_to_quote_it():
    text = MINIMAL_SPEC + "  disks:\n    - target: vda\n      file: /a.img\n      serial: no\n"
    (problem,) = problems_for(text)
    assert (problem.line, problem.column) == (12, 15)
    assert 'quote it: "no"' in problem.message


def test_an_enum_typo_suggests_the_closest_value():
    (problem,) = problems_for(MINIMAL_SPEC.replace("domainType: qemu", "domainType: kvmm"))
    assert problem.message.endswith("did you mean 'kvm'?")


def test_a_missing_required_field_is_named():
    (problem,) = problems_for(MINIMAL_SPEC.replace("  vcpus: 1\n", ""))
    assert problem.path == ("spec",)
    assert "missing required field 'vcpus'" in problem.message


def test_semantic_checks_run_only_on_schema_valid_documents():
    # vcpus is wrong for the schema, so the topology rule (which needs vcpus) stays quiet.
    text = MINIMAL_SPEC.replace("vcpus: 1", "vcpus: many") + (
        "  cpu: {mode: custom, model: qemu64, topology: {sockets: 2, cores: 1, threads: 1}}\n"
    )
    (problem,) = problems_for(text)
    assert problem.path == ("spec", "vcpus")


def test_topology_must_multiply_to_vcpus():
    text = (
        MINIMAL_SPEC
        + "  cpu: {mode: custom, model: qemu64, topology: {sockets: 2, cores: 2, threads: 1}}\n"
    )
    (problem,) = problems_for(text)
    assert problem.path == ("spec", "cpu", "topology")
    assert "topology gives 2x2x1 = 4 vCPUs but vcpus is 1" in problem.message


def test_host_passthrough_under_tcg_says_why():
    (problem,) = problems_for(MINIMAL_SPEC + "  cpu: {mode: host-passthrough}\n")
    assert problem.path == ("spec", "cpu", "mode")
    assert "TCG" in problem.message


def test_a_disk_needs_exactly_one_source():
    text = MINIMAL_SPEC + "  disks:\n    - target: vda\n      file: /a.img\n      block: /dev/sdz\n"
    (problem,) = problems_for(text)
    assert problem.path == ("spec", "disks", 0, "block")
    assert "exactly one source" in problem.message


def test_control_characters_in_text_are_refused():
    text = MINIMAL_SPEC.replace("name: tiny", 'name: tiny\n  description: "bell \\x07"')
    (problem,) = problems_for(text)
    assert problem.path == ("metadata", "description")
    assert "U+0007" in problem.message


def test_a_top_level_list_is_refused():
    documents, _ = load_text("- a\n- b\n", "list.yaml")
    (problem,) = validate_document(documents[0])
    assert "must be a mapping" in problem.message and "not a list" in problem.message


def test_the_fast_validity_check_agrees_with_jsonschema_on_every_spec_we_have():
    # jsonschema-rs decides whether jsonschema must run: they must never disagree.
    from tests.conftest import REPO
    from vmspec.load import load_paths
    from vmspec.schema.validator import _fast_validator, _validator

    documents, _ = load_paths([REPO / "specs", REPO / "tests" / "bad"])
    checked = 0
    for document in documents:
        if isinstance(document.data, dict):
            fast = _fast_validator().is_valid(document.data)
            assert fast == _validator().is_valid(document.data), document.file
            checked += 1
    assert checked >= 14
