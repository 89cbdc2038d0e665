"""What the benchmarks share: run a command as a user would, with its wall time and peak
memory; medians; Markdown tables. Timing lives here, never in the test suite."""

from __future__ import annotations

import os
import platform
import resource
import shlex
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PYTHON = str(REPOSITORY / ".venv/bin/python")
VMSPEC = str(REPOSITORY / ".venv/bin/vmspec")  # the console script a user runs


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    stdout: bytes
    stderr: bytes
    max_rss_bytes: int | None = None
    # User plus system CPU time: on a machine others are busy on, wall time counts the
    # waits for a core too, and CPU time much less so.
    cpu_seconds: float = 0.0


def run(command: Sequence[str], *, memory: bool = False, exit_codes: Sequence[int] = (0,)) -> Run:
    """Run ``command`` to completion and time it, fork to exit.

    With ``memory``, also its peak resident memory, through GNU time (Debian's ``time``):
    a process started from this one begins with this one's peak RSS already counted
    (Linux carries it over the exec), so it takes a small parent to measure a child.
    """
    with (
        tempfile.NamedTemporaryFile() as rss,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        if memory:
            command = ["/usr/bin/time", "--format=%M", f"--output={rss.name}", *command]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        process = subprocess.run(command, stdout=stdout, stderr=stderr)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        stdout.seek(0)
        stderr.seek(0)
        if process.returncode not in exit_codes:
            message = stderr.read().decode(errors="replace")
            raise RuntimeError(f"{shlex.join(command)} exited {process.returncode}:\n{message}")
        # time's last line is the peak in KiB; before it, a non-zero exit is reported.
        max_rss = int(Path(rss.name).read_text().split()[-1]) * 1024 if memory else None
        return Run(seconds, stdout.read(), stderr.read(), max_rss, cpu)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, object]:
    """Where and on what code the figures were taken (vmspec/ may hold uncommitted work)."""

    def git(*arguments: str) -> str:
        command = ["git", "-C", str(REPOSITORY), *arguments]
        return subprocess.run(command, capture_output=True, text=True).stdout.strip()

    return {
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": git("rev-parse", "HEAD"),
        "uncommitted": git("status", "--porcelain", "--", "vmspec").splitlines(),
    }


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A Markdown table; ``align`` has an l or r per column, by default l then r for
    the rest (a name, then numbers)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if side == "r" else "---" for side in align) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def goal_line(goal: str, measured: str, holds: bool) -> list[object]:
    return [goal, measured, "holds" if holds else "**fails**"]


def goal_table(lines: Sequence[Sequence[object]]) -> str:
    return markdown_table(["goal", "measured", ""], lines, "lll")


def duration(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


TIMES = "\N{MULTIPLICATION SIGN}"  # spelled out: ruff's RUF001 takes a literal one for an x


def times(ratio: float, digits: int = 2) -> str:
    return f"{ratio:,.{digits}f}{TIMES}"


def mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.0f} KiB"
