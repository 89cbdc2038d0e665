"""Start-up (goal 2 of the benchmarks issue): one spec through the CLI.

- `vmspec compile ONE.yaml --no-cache` (XML to stdout) as a subprocess, as a user runs it
  the first time (the spec validated, lowered and emitted): the median of --runs runs
  after one warm-up; `python -c pass` beside it, the interpreter's own share; and the
  same spec compiled again, from the compile cache (its own cache folder);
- `python -X importtime -m vmspec compile ONE.yaml --no-cache`, --runs times: the modules that
  vmspec's own modules import (each with everything it pulls in: cumulative time), and
  vmspec's own modules (their own time), medians over the runs.

    .venv/bin/python benchmarks/startup_bench.py [--quick] [--runs R] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from compile_bench import IMAGES, SPEC, typical_vm
from measure import (
    PYTHON,
    VMSPEC,
    duration,
    goal_line,
    goal_table,
    machine,
    markdown_table,
    median,
    run,
)

GOAL_SECONDS = 0.2
FULL, QUICK = {"runs": 11}, {"runs": 3}  # run_benchmark's arguments
ENTRY = "(start-up)"  # what -X importtime shows at the top level: site, the -m module...
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


def import_edges(stderr: str) -> dict[tuple[str, str], tuple[int, int]]:
    """-X importtime's tree as {(module, importer): (self µs, cumulative µs)}.

    A module is listed after the modules it imports, indented one step less than them.
    """
    edges: dict[tuple[str, str], tuple[int, int]] = {}
    pending: list[tuple[int, str, int, int]] = []  # (depth, module, self, cumulative)
    for match in _LINE.finditer(stderr):
        own, cumulative, indent, module = match.groups()
        depth = len(indent) // 2
        while pending and pending[-1][0] > depth:
            child = pending.pop()
            edges[(child[1], module)] = (child[2], child[3])
        pending.append((depth, module, int(own), int(cumulative)))
    for _, module, own, cumulative in pending:
        edges[(module, ENTRY)] = (own, cumulative)
    return edges


def is_vmspec(module: str) -> bool:
    return module == "vmspec" or module.startswith("vmspec.")


def import_costs(runs: list[dict[tuple[str, str], tuple[int, int]]]) -> dict[str, Any]:
    """Per run: what vmspec's modules import from elsewhere (cumulative) and vmspec's own
    modules (self); then the median of each over the runs, in seconds."""
    foreign: dict[tuple[str, str], list[int]] = defaultdict(list)
    own: dict[str, list[int]] = defaultdict(list)
    totals = []
    for edges in runs:
        totals.append(sum(cum for (_, importer), (_, cum) in edges.items() if importer == ENTRY))
        for (module, importer), (self_us, cumulative) in edges.items():
            if is_vmspec(module):
                own[module].append(self_us)
            elif is_vmspec(importer):
                foreign[(module, importer)].append(cumulative)

    def seconds(values: list[int]) -> float:
        return median(values + [0] * (len(runs) - len(values))) / 1e6

    return {
        "total_s": median(totals) / 1e6,
        "vmspec_own_s": sum(seconds(values) for values in own.values()),
        "imported_by_vmspec": sorted(
            (
                {"module": module, "importer": importer, "cumulative_s": seconds(values)}
                for (module, importer), values in foreign.items()
            ),
            key=lambda item: -item["cumulative_s"],
        ),
        "vmspec_modules": sorted(
            ({"module": module, "self_s": seconds(values)} for module, values in own.items()),
            key=lambda item: -item["self_s"],
        ),
    }


def run_benchmark(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vmspec-bench-") as directory:
        os.environ["XDG_CACHE_HOME"] = str(Path(directory) / "cache")  # not the user's
        os.environ.pop("VMSPEC_NO_CACHE", None)
        spec = Path(directory) / "one.yaml"
        spec.write_text(SPEC.format(images=IMAGES, **typical_vm(1)))
        command = [VMSPEC, "compile", str(spec)]
        run(command)  # warm-up: page cache and .pyc files; fills the compile cache
        cli = [run([*command, "--no-cache"]) for _ in range(runs)]
        cached = [run(command) for _ in range(runs)]
        interpreter = [run([PYTHON, "-c", "pass"]) for _ in range(runs)]
        importtime = [PYTHON, "-X", "importtime", "-m", "vmspec", "compile", str(spec)]
        traces = [
            import_edges(run([*importtime, "--no-cache"]).stderr.decode()) for _ in range(runs)
        ]
    return {
        "runs": runs,
        "cli_median_s": median([item.seconds for item in cli]),
        "cli_min_s": min(item.seconds for item in cli),
        "cli_cpu_median_s": median([item.cpu_seconds for item in cli]),
        "cached_median_s": median([item.seconds for item in cached]),
        "interpreter_median_s": median([item.seconds for item in interpreter]),
        "interpreter_cpu_median_s": median([item.cpu_seconds for item in interpreter]),
        "imports": import_costs(traces),
    }


def goals(results: dict[str, Any]) -> list[list[object]]:
    seconds = results["cli_median_s"]
    return [
        goal_line(
            "one spec through the CLI under 200 ms (compiled in full)",
            duration(seconds),
            seconds < GOAL_SECONDS,
        )
    ]


def report(results: dict[str, Any], top: int = 10) -> str:
    imports = results["imports"]
    summary = markdown_table(
        ["what", "median"],
        [
            [
                f"`vmspec compile ONE.yaml --no-cache` (min {duration(results['cli_min_s'])})",
                duration(results["cli_median_s"]),
            ],
            [
                "`vmspec compile ONE.yaml` again (compile cache)",
                duration(results["cached_median_s"]),
            ],
            ["`python -c pass` (the interpreter alone)", duration(results["interpreter_median_s"])],
            [
                "CPU time (user + system): `vmspec compile --no-cache`, `python -c pass`",
                f"{duration(results['cli_cpu_median_s'])}, "
                f"{duration(results['interpreter_cpu_median_s'])}",
            ],
            ["all imports (`-X importtime`, top level)", duration(imports["total_s"])],
            ["vmspec's own modules (their own time)", duration(imports["vmspec_own_s"])],
        ],
    )
    foreign = markdown_table(
        ["module", "imported by", "cumulative"],
        [
            [
                f"`{item['module']}`",
                f"`{item['importer']}`",
                f"{item['cumulative_s'] * 1000:.1f} ms",
            ]
            for item in imports["imported_by_vmspec"][:top]
        ],
        "llr",
    )
    own = markdown_table(
        ["vmspec module", "own time"],
        [
            [f"`{item['module']}`", f"{item['self_s'] * 1000:.1f} ms"]
            for item in imports["vmspec_modules"][:top]
        ],
    )
    return "\n\n".join(
        [
            f"### Start-up (median of {results['runs']} runs)",
            summary,
            "What vmspec's modules import from elsewhere, with everything that pulls in:",
            foreign,
            "vmspec's own modules, slowest first:",
            own,
            goal_table(goals(results)),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    parser.add_argument("--runs", type=int, help=f"runs per measurement ({FULL['runs']})")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    arguments = parser.parse_args()
    results = run_benchmark(arguments.runs or (QUICK if arguments.quick else FULL)["runs"])
    print(report(results))
    if arguments.json:
        arguments.json.write_text(json.dumps({"machine": machine(), "startup": results}, indent=2))


if __name__ == "__main__":
    main()
