"""A no-change plan on a real libvirtd (goal 3 of the benchmarks issue).

Defines --count managed domains (vmspec-bench-NN: stopped TCG guests without disks)
with `vmspec apply`, then, interleaved, the median of --runs runs of each of:

- `vmspec plan -c URI DIR` and the floor, plan_floor.py (open, list the persistent
  domains, XMLDesc(INACTIVE) of each, close), both as subprocesses, as a user runs them.
  The plan asked again with nothing changed is replayed from its memo
  (vmspec/host/plan_memo.py); so the same plan is also timed with one spec file edited
  before each run (a comment added: the memo misses, the full plan runs, and the plan
  cache still knows every domain), which is what a plan costs after a commit;
- the same two in this process: no interpreter start-up and no imports, the plan being
  ValidDocuments + Host + plan_documents, what `vmspec plan` calls on a memo miss; then the plan
  alone (the specs read and validated already), and the plan with its cache off
  (vmspec/host/plan_cache.py; the first plan after apply fills the cache, in a
  folder of this run's).

Then what each subprocess imports (`-X importtime`), and one in-process plan under
cProfile: the libvirt calls it makes, by kind and per domain on the host, and where it
spends its own time. Every vmspec-bench-*
domain is removed at the end, also when something failed.

    .venv/bin/python benchmarks/plan_bench.py [--quick] [--count N] [--runs R] [--json FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import libvirt
from measure import (
    PYTHON,
    REPOSITORY,
    TIMES,
    VMSPEC,
    duration,
    goal_line,
    goal_table,
    machine,
    markdown_table,
    median,
    run,
    times,
)
from plan_floor import read_all_definitions
from startup_bench import import_costs, import_edges

from vmspec.compare.model import Options
from vmspec.compile import ValidDocuments
from vmspec.host.connection import Host
from vmspec.host.session import plan_documents

URI = "qemu:///system"
PREFIX = "vmspec-bench-"
FLOOR = str(Path(__file__).with_name("plan_floor.py"))
GOAL_RATIO = 1.5
FULL, QUICK = {"count": 50, "runs": 9}, {"count": 10, "runs": 3}  # run_benchmark's arguments
SPEC = """\
apiVersion: vmspec/v1
kind: VirtualMachine
metadata:
  name: {name}
  labels: {{role: bench}}
spec:
  domainType: qemu
  memory: 128MiB
  vcpus: 1
  serials: [{{type: pty}}]
"""


def remove_bench_domains(uri: str) -> None:
    connection = libvirt.open(uri)
    try:
        for domain in connection.listAllDomains():
            if domain.name().startswith(PREFIX):
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
    finally:
        connection.close()


def plan_in_process(uri: str, specs: Path, cache: bool = True) -> None:
    plan_read_specs(uri, list(ValidDocuments([specs])), cache)


def plan_read_specs(uri: str, documents: list, cache: bool = True) -> None:
    """The plan alone, the specs being read and validated already."""
    host = Host(uri)
    try:
        plan = plan_documents(host, documents, Options(cache=cache))
    finally:
        host.close()
    assert not plan.has_changes and not plan.refused, "the plan has changes"


def timed(action: Any, *arguments: Any) -> float:
    start = time.perf_counter()
    action(*arguments)
    return time.perf_counter() - start


def profile_plan(uri: str, specs: Path, domains_on_host: int, top: int) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.runcall(plan_in_process, uri, specs)
    stats = pstats.Stats(profiler).stats  # {(file, line, function): (cc, calls, tt, ct, callers)}
    libvirt_calls = [
        {"call": function, "calls": calls, "seconds": cumulative}
        for (file, _, function), (_, calls, _, cumulative, _) in stats.items()
        if Path(file).name == "libvirt.py" and function[0] not in "_<"
    ]
    areas: dict[str, float] = {}
    for key, (_, _, own, _, _) in stats.items():
        areas[area(key)] = areas.get(area(key), 0.0) + own
    hottest = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    return {
        "domains_on_host": domains_on_host,
        "own_time_by_area": dict(sorted(areas.items(), key=lambda item: -item[1])),
        "libvirt_calls": sorted(libvirt_calls, key=lambda item: -item["calls"]),
        "own_time": [
            {
                "function": _short(pstats.func_std_string(key)),
                "calls": calls,
                "own_s": own,
                "cumulative_s": cumulative,
            }
            for key, (_, calls, own, cumulative, _) in hottest
        ],
    }


def area(key: tuple[str, int, str]) -> str:
    """Where a profiled function lives: a vmspec package, a library, libvirt's RPCs..."""
    file, _, function = key
    if file == "~":  # a C function: {built-in method libvirtmod.virDomainGetXMLDesc}
        if "libvirtmod." in function:
            return "libvirt C calls (RPCs to libvirtd)"
        return "other C functions (lxml, list, dict, locks...)"
    path = Path(file)
    if path.is_relative_to(REPOSITORY / "vmspec"):
        return "/".join(path.relative_to(REPOSITORY).parts[:2])
    if "site-packages" in path.parts:
        return path.parts[path.parts.index("site-packages") + 1].removesuffix(".py")
    return "Python standard library"


