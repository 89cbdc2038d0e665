"""Where a run's scope comes from: --scope, then VMSPEC_SCOPE, then the repo's
.vmspec.yaml, then 'default' (vmspec/scope.py)."""

from __future__ import annotations

import pytest

from tests.conftest import MINIMAL_SPEC, vmspec, write_spec
from vmspec.problems import SpecError
from vmspec.scope import DEFAULT_SCOPE, resolve_scope


def test_the_option_wins_over_the_environment_and_the_file(tmp_path):
    (tmp_path / ".vmspec.yaml").write_text("scope: from-file\n")
    scope = resolve_scope("from-option", [tmp_path], {"VMSPEC_SCOPE": "from-env"})
    assert (scope.name, scope.source) == ("from-option", "--scope")
    scope = resolve_scope(None, [tmp_path], {"VMSPEC_SCOPE": "from-env"})
    assert (scope.name, scope.source) == ("from-env", "VMSPEC_SCOPE")


def test_the_repo_file_is_found_above_the_spec_paths_and_not_past_the_repo_root(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "specs" / "web").mkdir(parents=True)
    (repo / ".vmspec.yaml").write_text("scope: team-web\n")
    spec = write_spec(repo / "specs" / "web", MINIMAL_SPEC)
    scope = resolve_scope(None, [spec], {})
    assert (scope.name, scope.source) == ("team-web", str(repo / ".vmspec.yaml"))

    (tmp_path / ".vmspec.yaml").write_text("scope: outside\n")
    (repo / ".vmspec.yaml").unlink()
    assert resolve_scope(None, [spec], {}).name == DEFAULT_SCOPE  # .git stops the search


def test_a_bad_scope_file_is_a_located_error(tmp_path):
    (tmp_path / ".vmspec.yaml").write_text("scope: not a name\nscop: x\n")
    with pytest.raises(SpecError) as raised:
        resolve_scope(None, [tmp_path], {})
    messages = [str(problem) for problem in raised.value.problems]
    assert any(":1:8: scope: scope 'not a name' is not a valid scope name" in m for m in messages)
    assert any(":2:1: scop: unknown field 'scop'" in m for m in messages)


def test_paths_of_two_scopes_in_one_run_are_refused(tmp_path):
    for team in ("a", "b"):
        (tmp_path / team / ".git").mkdir(parents=True)
        (tmp_path / team / ".vmspec.yaml").write_text(f"scope: team-{team}\n")
    with pytest.raises(SpecError, match="the paths belong to different scopes"):
        resolve_scope(None, [tmp_path / "a", tmp_path / "b"], {})


def test_compile_records_a_non_default_scope_in_the_marker_only(tmp_path):
    spec = write_spec(tmp_path, MINIMAL_SPEC)
    default = vmspec("compile", str(spec))
    scoped = vmspec("compile", "--scope", "team-a", str(spec))
    assert default.returncode == scoped.returncode == 0
    assert "scope=" not in default.stdout
    assert 'spec="tiny" scope="team-a" hash=' in scoped.stdout
    invalid = vmspec("compile", "--scope", "a b", str(spec))
    assert invalid.returncode == 1
    assert "--scope:0:0: scope 'a b' is not a valid scope name" in invalid.stderr
    assert "Traceback" not in invalid.stderr
