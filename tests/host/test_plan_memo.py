"""A remembered no-change plan (vmspec/host/plan_memo.py) on the real libvirtd, through
the real command: the same plan asked again is replayed without importing the CLI, and
every change of an input (a spec, a file next to it, a disk image, the host's
definitions, a guest's state, the environment) makes the full plan run again and say
exactly what a plan without any cache says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.host.conftest import SYSTEM_URI, TEST_PREFIX, TEST_SCOPE, guest_spec, write
from vmspec.host.connection import Host
from vmspec.host.plan_memo import NO_CACHE_VARIABLE

IMAGES = Path("/var/lib/libvirt/images")  # qemu's user can read it, unlike a 0700 tmp_path


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch) -> Path:
    """Each test's memos and plan cache in its own folder, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(NO_CACHE_VARIABLE, raising=False)
    return tmp_path / "cache"


def environment(**extra: str) -> dict[str, str]:
    # pytest names the test and its phase in PYTEST_CURRENT_TEST: another value between
    # the fixture and the test would make every plan another command.
    ours = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}
    return {**ours, "VMSPEC_SCOPE": TEST_SCOPE, **extra}


def run_plan(specs: Path, *options: str, env: dict[str, str] | None = None):
    """`vmspec plan -c qemu:///system` in a fresh process, and whether it replayed a memo."""
    return planned(["-c", SYSTEM_URI, *options, str(specs)], env)


def planned(arguments: list[str], env: dict[str, str] | None = None):
    """`vmspec plan ARGUMENTS` in a fresh process, and whether it replayed a memo: a
    replay answers before the CLI is imported (``-X importtime`` lists what was)."""
    process = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vmspec", "plan", *arguments],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env=environment(**(env or {})),
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in process.stderr.splitlines()]
    return process, "vmspec.cli" not in imported


