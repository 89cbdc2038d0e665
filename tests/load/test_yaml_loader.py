"""Loading keeps positions and refuses what is not plain, bounded data."""

from __future__ import annotations

import time

from vmspec.load.yaml_loader import (
    MAX_NESTING,
    MAX_NODES_PER_DOCUMENT,
    load_bytes,
    load_paths,
    load_text,
)


def test_values_are_located_by_field_path():
    documents, problems = load_text("a: 1\nb:\n  - x\n  - {c: yes}\n", "f.yaml")
    assert problems == []
    assert documents[0].data == {"a": 1, "b": ["x", {"c": True}]}
    assert documents[0].locate(("b", 1, "c")) == (4, 9)
    assert documents[0].locate(("b", 1, "c"), at_key=True) == (4, 6)


def test_a_missing_field_is_located_at_its_nearest_parent():
    documents, _ = load_text("a:\n  b: 1\n", "f.yaml")
    assert documents[0].locate(("a", "missing")) == (2, 3)


def test_several_documents_and_a_trailing_separator():
    documents, problems = load_text("a: 1\n---\nb: 2\n---\n", "f.yaml")
    assert problems == []
    assert [document.data for document in documents] == [{"a": 1}, {"b": 2}]
    assert documents[1].locate(("b",)) == (3, 4)


def test_duplicate_keys_are_an_error_at_the_second_key():
    _, problems = load_text("spec:\n  memory: 1GiB\n  memory: 2GiB\n", "f.yaml")
    (problem,) = problems
    assert (problem.line, problem.column, problem.path) == (3, 3, ("spec", "memory"))
    assert "duplicate key 'memory'" in problem.message


def test_python_tags_are_refused_not_executed():
    _, problems = load_text("a: !!python/object/apply:os.system [echo hi]\n", "f.yaml")
    assert "unsupported YAML tag" in problems[0].message


def test_billion_laughs_fails_fast_with_a_clear_message():
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    started = time.perf_counter()
    _, problems = load_text("\n".join(lines) + "\n", "bomb.yaml")
    elapsed = time.perf_counter() - started
    assert f"more than {MAX_NODES_PER_DOCUMENT} values" in problems[0].message
    # Not a timing assertion on speed: a bound that only an unbounded expansion could break.
    assert elapsed < 30


def test_deep_nesting_is_refused():
    text = "a: " + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5) + "\n"
    _, problems = load_text(text, "deep.yaml")
    assert "nesting is deeper than" in problems[0].message


def test_merge_keys_are_applied_and_explicit_keys_win():
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n"
    documents, problems = load_text(text, "f.yaml")
    assert problems == []
    assert documents[0].data["d"] == {"x": 1, "y": 3}
    # A merged value is located at the merge key that brought it into this mapping.
    assert documents[0].locate(("d", "x")) == (3, 3)
    assert documents[0].locate(("d", "y")) == (4, 6)


def test_non_utf8_input_is_located():
    _, problems = load_bytes(b"a: 1\nb: caf\xe9\n", "latin1.yaml")
    (problem,) = problems
    assert (problem.line, problem.column) == (2, 7)
    assert "not UTF-8" in problem.message


def test_a_byte_order_mark_is_accepted():
    documents, problems = load_bytes("\ufeffa: 1\n".encode(), "bom.yaml")
    assert problems == [] and documents[0].data == {"a": 1}


def test_nul_bytes_are_refused():
    _, problems = load_text("a: b\x00c\n", "nul.yaml")
    assert "invalid YAML" in problems[0].message


def test_an_unclosed_flow_sequence_is_located_where_it_opens():
    _, problems = load_text("a: [1, 2\nb: 3\n", "f.yaml")
    (problem,) = problems
    assert (problem.line, problem.column) == (1, 4)
    assert problem.message == (
        "invalid YAML: did not find expected ',' or ']' at 2:2 "
        "(while parsing a flow sequence that starts here)"
    )


def test_a_block_syntax_error_is_located_where_libyaml_found_it():
    _, problems = load_text("a:\n  - x\n  y: 1\n", "f.yaml")
    (problem,) = problems
    assert (problem.line, problem.column) == (3, 3)
    assert "that starts at 2:3" in problem.message


def test_an_empty_or_comment_only_file_is_an_error():
    for text in ("", "# nothing here\n"):
        _, problems = load_text(text, "empty.yaml")
        assert problems[0].message == "file holds no YAML document"


def test_dates_stay_text():
    documents, _ = load_text("d: 2024-01-31\n", "f.yaml")
    assert documents[0].data == {"d": "2024-01-31"}


def test_directories_are_read_recursively_in_order_skipping_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "two.yml").write_text("n: 2\n")
    (tmp_path / "one.yaml").write_text("n: 1\n")
    (tmp_path / ".git" / "hidden.yaml").write_text("n: 3\n")
    (tmp_path / "notes.txt").write_text("n: 4\n")
    documents, problems = load_paths([tmp_path])
    assert problems == []
    assert [document.data["n"] for document in documents] == [2, 1]


def test_a_broken_document_does_not_hide_the_problems_of_the_next():
    text = "a: 1\na: 2\n---\nb: !!binary eA==\n---\nc: 3\n"
    documents, problems = load_text(text, "f.yaml")
    assert [document.data for document in documents] == [{"c": 3}]
    assert [(p.line, p.column, p.path) for p in problems] == [(2, 1, ("a",)), (4, 4, ("b",))]


def test_control_characters_are_located_by_line_and_column():
    _, problems = load_text("a: 1\nb: caf\u00e9\x07\n", "bell.yaml")
    (problem,) = problems
    assert (problem.line, problem.column) == (2, 8)
    assert "U+0007" in problem.message