def _short(function: str) -> str:
    """A profiled function's name without the folders a reader does not need."""
    for folder in (f"{REPOSITORY}/", "/usr/lib/python3.11/"):
        function = function.replace(folder, "")
    return function.replace(".venv/lib/python3.11/site-packages/", "")


def run_benchmark(count: int, runs: int, uri: str = URI, top: int = 15) -> dict[str, Any]:
    subprocess.run([str(REPOSITORY / "scripts/libvirtd")], check=True, capture_output=True)
    remove_bench_domains(uri)
    cache_home = os.environ.get("XDG_CACHE_HOME")
    try:
        with tempfile.TemporaryDirectory(prefix=PREFIX) as directory:
            specs = Path(directory) / "specs"
            specs.mkdir()
            # The plan cache (vmspec/host/plan_cache.py) of this run alone, for the
            # subprocesses too: the first plan after apply fills it, the timed ones use it.
            os.environ["XDG_CACHE_HOME"] = str(Path(directory) / "cache")
            for index in range(count):
                name = f"{PREFIX}{index:02d}"
                (specs / f"{name}.yaml").write_text(SPEC.format(name=name))
            apply = run([VMSPEC, "apply", "-c", uri, str(specs)])
            plan = [VMSPEC, "plan", "-c", uri, str(specs)]
            assert b"No changes" in run(plan).stdout, "a plan right after apply has changes"
            times: dict[str, list[float]] = {key: [] for key in ("plan", "plan_edited", "floor")}
            edited = specs / f"{PREFIX}00.yaml"
            in_process: dict[str, list[float]] = {
                key: [] for key in ("plan", "plan_no_cache", "plan_read_specs", "floor")
            }
            documents = list(ValidDocuments([specs]))
            for index in range(runs):
                times["plan"].append(run(plan).seconds)
                edited.write_text(f"# edit {index}\n{SPEC.format(name=edited.stem)}")
                times["plan_edited"].append(run(plan).seconds)
                times["floor"].append(run([PYTHON, FLOOR, uri]).seconds)
                in_process["plan"].append(timed(plan_in_process, uri, specs))
                in_process["plan_no_cache"].append(timed(plan_in_process, uri, specs, False))
                in_process["plan_read_specs"].append(timed(plan_read_specs, uri, documents))
                in_process["floor"].append(timed(read_all_definitions, uri))
            domains_on_host = read_all_definitions(uri)
            profile = profile_plan(uri, specs, domains_on_host, top)
            imports = {
                "plan": import_costs([import_edges(run(importtime(plan)).stderr.decode())]),
                "floor": import_costs(
                    [import_edges(run(importtime([FLOOR, uri])).stderr.decode())]
                ),
            }
    finally:
        remove_bench_domains(uri)
        os.environ.pop("XDG_CACHE_HOME")
        if cache_home is not None:
            os.environ["XDG_CACHE_HOME"] = cache_home
    return {
        "uri": uri,
        "domains": count,
        "domains_on_host": domains_on_host,
        "runs": runs,
        "apply_s": apply.seconds,
        "subprocess": {key: median(values) for key, values in times.items()},
        "in_process": {key: median(values) for key, values in in_process.items()},
        "profile": profile,
        "imports": imports,
    }


