"""The hooks of .pre-commit-hooks.yaml, run by pre-commit itself as a user's repo would.

`pre-commit try-repo` installs vmspec from this checkout (its working tree, uncommitted
changes included) into a virtualenv of its own with pip, as it does for every user:
about 10 s with PyPI at hand (measured on the dev machine, with and without pip's cache).
A checkout with uncommitted changes gets a new environment on each run; a clean one (CI)
installs once for the test session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytest.importorskip("pre_commit", reason="pre-commit is in the 'test' extra")

EXAMPLE = "web-server.yaml"


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """One hook environment for the module, never the user's ~/.cache/pre-commit."""
    return tmp_path_factory.mktemp("pre-commit-home")


def user_repo(root: Path) -> Path:
    """A repository as the hooks' default args expect it: specs/ and their golden/ XML."""
    (root / "specs").mkdir(parents=True)
    shutil.copy(REPO / "specs" / "examples" / EXAMPLE, root / "specs" / EXAMPLE)
    (root / "golden").mkdir()
    shutil.copy(REPO / "golden" / "web-01.xml", root / "golden" / "web-01.xml")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def try_repo(repo: Path, home: Path) -> tuple[int, str]:
    """pre-commit's exit code and output for every hook on every file of ``repo``."""
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"},
    )
    return result.returncode, result.stdout + result.stderr


def hook_outcomes(output: str) -> dict[str, str]:
    """{"vmspec validate": "Passed", ...} from pre-commit's dotted status lines."""
    outcomes = {}
    for line in output.splitlines():
        name, dots, outcome = line.partition("...")
        if dots and name.startswith("vmspec "):
            outcomes[name] = outcome.strip(".")
    return outcomes


def test_a_stale_golden_file_fails_the_compile_check_only(tmp_path, pre_commit_home):
    repo = user_repo(tmp_path / "user")
    golden = repo / "golden" / "web-01.xml"
    golden.write_text(golden.read_text().replace("<vcpu", "<!-- edited by hand -->\n  <vcpu"))
    code, output = try_repo(repo, pre_commit_home)
    only_the_check = {"vmspec validate": "Passed", "vmspec compile --check": "Failed"}
    assert (code, hook_outcomes(output)) == (1, only_the_check), output
    assert "-  <!-- edited by hand -->" in output
    assert "vmspec: 1 golden file out of date" in output


def test_a_bad_spec_fails_both_hooks_with_its_file_line_and_field(tmp_path, pre_commit_home):
    repo = user_repo(tmp_path / "user")
    spec = repo / "specs" / EXAMPLE
    spec.write_text(spec.read_text().replace("  vcpus: 2\n", "  vcpus: 2\n  cach: none\n"))
    code, output = try_repo(repo, pre_commit_home)
    both_failed = {"vmspec validate": "Failed", "vmspec compile --check": "Failed"}
    assert (code, hook_outcomes(output)) == (1, both_failed), output
    assert output.count(f"specs/{EXAMPLE}:27:3: spec.cach: unknown field 'cach'") == 2, output
