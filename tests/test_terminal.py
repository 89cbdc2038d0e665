"""Colors and progress bars: on a terminal only, never with NO_COLOR or --quiet.

The terminal is a real pseudo-terminal (os.openpty) given to the command as stdout or
stderr, or both, as a shell would; the other stream is a pipe. apply runs on libvirt's
test:///default, which each process opens afresh: every VM is still to create.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_SPEC, REPO, write_spec

GREEN_PLUS = "\x1b[32m+ tiny"


def run(*args: str, terminal: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(what the terminal showed, what the pipe got) for `vmspec ARGS`, with ``terminal``
    ("stdout", "stderr", "both" or "none") being a pseudo-terminal."""
    leader, follower = os.openpty()
    streams = {
        name: (follower if terminal in (name, "both") else subprocess.PIPE)
        for name in ("stdout", "stderr")
    }
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "vmspec", *args],
        cwd=REPO,
        env={**environment, **(env or {})},
        stdin=subprocess.DEVNULL,
        **streams,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command closed its end
            break
        if not chunk:
            break
        shown += chunk
    pipe = process.stdout or process.stderr
    piped = pipe.read() if pipe else b""
    process.wait(timeout=120)
    os.close(leader)
    return shown.decode(errors="replace"), piped.decode(errors="replace")


@pytest.fixture
def spec(tmp_path) -> Path:
    pytest.importorskip("libvirt", reason="plan needs libvirt-python")
    return write_spec(tmp_path, MINIMAL_SPEC)


def test_plan_is_colored_on_a_terminal(spec):
    shown, _ = run("plan", "-c", "test:///default", str(spec), terminal="stdout")
    assert GREEN_PLUS in shown and "\x1b[1mPlan: 1 to create.\x1b[0m" in shown


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"NO_COLOR": "yes please"}])
def test_no_color_turns_colors_off_on_a_terminal(spec, env):
    shown, _ = run("plan", "-c", "test:///default", str(spec), terminal="stdout", env=env)
    assert "+ tiny: create" in shown and "\x1b[" not in shown


def test_an_empty_no_color_leaves_colors_on(spec):
    # no-color.org: only a NO_COLOR that is present and not empty turns colors off.
    shown, _ = run(
        "plan", "-c", "test:///default", str(spec), terminal="stdout", env={"NO_COLOR": ""}
    )
    assert GREEN_PLUS in shown


def test_plan_into_a_pipe_has_no_colors(spec):
    _, piped = run("plan", "-c", "test:///default", str(spec), terminal="stderr")
    assert "+ tiny: create" in piped and "\x1b[" not in piped


@pytest.fixture(scope="module")
def many_specs(tmp_path_factory) -> Path:
    """Enough specs for a progress bar (vmspec.cli._PROGRESS_FROM_FILES)."""
    folder = tmp_path_factory.mktemp("many")
    for number in range(250):
        write_spec(
            folder, MINIMAL_SPEC.replace("name: tiny", f"name: vm{number}"), f"vm{number}.yaml"
        )
    return folder


def test_compiling_many_specs_shows_a_bar_on_a_terminal(many_specs, tmp_path):
    shown, _ = run("compile", str(many_specs), "-o", str(tmp_path), terminal="stderr")
    assert "compiling" in shown and "100%" in shown, shown
    assert "wrote 250 files" in shown


def test_no_bar_into_a_pipe_nor_with_quiet(many_specs, tmp_path):
    out = str(tmp_path / "a")
    _, piped = run("compile", str(many_specs), "-o", out, "--no-cache", terminal="stdout")
    assert piped == "wrote 250 files to " + str(tmp_path / "a") + " (0 unchanged)\n"
    shown, _ = run("validate", "--quiet", str(many_specs), terminal="stderr")
    assert shown == ""


def test_a_few_specs_show_no_bar_even_on_a_terminal(spec):
    shown, _ = run("validate", str(spec), terminal="stderr")
    assert shown == ""


