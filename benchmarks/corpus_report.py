"""How much of libvirt's own test suite vmspec can import, as Markdown for the README.

    .venv/bin/python benchmarks/corpus_report.py [--top 15]

The same walk as tests/lift/test_corpus.py (which fetches the corpus with
scripts/fetch-libvirt-tests when this checkout has none): per folder and in total, how
many files lift refuses, calls lossless, and really round-trip; then the element
families most often missing, counted in files, so vocabulary work goes where the most
domains need it. "only gap" counts the files that family alone keeps from importing.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

if not __package__:  # run as a file: make the repository importable, as pytest does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lift.test_corpus import (
    FOLDERS,
    CorpusUnavailable,
    Outcome,
    corpus_dir,
    corpus_files,
    domain_schema,
    examine,
)

# Families are counted at /domain/devices/X, /domain/features/X, /domain/os/X and
# /domain/cpu/X (numa, cache...), and at /domain/X elsewhere (cputune, memoryBacking...).
_CONTAINERS = ("devices", "features", "os", "cpu")


def family(dropped: str) -> str:
    """``/domain/devices/hostdev[2]/source/@mode`` → ``/domain/devices/hostdev``; a change
    lift reports as ``devices/disk[hda]/driver/@io: native (the spec gives ...)`` → its
    XPath's family too; a refusal that names no XPath (``not XML: ...``) → itself."""
    path = dropped.split(": ", 1)[0].split(" ", 1)[0]
    if not path.startswith("/"):
        if not re.fullmatch(r"[\w@:./\[\]'=-]+", path):
            return dropped
        path = f"/domain/{path}"
    steps = [step for step in re.sub(r"\[[^]]*\]", "", path).split("/") if step]
    elements = [step for step in steps if not step.startswith("@") and step != "text()"]
    if len(elements) == 1:  # an attribute of <domain> itself, such as /domain/@type
        return "/" + "/".join(steps[:2])
    depth = 3 if elements[1] in _CONTAINERS and len(elements) > 2 else 2
    return "/" + "/".join(elements[:depth])


def _reason(problem: str) -> str:
    """A round-trip problem of tests/lift/test_corpus.py, grouped: the spec field that is
    not valid, or the XPath family that does not come back."""
    if problem.startswith("not a valid spec: "):
        field = problem.removeprefix("not a valid spec: ").split(": ", 1)[0]
        return "invalid spec: " + re.sub(r"\[\d+\]", "", field)
    if problem.startswith("/"):
        return family(problem.split(": ", 1)[0]) + (
            " (passed over as libvirt's)" if "passed over" in problem else " (comes back changed)"
        )
    return problem.split(":", 1)[0]


def _share(count: int, total: int) -> str:
    return f"{count} ({count / total:.1%})" if total else "0"


def summary_table(outcomes: list[Outcome]) -> list[str]:
    distinct = list({o.path.resolve(): o for o in outcomes}.values())
    rows = [(folder, [o for o in outcomes if o.folder == folder]) for folder in FOLDERS]
    rows.append(("all (distinct files)", distinct))
    lines = [
        "| folder | files | lift raises | refused | lossless, as lift says | round-trips |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, group in rows:
        total = len(group)
        raised = sum(o.error is not None for o in group)
        lossless = sum(bool(o.lifted and o.lifted.lossless) for o in group)
        round_trips = sum(o.round_trips for o in group)
        lines.append(
            f"| {name} | {total} | {raised} | {total - raised - lossless} "
            f"| {_share(lossless, total)} | {_share(round_trips, total)} |"
        )
    return lines


def families_table(refused: Iterable[Outcome], top: int) -> list[str]:
    files: dict[str, set[Path]] = defaultdict(set)
    only: Counter[str] = Counter()
    example: dict[str, str] = {}
    for outcome in refused:
        families = {family(dropped) for dropped in outcome.lifted.dropped}
        for name in families:
            files[name].add(outcome.path)
            example.setdefault(name, outcome.path.name)
        if len(families) == 1:
            only[families.pop()] += 1
    ranked = sorted(files, key=lambda name: (-len(files[name]), name))[:top]
    lines = ["| family | files | only gap | e.g. |", "|---|---:|---:|---|"]
    lines += [f"| `{n}` | {len(files[n])} | {only[n]} | {example[n]} |" for n in ranked]
    return lines


def round_trip_table(outcomes: Iterable[Outcome], top: int) -> list[str]:
    files: dict[str, set[Path]] = defaultdict(set)
    for outcome in outcomes:
        if outcome.lifted is not None and outcome.lifted.lossless:
            for problem in outcome.problems:
                files[_reason(problem)].add(outcome.path)
    ranked = sorted(files, key=lambda name: (-len(files[name]), name))[:top]
    lines = ["| why a lossless lift does not round-trip | files |", "|---|---:|"]
    lines += [f"| {name} | {len(files[name])} |" for name in ranked]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=15, help="rows of the families table")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        root = corpus_dir()
    except CorpusUnavailable as error:
        print(f"corpus_report: {error}", file=sys.stderr)
        return 1
    schema = domain_schema()
    outcomes = [examine(path, schema) for path in corpus_files(root)]
    distinct = list({o.path.resolve(): o for o in outcomes}.values())
    source = (root / ".complete").read_text().strip()
    print(f"Lift over libvirt's test suite ({source}):\n")
    print("\n".join(summary_table(outcomes)))
    refused = [o for o in distinct if o.lifted is not None and not o.lifted.lossless]
    print(
        f"\nElement families most often missing, in the {len(refused)} refused files "
        f"(top {args.top}; 'only gap': the files it alone keeps out):\n"
    )
    print("\n".join(families_table(refused, args.top)))
    raised = sum(o.error is not None for o in distinct)
    if raised:
        print(f"\nNot counted: the {raised} files on which lift raises (test_lift_never_raises).")
    print()
    print("\n".join(round_trip_table(distinct, args.top)))
    print(f"corpus_report: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
