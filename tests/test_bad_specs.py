"""The corpus of bad specs in tests/bad: each file's first line says what must be reported.

Header format: ``# expect: LINE:COL FIELD.PATH: SUBSTRING`` (FIELD.PATH is ``-``
for problems that concern the file rather than a field).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import REPO
from vmspec.cli import main

BAD = REPO / "tests" / "bad"
_HEADER = re.compile(r"^# expect: (?P<line>\d+):(?P<column>\d+) (?P<field>\S+): (?P<text>.+)$")
BAD_FILES = sorted(BAD.glob("*.yaml"))


def expectation(path: Path) -> re.Match[str]:
    first_line = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    match = _HEADER.match(first_line)
    assert match, f"{path.name}: first line must be '# expect: LINE:COL FIELD: TEXT'"
    return match


def test_the_corpus_holds_at_least_25_bad_specs():
    assert len(BAD_FILES) >= 25


@pytest.mark.parametrize("path", BAD_FILES, ids=[path.name for path in BAD_FILES])
def test_bad_spec_is_refused_with_its_located_message(path, monkeypatch):
    expected = expectation(path)
    monkeypatch.chdir(REPO)
    relative = str(path.relative_to(REPO))
    result = CliRunner().invoke(main, ["validate", relative], catch_exceptions=True)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    field = "" if expected["field"] == "-" else f"{expected['field']}: "
    prefix = f"{relative}:{expected['line']}:{expected['column']}: {field}"
    matching = [line for line in result.stderr.splitlines() if line.startswith(prefix)]
    assert matching, f"no problem reported at {prefix!r}; got:\n{result.stderr}"
    assert any(expected["text"] in line for line in matching), result.stderr