def importtime(command: list[str]) -> list[str]:
    """``command`` (vmspec's console script, or a script) under ``python -X importtime``."""
    if command[0] == VMSPEC:
        return [PYTHON, "-X", "importtime", "-m", "vmspec", *command[1:]]
    return [PYTHON, "-X", "importtime", *command]


def goals(results: dict[str, Any]) -> list[list[object]]:
    ratio = results["subprocess"]["plan"] / results["subprocess"]["floor"]
    inner = results["in_process"]["plan"] / results["in_process"]["floor"]
    return [
        goal_line(
            f"no-change plan within {GOAL_RATIO}{TIMES} the bare libvirt calls",
            f"{times(ratio)} as subprocesses ({times(inner)} in-process)",
            ratio <= GOAL_RATIO,
        )
    ]


def report(results: dict[str, Any]) -> str:
    outer, inner = results["subprocess"], results["in_process"]
    rows = [
        ("as subprocesses", outer["plan"], outer["floor"]),
        ("as subprocesses, one spec edited (full plan)", outer["plan_edited"], outer["floor"]),
        ("in-process", inner["plan"], inner["floor"]),
        ("in-process, specs read already", inner["plan_read_specs"], inner["floor"]),
        ("in-process, plan cache off", inner["plan_no_cache"], inner["floor"]),
    ]
    timings = markdown_table(
        ["", "vmspec plan", "floor: list + XMLDesc each", "ratio"],
        [
            [label, duration(plan), duration(floor), times(plan / floor)]
            for label, plan, floor in rows
        ],
    )
    imports = results["imports"]
    start_up = markdown_table(
        ["imports (`-X importtime`, one run)", "time"],
        [
            ["`vmspec plan`, all", duration(imports["plan"]["total_s"])],
            *[
                [
                    f"… `{item['module']}` (from `{item['importer']}`)",
                    duration(item["cumulative_s"]),
                ]
                for item in imports["plan"]["imported_by_vmspec"][:6]
            ],
            ["… vmspec's own modules", duration(imports["plan"]["vmspec_own_s"])],
            ["floor (`plan_floor.py`), all", duration(imports["floor"]["total_s"])],
        ],
    )
    profile = results["profile"]
    per_domain = profile["domains_on_host"]
    calls = markdown_table(
        ["libvirt call", "calls", "per domain", "time"],
        [
            [
                f"`{item['call']}`",
                item["calls"],
                f"{item['calls'] / per_domain:.2f}",
                duration(item["seconds"]),
            ]
            for item in profile["libvirt_calls"]
        ],
    )
    areas = markdown_table(
        ["code", "own time"],
        [[name, duration(seconds)] for name, seconds in profile["own_time_by_area"].items()],
    )
    hottest = markdown_table(
        ["function", "calls", "own time", "cumulative"],
        [
            [
                f"`{item['function']}`",
                item["calls"],
                duration(item["own_s"]),
                duration(item["cumulative_s"]),
            ]
            for item in profile["own_time"]
        ],
    )
    return "\n\n".join(
        [
            f"### No-change plan on {results['uri']} (median of {results['runs']} runs)",
            f"{results['domains']} managed domains defined by `vmspec apply` in "
            f"{duration(results['apply_s'])}; {results['domains_on_host']} persistent "
            "domains on the host, all of which both the plan and the floor read.",
            timings,
            "What the subprocesses import before they call libvirt:",
            start_up,
            f"libvirt calls of one in-process plan (cProfile; per domain: per each of the "
            f"{per_domain} on the host):",
            calls,
            "Where its time goes, by where the code lives (cProfile own time):",
            areas,
            "Top functions by own time:",
            hottest,
            goal_table(goals(results)),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    parser.add_argument("-c", "--connect", default=URI, help=f"libvirt URI ({URI})")
    parser.add_argument("--count", type=int, help=f"managed domains to define ({FULL['count']})")
    parser.add_argument("--runs", type=int, help=f"runs per measurement ({FULL['runs']})")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    arguments = parser.parse_args()
    settings = QUICK if arguments.quick else FULL
    results = run_benchmark(
        **{key: getattr(arguments, key) or default for key, default in settings.items()},
        uri=arguments.connect,
    )
    print(report(results))
    if arguments.json:
        arguments.json.write_text(json.dumps({"machine": machine(), "plan": results}, indent=2))


if __name__ == "__main__":
    main()
