"""docs/ci.md: its recipes cannot run here (no GitHub, no GitLab), but every YAML block
must parse, hold the structure its CI reads, and every vmspec command line in the page
must name a command, options and choices the CLI has."""

from __future__ import annotations

import re
import shlex

import click
import pytest
import yaml

from tests.conftest import REPO
from vmspec.cli import main

CI_DOC = REPO / "docs" / "ci.md"
FENCED = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# A vmspec command: after a line start, a shell separator or an opening backtick.
COMMAND = re.compile(r"(?:^|[\s;&|(])vmspec +([a-z][^\n]*)", re.MULTILINE)
SHELL_LANGUAGES = {"sh", "shell", "bash", "console"}
INLINE_CODE = re.compile(r"`([^`\n]+)`")
SHELL_STOP = re.compile(r"\s(?:>|\|\||&&|;|\|)\s|\s>\S")


class _GitLabLoader(yaml.SafeLoader):
    """GitLab's !reference [job, key] tag, read as the list it names."""


_GitLabLoader.add_constructor(
    "!reference", lambda loader, node: loader.construct_sequence(node, deep=True)
)


def yaml_blocks() -> list[object]:
    text = CI_DOC.read_text()
    return [
        yaml.load(body, Loader=_GitLabLoader)
        for language, body in FENCED.findall(text)
        if language == "yaml"
    ]


def strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def command_lines() -> list[str]:
    """Every vmspec command line of the page: in the strings of its YAML blocks (shell
    continuation lines joined), in its shell blocks and in its inline code."""
    text = CI_DOC.read_text()
    code = [value for block in yaml_blocks() for value in strings(block)]
    code += [body for language, body in FENCED.findall(text) if language in SHELL_LANGUAGES]
    code += INLINE_CODE.findall(FENCED.sub("", text))
    found = [
        match.group(1) for part in code for match in COMMAND.finditer(part.replace("\\\n", " "))
    ]
    return [SHELL_STOP.split(line)[0].strip() for line in found]


def problems_of(line: str) -> list[str]:
    words = shlex.split(line)
    command = main.commands.get(words[0])
    if command is None:
        return [f"{line}: no command {words[0]!r}"]
    options = {name: p for p in command.params for name in (*p.opts, *p.secondary_opts)}
    options["--help"] = None
    problems = []
    rest = iter(words[1:])
    for word in rest:
        if not word.startswith("-"):
            continue  # a path, or URI placeholder after its option
        name, _, inline_value = word.partition("=")
        if name not in options:
            problems.append(f"{line}: {words[0]} has no option {name}")
            continue
        option = options[name]
        if option is None or option.is_flag:
            continue
        value = inline_value or next(rest, None)
        if isinstance(option.type, click.Choice) and value not in option.type.choices:
            problems.append(f"{line}: {name} {value!r} is not one of {option.type.choices}")
    return problems


def test_every_vmspec_command_line_names_commands_and_options_that_exist():
    lines = command_lines()
    used = {shlex.split(line)[0] for line in lines}
    assert {"validate", "compile", "plan", "apply"} <= used, lines
    assert any("--output markdown" in line for line in lines)
    assert any("--output json" in line for line in lines)
    assert [problem for line in lines for problem in problems_of(line)] == []


def test_the_checker_finds_a_wrong_option_and_a_wrong_choice():
    assert problems_of("plan specs --output html") != []
    assert problems_of("compile specs --golden out") != []
    assert problems_of("explainall specs") != []


def test_the_github_workflow_has_jobs_of_steps_and_gates_on_the_exit_codes():
    (workflow,) = [block for block in yaml_blocks() if isinstance(block, dict) and "jobs" in block]
    assert set(workflow[True]) == {"pull_request", "push", "schedule"}  # YAML 1.1 reads on: as True
    for name, job in workflow["jobs"].items():
        assert "runs-on" in job, name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)
        for need in [job.get("needs")] if isinstance(job.get("needs"), str) else []:
            assert need in workflow["jobs"], (name, need)
    plan_script = next(s["run"] for s in workflow["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    assert "|| code=$?" in plan_script and '"$code" -eq 1 ]; then exit 1' in plan_script


def test_the_gitlab_pipeline_stages_extends_and_exit_codes_fit_together():
    (pipeline,) = [
        block for block in yaml_blocks() if isinstance(block, dict) and "stages" in block
    ]
    jobs = {
        name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job
    }
    assert set(jobs) == {"check", "plan", "apply"}
    for name, job in jobs.items():
        assert job["stage"] in pipeline["stages"], name
        assert job["extends"] in pipeline, name
    assert pipeline["plan"]["allow_failure"] == {"exit_codes": [2]}
    assert pipeline["plan"]["script"][-1] == 'exit "$code"'
    # !reference [.vmspec, before_script] names a key that exists.
    reference = pipeline[".libvirt-host"]["before_script"][0]
    assert reference == [".vmspec", "before_script"] and "before_script" in pipeline[".vmspec"]


def test_the_pre_commit_snippet_names_the_hooks_this_repository_declares():
    declared = {
        hook["id"] for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    }
    (config,) = [block for block in yaml_blocks() if isinstance(block, dict) and "repos" in block]
    assert {hook["id"] for hook in config["repos"][0]["hooks"]} == declared


@pytest.mark.parametrize("block", range(len(yaml_blocks())))
def test_every_yaml_block_parses(block):
    assert yaml_blocks()[block] is not None
