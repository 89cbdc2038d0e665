"""Scopes: which repository owns an object on a shared host.

Several repos (teams, environments) apply to one libvirt host. Every object vmspec
creates records the scope that made it, and a run touches only its own scope's
objects: prune and destroy never reach into another repo's VMs. vmspec keeps no
state file, so the scope must come from what every checkout of a repo agrees on:

1. ``--scope NAME`` on the command line,
2. else the environment variable ``VMSPEC_SCOPE``,
3. else ``scope: NAME`` in a ``.vmspec.yaml`` committed at the repo's top (found by
   walking up from the spec paths, stopping at the repository root),
4. else ``default``, the scope of every object made before scopes existed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vmspec.load.yaml_loader import load_file
from vmspec.problems import Finding, Problem, SpecError

DEFAULT_SCOPE = "default"
SCOPE_FILE = ".vmspec.yaml"
SCOPE_ENVIRONMENT = "VMSPEC_SCOPE"
# Like a VM name: it goes into libvirt metadata and into derived uuids.
_SCOPE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    source: str  # where the name came from, for the plan's header

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_SCOPE


UNSCOPED = Scope(DEFAULT_SCOPE, "default")  # no option, variable or scope file


def resolve_scope(
    option: str | None, paths: Iterable[Path], environment: Mapping[str, str]
) -> Scope:
    """The scope a run works in; raises SpecError (located in the scope file) when a
    scope name is not valid or the paths' repos disagree."""
    if option is not None:
        return Scope(_checked(option, "--scope"), "--scope")
    if environment.get(SCOPE_ENVIRONMENT):
        return Scope(_checked(environment[SCOPE_ENVIRONMENT], SCOPE_ENVIRONMENT), SCOPE_ENVIRONMENT)
    found = {_scope_file(Path(path)) for path in paths} - {None}
    scopes = {file: _read_scope_file(file) for file in sorted(found)}
    if len(set(scopes.values())) > 1:
        listed = ", ".join(f"{name!r} ({file})" for file, name in scopes.items())
        raise SpecError(
            [Problem(str(min(scopes)), 0, 0, (), f"the paths belong to different scopes: {listed}")]
        )
    if scopes:
        file, name = next(iter(scopes.items()))
        return Scope(name, str(file))
    return UNSCOPED


def _checked(name: str, where: str) -> str:
    if not _SCOPE_NAME.fullmatch(name):
        raise SpecError([Problem(where, 0, 0, (), _invalid(name))])
    return name


def _invalid(name: object) -> str:
    return (
        f"scope {name!r} is not a valid scope name: letters, digits, '.', '_' and '-', "
        "starting with a letter or digit, at most 63 characters"
    )


def _scope_file(path: Path) -> Path | None:
    """The nearest .vmspec.yaml at or above ``path``, not looking past a repository's root."""
    directory = path.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        if (candidate / SCOPE_FILE).is_file():
            return candidate / SCOPE_FILE
        if (candidate / ".git").exists():
            return None
    return None


def _read_scope_file(file: Path) -> str:
    documents, problems = load_file(file)
    if problems:
        raise SpecError(problems)
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise SpecError([Problem(str(file), 1, 1, (), "expected one mapping: scope: NAME")])
    document = documents[0]
    unknown = sorted(set(document.data) - {"scope"})
    problems = [
        document.problem(
            Finding((key,), f"unknown field {key!r}; the file holds only scope"), at_key=True
        )
        for key in unknown
    ]
    name = document.data.get("scope")
    if name is None:
        problems.append(document.problem(Finding((), "scope is missing: write scope: NAME")))
    elif not isinstance(name, str) or not _SCOPE_NAME.fullmatch(name):
        problems.append(document.problem(Finding(("scope",), _invalid(name))))
    if problems:
        raise SpecError(problems)
    return name
