"""Problems found in specs: values that say where they came from.

Library code returns or raises these and never prints; the CLI renders them
(``FILE:LINE:COL: field.path: message``) and picks the exit status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# A path into a spec document: mapping keys and sequence indexes, outermost first.
FieldPath = tuple[str | int, ...]


def format_field_path(path: FieldPath) -> str:
    """``("spec", "disks", 1, "target")`` → ``spec.disks[1].target``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem located by field path only; the loader knows where that path is in the file."""

    path: FieldPath
    message: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem located in a file: line and column are 1-based, 0 when unknown."""

    file: str
    line: int
    column: int
    path: FieldPath
    message: str

    def __str__(self) -> str:
        field = format_field_path(self.path)
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


class SpecError(Exception):
    """Raised when specs cannot be compiled; carries every problem found, sorted by place."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=_problem_sort_key)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def _problem_sort_key(problem: Problem) -> tuple[str, int, int, str]:
    return (problem.file, problem.line, problem.column, problem.message)