def screen(shown: str) -> list[str]:
    """The lines a terminal ends up showing for ``shown``: a carriage return goes back to
    the line's start, ESC[K clears the rest of the line, other escapes change no text."""
    lines, line, column = [], "", 0
    for piece in re.split(r"(\r\n|\r|\n|\x1b\[K|\x1b\[[0-9;?]*[A-Za-z])", shown):
        if piece in ("\r\n", "\n"):
            lines.append(line.rstrip())
            line, column = "", 0
        elif piece == "\r":
            column = 0
        elif piece == "\x1b[K":
            line = line[:column]
        elif piece and not piece.startswith("\x1b"):
            line = line[:column] + piece + line[column + len(piece) :]
            column += len(piece)
    return [*lines, line.rstrip()] if line.rstrip() else lines


@pytest.fixture(scope="module")
def six_vms(tmp_path_factory) -> Path:
    """Enough VMs for apply's bar (vmspec.cli._PROGRESS_FROM_RESOURCES)."""
    pytest.importorskip("libvirt", reason="apply needs libvirt-python")
    folder = tmp_path_factory.mktemp("six")
    for number in range(6):
        write_spec(
            folder, MINIMAL_SPEC.replace("name: tiny", f"name: vm{number}"), f"vm{number}.yaml"
        )
    return folder


CREATED = [f"  vm{number}: created" for number in range(6)]


def test_applying_many_vms_shows_a_bar_on_a_terminal(six_vms):
    shown, piped = run("apply", "-c", "test:///default", str(six_vms), terminal="stderr")
    assert screen(shown) == ["applying  [####################################]  100%"], shown
    assert piped.splitlines()[-7:] == [*CREATED, "Done."]


def test_apply_prints_its_lines_above_the_bar_on_one_terminal(six_vms):
    shown, _ = run("apply", "-c", "test:///default", str(six_vms), terminal="both")
    assert screen(shown)[-9:] == [
        "Applying:",
        *CREATED,
        "applying  [####################################]  100%",
        "Done.",
    ], shown


# A host of libvirt's test driver of its own: each connection to a node file has its own
# state, so two hosts of one file apply side by side without seeing each other.
NODE = "<node><domain type='test'><name>test</name><memory>8388608</memory><vcpu>2</vcpu>"
NODE += "<os><type arch='x86_64'>hvm</type></os></domain></node>"


def test_an_inventory_apply_shows_one_bar_over_every_hosts_resources(tmp_path):
    pytest.importorskip("libvirt", reason="apply needs libvirt-python")
    node = write_spec(tmp_path, NODE, "node.xml")
    hosts = ", ".join(f'{{name: {name}, uri: "test://{node}"}}' for name in "ab")
    inventory = write_spec(
        tmp_path,
        "apiVersion: vmspec/v1\nkind: Inventory\nmetadata: {name: lab}\n"
        f"spec:\n  hosts: [{hosts}]\n",
        "hosts.yaml",
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    for number in range(6):
        placed = MINIMAL_SPEC.replace("name: tiny", f"name: vm{number}")
        placed += f"  placement: {{host: {'a' if number < 3 else 'b'}}}\n"
        write_spec(specs, placed, f"vm{number}.yaml")
    shown, piped = run("apply", "--inventory", str(inventory), str(specs), terminal="stderr")
    assert screen(shown) == ["applying  [####################################]  100%"], shown
    assert "16%" in shown and "83%" in shown  # one bar for both hosts' six VMs
    assert piped.splitlines()[-9:] == [
        f"a (test://{node}):",
        *CREATED[:3],
        f"b (test://{node}):",
        *CREATED[3:],
        "Done.",
    ]


@pytest.mark.parametrize("where", ["stdout", "stderr"])
def test_no_apply_bar_into_a_pipe_nor_with_quiet(six_vms, where):
    quiet = ("--quiet",) if where == "stderr" else ()
    shown, piped = run("apply", *quiet, "-c", "test:///default", str(six_vms), terminal=where)
    assert "applying" not in shown + piped and "\r" not in shown.replace("\r\n", "") + piped
    assert screen(shown if where == "stdout" else piped)[-7:] == [*CREATED, "Done."]


def test_applying_a_few_vms_shows_no_bar_even_on_a_terminal(spec):
    shown, piped = run("apply", "-c", "test:///default", str(spec), terminal="stderr")
    assert shown == "" and piped.endswith("  tiny: created\nDone.\n")
