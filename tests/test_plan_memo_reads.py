"""What a remembered plan (vmspec/host/plan_memo.py) counts as its local inputs: every
file opened for reading, folder listed and path looked at while it is recorded,
whichever code does it, and nothing of the Python that runs it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vmspec.host.plan_memo import KEPT_MEMOS, LocalReads, facts_hold, memo_path, save


def test_files_folders_and_looked_at_paths_are_inputs(tmp_path):
    spec, folder, image = tmp_path / "a.yaml", tmp_path / "specs", tmp_path / "disk.img"
    spec.write_text("a: 1\n")
    folder.mkdir()
    (folder / "b.yaml").write_text("b: 2\n")
    with LocalReads() as reads:
        spec.read_text()
        sorted(folder.rglob("*.yaml"))
        os.path.exists(image)  # a check of a disk image, as references.py makes
        Path(tmp_path / "other").is_dir()
        json.loads("{}")  # the standard library: not an input
    facts = reads.facts()
    assert {(check, path) for check, path, _ in facts} >= {
        ("file", str(spec)),
        ("listing", str(folder)),
        ("kind", str(image)),
        ("kind", str(tmp_path / "other")),
    }
    assert not any(path.startswith(os.path.dirname(os.__file__)) for _, path, _ in facts)
    assert facts_hold(facts)
    for change in (
        lambda: spec.write_text("a: 2\n"),
        lambda: (folder / "c.yaml").write_text(""),
        lambda: image.write_bytes(b""),
        lambda: (tmp_path / "other").mkdir(),
    ):
        change()
        assert not facts_hold(facts)
        facts = _recorded_again(spec, folder, image, tmp_path / "other")
        assert facts_hold(facts)


def _recorded_again(*paths: Path) -> list[list[str]]:
    spec, folder, image, other = paths
    with LocalReads() as reads:
        spec.read_text()
        sorted(folder.rglob("*.yaml"))
        os.path.exists(image)
        other.is_dir()
    return reads.facts()


def test_writes_are_not_inputs_and_recording_ends_cleanly(tmp_path):
    stat = os.stat
    with LocalReads() as reads:
        (tmp_path / "written").write_text("x")
    assert os.stat is stat
    assert reads.facts() == []
    os.path.exists(tmp_path / "after")  # no recording: nothing is kept
    assert reads.facts() == []


def test_only_the_newest_memos_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for index in range(KEPT_MEMOS + 5):
        save([f"plan-{index}"], [], LocalReads(), [], "No changes.\n")
    memos = list((tmp_path / "vmspec" / "memo").glob("*.json"))
    assert len(memos) == KEPT_MEMOS
    newest = memo_path([f"plan-{KEPT_MEMOS + 4}"])
    assert newest in memos and newest.stat().st_mode & 0o777 == 0o600


def test_a_secret_looking_variable_is_in_the_key_by_its_state_only(monkeypatch):
    monkeypatch.setenv("VMSPEC_VNC_PASSWORD", "abc")
    first = memo_path(["plan"])
    monkeypatch.setenv("VMSPEC_VNC_PASSWORD", "xyz")  # another value, the same state
    assert memo_path(["plan"]) == first
    monkeypatch.setenv("VMSPEC_VNC_PASSWORD", "")
    assert memo_path(["plan"]) != first
    monkeypatch.setenv("VMSPEC_VNC_USER", "abc")  # not a secret: its value counts
    second = memo_path(["plan"])
    monkeypatch.setenv("VMSPEC_VNC_USER", "xyz")
    assert memo_path(["plan"]) != second


def test_a_folder_listed_by_descriptor_makes_the_plan_unremembered(tmp_path, monkeypatch):
    """A listing by file descriptor names no folder the memo could list again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        with LocalReads() as reads:
            list(os.scandir(descriptor))
    finally:
        os.close(descriptor)
    assert reads.incomplete
    save(["plan"], [], reads, [], "No changes.\n")
    assert not (tmp_path / "cache").exists()