def apply(specs: Path, *hosts: str) -> None:
    """`vmspec apply` on qemu:///system, or on the hosts ``hosts`` names (--inventory)."""
    process = subprocess.run(
        [sys.executable, "-m", "vmspec", "apply", *(hosts or ("-c", SYSTEM_URI)), str(specs)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env=environment(),
    )
    assert process.returncode == 0, process.stdout + process.stderr


@pytest.fixture
def applied(system, tmp_path):
    """Two stopped guests, one with a disk image, applied; the first plan remembered."""
    image = IMAGES / f"{TEST_PREFIX}memo.img"
    image.write_bytes(b"\0" * 4096)
    specs = tmp_path / "specs"
    specs.mkdir()
    write(specs, "memo-a", guest_spec("memo-a", state="stopped"))
    write(
        specs,
        "memo-b",
        guest_spec(
            "memo-b", f"disks: [{{target: vda, file: {image}, format: raw}}]\n", state="stopped"
        ),
    )
    apply(specs)
    first, replayed = run_plan(specs)
    assert (first.returncode, replayed) == (0, False), first.stdout
    yield specs, image, first.stdout
    image.unlink(missing_ok=True)


def test_the_same_plan_asked_again_is_replayed_word_for_word(applied, cache_home):
    specs, _, printed = applied
    assert list((cache_home / "vmspec" / "memo").glob("*.json"))
    for _ in range(2):
        again, replayed = run_plan(specs)
        assert (again.returncode, replayed, again.stdout) == (0, True, printed)


def _edit_spec(specs, _image, _system):
    write(specs, "memo-a", guest_spec("memo-a", memory="96MiB", state="stopped"))


def _add_spec(specs, _image, _system):
    write(specs, "memo-c", guest_spec("memo-c", state="stopped"))


def _add_other_file(specs, _image, _system):
    (specs / "notes.txt").write_text("not a spec, but the folder is not as it was")


def _remove_disk_image(_specs, image, _system):
    image.unlink()


def _edit_on_the_host(_specs, _image, system):
    domain = system.lookupByName(f"{TEST_PREFIX}memo-a")
    system.defineXML(domain.XMLDesc(0).replace("</name>", "</name><title>by hand</title>", 1))


def _start_a_guest(_specs, _image, system):
    system.lookupByName(f"{TEST_PREFIX}memo-a").create()


def _set_autostart(_specs, _image, system):
    system.lookupByName(f"{TEST_PREFIX}memo-b").setAutostart(1)


@pytest.mark.parametrize(
    "change",
    [
        _edit_spec,
        _add_spec,
        _add_other_file,
        _remove_disk_image,
        _edit_on_the_host,
        _start_a_guest,
        _set_autostart,
    ],
    ids=lambda change: change.__name__.strip("_"),
)
def test_any_changed_input_runs_the_full_plan(applied, system, change):
    specs, image, _ = applied
    change(specs, image, system)
    without_cache, _ = run_plan(specs, "--no-cache")
    expected = (without_cache.returncode, without_cache.stdout)
    planned, replayed = run_plan(specs)
    assert ((planned.returncode, planned.stdout), replayed) == (expected, False)
    # Asked again: a plan that changes something is never remembered; one that changes
    # nothing (another file in the folder) is, with its new inputs.
    again, replayed = run_plan(specs)
    assert ((again.returncode, again.stdout), replayed) == (expected, expected[0] == 0)


def test_another_environment_or_output_is_another_plan(applied):
    specs, _, printed = applied
    other, replayed = run_plan(specs, env={"VMSPEC_TEST_SOMETHING": "1"})
    assert (other.returncode, replayed, other.stdout) == (0, False, printed)
    as_json, replayed = run_plan(specs, "--output", "json")
    assert (as_json.returncode, replayed) == (0, False)
    assert json.loads(as_json.stdout)
    again, replayed = run_plan(specs, "--output", "json")
    assert (again.returncode, replayed, again.stdout) == (0, True, as_json.stdout)


def test_a_change_undone_is_replayed_again(applied):
    specs, _, printed = applied
    original = (specs / "memo-a.yaml").read_text()
    _edit_spec(specs, None, None)
    assert run_plan(specs)[0].returncode == 2
    (specs / "memo-a.yaml").write_text(original)
    # The memo of the original inputs was never overwritten: it holds again at once.
    again, replayed = run_plan(specs)
    assert (again.returncode, replayed, again.stdout) == (0, True, printed)


def test_no_cache_neither_replays_nor_remembers(system, tmp_path, cache_home):
    specs = tmp_path / "specs"
    specs.mkdir()
    write(specs, "memo-off", guest_spec("memo-off", state="stopped"))
    apply(specs)
    for _ in range(2):
        planned, replayed = run_plan(specs, "--no-cache")
        assert (planned.returncode, replayed) == (0, False)
    for _ in range(2):
        planned, replayed = run_plan(specs, env={NO_CACHE_VARIABLE: "1"})
        assert (planned.returncode, replayed) == (0, False)
    assert not list(cache_home.rglob("memo/*.json"))


def test_a_host_that_changes_while_the_plan_reads_it_is_not_remembered(
    system, tmp_path, cache_home
):
    """The memo keeps the host's state from before the plan read it; if it is not the
    same after, the plan may have seen a host in between, and nothing is remembered.
    The change is made for real on the libvirtd, between the two readings."""
    from vmspec.cli import _PlanMemo
    from vmspec.compare.model import Options
    from vmspec.compile import ValidDocuments
    from vmspec.host.session import plan_documents
    from vmspec.scope import Scope

    specs = tmp_path / "specs"
    specs.mkdir()
    write(specs, "memo-race", guest_spec("memo-race", state="stopped"))
    apply(specs)
    arguments = ["plan", "-c", SYSTEM_URI, str(specs)]
    documents = list(ValidDocuments([specs]))
    options = Options(scope=Scope(TEST_SCOPE, "the test"))
    for race in (False, True):
        memo = _PlanMemo(arguments)
        host = Host(SYSTEM_URI)
        try:
            with memo.reads:
                memo.before(host, documents, options)
                host_plan = plan_documents(host, documents, options)
            assert not host_plan.has_changes
            if race:
                domain = system.lookupByName(f"{TEST_PREFIX}memo-race")
                system.defineXML(domain.XMLDesc(0).replace("</name>", "</name><title>t</title>", 1))
            memo.after(host_plan.resources, False, "printed\n")
        finally:
            host.close()
        remembered = list(cache_home.rglob("memo/*.json"))
        assert bool(remembered) is not race
        for file in remembered:
            file.unlink()


def test_an_inventory_plan_is_replayed_and_any_host_changing_runs_it_again(
    system, peer, peer_uri, tmp_path
):
    """The system daemon and a peer daemon (an unprivileged user's libvirtd): both are
    read again, at once, before a replay; a change on either runs the full plan."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "apiVersion: vmspec/v1\nkind: Inventory\nmetadata: {name: lab}\nspec:\n  hosts:\n"
        f"    - {{name: system, uri: {json.dumps(SYSTEM_URI)}}}\n"
        f"    - {{name: peer, uri: {json.dumps(peer_uri)}}}\n"
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    for name, host in (("memo-s", "system"), ("memo-p", "peer")):
        write(specs, name, guest_spec(name, f"placement: {{host: {host}}}\n", state="stopped"))
    fleet = ("--inventory", str(inventory))
    apply(specs, *fleet)
    plans = [planned([*fleet, str(specs)]) for _ in range(3)]
    assert [(p.returncode, replayed) for p, replayed in plans] == [(0, False), (0, True), (0, True)]
    assert plans[1][0].stdout == plans[0][0].stdout
    domain = peer.lookupByName(f"{TEST_PREFIX}memo-p")
    peer.defineXML(domain.XMLDesc(0).replace("</name>", "</name><title>by hand</title>", 1))
    changed, replayed = planned([*fleet, str(specs)])
    assert (changed.returncode, replayed) == (2, False)
    assert "title" in changed.stdout
