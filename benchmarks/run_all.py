"""Every benchmark in one run: compile throughput and memory, start-up, no-change plan.
Prints their tables (Markdown, for the README) and the goals, and writes the figures to
benchmarks/results.json. `make bench` runs this; `make bench BENCH_ARGS=--quick` is the
smoke run.

    .venv/bin/python benchmarks/run_all.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import compile_bench
import plan_bench
import startup_bench
from measure import goal_table, machine

BENCHMARKS = {"compile": compile_bench, "startup": startup_bench, "plan": plan_bench}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N and few runs: a smoke run")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("results.json"))
    arguments = parser.parse_args()
    results: dict[str, object] = {"machine": machine(), "quick": arguments.quick}
    goals = []
    for name, benchmark in BENCHMARKS.items():
        settings = benchmark.QUICK if arguments.quick else benchmark.FULL
        results[name] = benchmark.run_benchmark(**settings)
        print(benchmark.report(results[name]), end="\n\n", flush=True)
        goals += benchmark.goals(results[name])
    results["goals"] = [{"goal": g, "measured": m, "holds": h == "holds"} for g, m, h in goals]
    print("### Goals\n\n" + goal_table(goals))
    arguments.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {arguments.json}")


if __name__ == "__main__":
    main()
