"""The plan cache (vmspec/host/plan_cache.py) on libvirt's test driver: a plan skips the
comparison only for a domain whose spec and XML are both those of the last full
comparison; every change on either side, and every cache it cannot trust, takes the
full comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.host.conftest import TEST_PREFIX, guest_spec, write
from tests.host.test_apply_test_driver import apply, plan
from vmspec.cli import main
from vmspec.compare.model import Action, LiveDomain, Plan
from vmspec.host.connection import Host
from vmspec.host.plan_cache import NO_CACHE_VARIABLE, cache_directory

NAME = f"{TEST_PREFIX}cached"


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch) -> Path:
    """Each test's cache in its own folder, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(NO_CACHE_VARIABLE, raising=False)
    return tmp_path / "cache"


def domain_plan(the_plan: Plan):
    return next(plan for plan in the_plan.resources if plan.name == NAME)


def compared(live: LiveDomain) -> bool:
    """Whether the plan read the domain's definition into config objects (the full
    comparison) rather than trusting the cache."""
    return "definition" in live._parsed


def applied(host: Host, tmp_path: Path, **spec: object) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    write(specs, "cached", guest_spec("cached", **spec))
    apply(host, specs)
    return specs


def test_an_unchanged_domain_is_compared_once_then_taken_from_the_cache(host, tmp_path):
    specs = applied(host, tmp_path, state="stopped")
    first = domain_plan(plan(host, specs))
    assert (first.action, compared(first.live)) == (Action.NONE, True)
    second = domain_plan(plan(host, specs))
    assert (second.action, second.changes, compared(second.live)) == (Action.NONE, [], False)
    assert second.live.managed and not compared(second.live)


def test_an_edit_on_the_host_after_apply_is_still_planned(host, tmp_path):
    specs = applied(host, tmp_path, state="stopped")
    plan(host, specs)
    assert not compared(domain_plan(plan(host, specs)).live)
    xml = host.connection.lookupByName(NAME).XMLDesc(0)
    # What `virsh edit` does: a new definition, the same spec.
    host.connection.defineXML(xml.replace("</name>", "</name><title>edited</title>", 1))
    after = domain_plan(plan(host, specs))
    assert compared(after.live)
    assert after.action == Action.UPDATE and after.drift
    assert [change.path for change in after.changes] == ["title"]


def test_a_changed_spec_is_compared_in_full(host, tmp_path):
    specs = applied(host, tmp_path, state="stopped")
    plan(host, specs)
    write(specs, "cached", guest_spec("cached", memory="96MiB", state="stopped"))
    after = domain_plan(plan(host, specs))
    assert compared(after.live)
    assert after.action == Action.UPDATE
    assert "memory" in [change.path for change in after.changes]


def test_a_pending_restart_is_reported_with_the_cache_on(host, tmp_path):
    specs = applied(host, tmp_path, state="running")
    plan(host, specs)
    write(specs, "cached", guest_spec("cached", memory="96MiB"))
    apply(host, specs)  # the definition changes; the running guest keeps 64 MiB
    for _ in range(2):
        pending = domain_plan(plan(host, specs))
        assert (pending.action, pending.restart) == (Action.NONE, "needed")
        assert pending.restart_changes


@pytest.mark.parametrize(
    "content",
    [
        b"\x00not json",
        b"[]",
        b'{"format": 1, "code": "another vmspec", "uri": "test:///x", "domains": {}}',
        b'{"format": 1, "domains": {"x": "not a list"}}',
    ],
    ids=["garbage", "not-an-object", "other-version", "malformed-entries"],
)
def test_a_corrupt_or_foreign_cache_is_ignored(host, tmp_path, cache_home, content):
    specs = applied(host, tmp_path, state="stopped")
    plan(host, specs)
    [file] = cache_directory().glob("*.json")
    file.write_bytes(content)
    again = domain_plan(plan(host, specs))
    assert (again.action, compared(again.live)) == (Action.NONE, True)
    assert json.loads(file.read_bytes())["domains"][NAME]  # written anew, whole


def test_a_cache_from_another_vmspec_is_not_trusted(host, tmp_path):
    specs = applied(host, tmp_path, state="stopped")
    plan(host, specs)
    [file] = cache_directory().glob("*.json")
    content = json.loads(file.read_bytes())
    file.write_text(json.dumps({**content, "code": "0" * 64}))
    assert compared(domain_plan(plan(host, specs)).live)


def test_no_cache_is_read_nor_written_when_turned_off(host, tmp_path, monkeypatch):
    specs = applied(host, tmp_path, state="stopped")
    assert compared(domain_plan(plan(host, specs, cache=False)).live)
    monkeypatch.setenv(NO_CACHE_VARIABLE, "1")
    assert compared(domain_plan(plan(host, specs)).live)
    assert not cache_directory().exists() or not list(cache_directory().glob("*.json"))


def test_the_entry_of_a_domain_gone_from_the_host_is_dropped(host, tmp_path):
    specs = applied(host, tmp_path, state="stopped")
    plan(host, specs)
    [file] = cache_directory().glob("*.json")
    assert list(json.loads(file.read_bytes())["domains"]) == [NAME]
    host.connection.lookupByName(NAME).undefine()
    assert domain_plan(plan(host, specs)).action == Action.CREATE
    assert json.loads(file.read_bytes())["domains"] == {}


def test_no_cache_on_the_command_line_neither_reads_nor_writes_it(
    test_driver, tmp_path, cache_home
):
    """Through the CLI, in this process: test:///default keeps its domains while a
    connection to it is open (the ``test_driver`` fixture's), so apply, then the plans,
    see the same host."""
    specs = tmp_path / "specs"
    specs.mkdir()
    write(specs, "cached", guest_spec("cached", state="stopped"))
    host = ("-c", "test:///default", str(specs))
    runner = CliRunner()
    try:
        assert runner.invoke(main, ["apply", "--no-cache", *host]).exit_code == 0
        assert runner.invoke(main, ["plan", "--no-cache", *host]).exit_code == 0
        assert not any(cache_home.rglob("*")), "--no-cache wrote the cache"
        assert runner.invoke(main, ["plan", *host]).exit_code == 0
        assert any(cache_home.rglob("*.json")), "without --no-cache the plan keeps its cache"
    finally:
        runner.invoke(main, ["destroy", "--yes", *host])
