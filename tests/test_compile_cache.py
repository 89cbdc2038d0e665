"""The compile cache (vmspec/compile_cache.py): a document compiled before without a
problem is not validated, lowered or emitted again, and the bytes written are always
those a full compile (--no-cache) writes. Every test runs the real command on real
files with its own cache folder; a damaged cache is damaged for real."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, GOLDEN, REPO, vmspec
from vmspec import compile_cache
from vmspec.caches import NO_CACHE_VARIABLE
from vmspec.compile import compile_paths
from vmspec.compile_cache import CompileCache
from vmspec.scope import DEFAULT_SCOPE

PROFILE = """\
apiVersion: vmspec/v1
kind: Profile
metadata:
  name: small
spec:
  domainType: qemu
  cpu: {mode: none}
  memory: 512MiB
  disks:
    - target: vda
      cache: none
"""


def vm(name: str, memory: str = "1GiB") -> str:
    return f"""\
apiVersion: vmspec/v1
kind: VirtualMachine
metadata:
  name: {name}
spec:
  profiles: [small]
  memory: {memory}
  vcpus: 1
  disks:
    - target: vda
      file: /var/lib/libvirt/images/{name}.qcow2
"""


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch) -> Path:
    """This test's cache, in its own folder, on (whatever the environment says)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(NO_CACHE_VARIABLE, raising=False)
    return tmp_path / "cache"


@pytest.fixture
def specs(tmp_path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "profiles.yaml").write_text(PROFILE)
    for name in ("alpha", "beta", "gamma"):
        (folder / f"{name}.yaml").write_text(vm(name))
    return folder


def compiled(specs: Path, *options: str) -> tuple[dict[str, bytes], set[str]]:
    """What `vmspec compile SPECS -o OUT` wrote (a fresh OUT), and the modules it imported."""
    out = specs.parent / "out"
    shutil.rmtree(out, ignore_errors=True)
    command = ["compile", str(specs), "-o", str(out), "-q", *options]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vmspec", *command],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "vmspec.cli" in modules  # the trace is read right
    files = {path.relative_to(out).as_posix(): path.read_bytes() for path in out.rglob("*.xml")}
    return files, modules


def entries(cache_home: Path) -> int:
    with sqlite3.connect(cache_home / "vmspec" / "compile.sqlite3") as connection:
        return connection.execute("SELECT count(*) FROM compiled").fetchone()[0]


def test_unchanged_specs_compile_from_the_cache_to_the_bytes_of_a_full_compile(specs, cache_home):
    first, first_modules = compiled(specs)
    assert "vmspec.emit" in first_modules and entries(cache_home) == 4  # 3 VMs, 1 profile
    again, again_modules = compiled(specs)
    # Nothing validated, lowered or emitted: neither the schema, nor a family, nor lxml.
    heavy = ("vmspec.emit", "vmspec.families", "vmspec.schema", "jsonschema_rs", "lxml")
    assert sorted(name for name in again_modules if name.startswith(heavy)) == []
    full, _ = compiled(specs, "--no-cache")
    assert again == first == full and sorted(full) == ["alpha.xml", "beta.xml", "gamma.xml"]


def test_the_examples_compile_to_their_golden_files_from_a_warm_cache(cache_home):
    for _ in range(2):  # the first run fills the cache, the second reads it
        result = vmspec("compile", str(EXAMPLES), "--check", str(GOLDEN))
        assert result.returncode == 0, result.stdout + result.stderr
    assert entries(cache_home) > 20


def test_an_edited_spec_or_profile_is_compiled_again(specs):
    before, _ = compiled(specs)
    (specs / "beta.yaml").write_text(vm("beta", memory="3GiB"))
    after_vm_edit, _ = compiled(specs)
    assert after_vm_edit["alpha.xml"] == before["alpha.xml"]
    assert b"3145728" in after_vm_edit["beta.xml"] and b"3145728" not in before["beta.xml"]
    # The profile is part of every VM that lists it: all three change.
    (specs / "profiles.yaml").write_text(PROFILE.replace("cache: none", "cache: writeback"))
    after_profile_edit, _ = compiled(specs)
    for name in ("alpha.xml", "beta.xml", "gamma.xml"):
        assert b"writeback" in after_profile_edit[name]
    assert after_profile_edit == compiled(specs, "--no-cache")[0]


def test_a_spec_with_a_problem_is_refused_every_time_and_never_kept(specs, cache_home):
    compiled(specs)
    kept = entries(cache_home)
    (specs / "beta.yaml").write_text(vm("beta", memory="lots"))
    for _ in range(2):
        result = vmspec("compile", str(specs), "-o", str(specs.parent / "out"))
        assert result.returncode == 1
        assert f"{specs / 'beta.yaml'}:7:" in result.stderr and "memory" in result.stderr
    assert entries(cache_home) == kept


def test_the_summary_says_how_much_came_from_the_cache(specs):
    out = str(specs.parent / "out")
    first = vmspec("compile", str(specs), "-o", out)
    assert first.stderr == f"wrote 3 files to {out} (0 unchanged)\n"
    (specs / "beta.yaml").write_text(vm("beta", memory="3GiB"))
    again = vmspec("compile", str(specs), "-o", out)
    assert again.stderr == f"wrote 1 file to {out} (2 unchanged; 2 of 3 from the compile cache)\n"


def test_documents_from_the_cache_still_meet_the_checks_across_documents(specs):
    compiled(specs)  # every VM is in the cache now
    (specs / "zeta.yaml").write_text(vm("alpha"))  # a second VM named alpha
    result = vmspec("compile", str(specs), "-o", str(specs.parent / "out"))
    assert result.returncode == 1
    assert "the VM name 'alpha' is already used in" in result.stderr


def test_a_damaged_entry_is_compiled_again_and_repaired(specs, cache_home):
    before, _ = compiled(specs)
    database = cache_home / "vmspec" / "compile.sqlite3"
    with sqlite3.connect(database) as connection:
        damaged = connection.execute(
            "UPDATE compiled SET xml = CAST('<domain/>' AS BLOB) WHERE length(xml) > 0"
        ).rowcount
    assert damaged == 3
    after, modules = compiled(specs)
    assert after == before and "vmspec.emit" in modules
    with sqlite3.connect(database) as connection:
        stored = {row[0] for row in connection.execute("SELECT xml FROM compiled")}
    assert set(before.values()) <= stored and b"<domain/>" not in stored


def test_a_cache_file_that_is_not_a_database_is_made_again(specs, cache_home):
    (cache_home / "vmspec").mkdir(parents=True)
    (cache_home / "vmspec" / "compile.sqlite3").write_bytes(b"not a database\n" * 100)
    files, _ = compiled(specs)
    assert files == compiled(specs, "--no-cache")[0]
    assert entries(cache_home) == 4


def test_a_cache_that_cannot_be_made_is_done_without(specs, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder would have to be made inside this file\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    files, modules = compiled(specs)
    assert sorted(files) == ["alpha.xml", "beta.xml", "gamma.xml"]
    assert "vmspec.emit" in modules


def test_no_cache_and_the_variable_leave_the_cache_alone(specs, cache_home, monkeypatch):
    compiled(specs, "--no-cache")
    monkeypatch.setenv(NO_CACHE_VARIABLE, "1")
    compiled(specs)
    assert not (cache_home / "vmspec" / "compile.sqlite3").exists()


def test_the_scope_is_part_of_what_is_remembered(specs):
    in_a, _ = compiled(specs, "--scope", "team-a")
    compiled(specs, "--scope", "team-a")
    in_b, _ = compiled(specs, "--scope", "team-b")
    assert in_b != in_a  # the uuids and MACs derive from the scope
    assert in_b == compiled(specs, "--scope", "team-b", "--no-cache")[0]


def test_entries_of_another_vmspec_are_dropped(specs, monkeypatch):
    compiled(specs)
    data = _alpha_data(specs)
    cache = CompileCache.opened(DEFAULT_SCOPE)
    assert cache is not None and cache.compiled(data) is not None
    cache.save()
    # Another checkout or version of vmspec: its code digest differs.
    monkeypatch.setattr(compile_cache, "code_content", lambda: "another vmspec")
    cache = CompileCache.opened(DEFAULT_SCOPE)
    assert cache is not None and cache.compiled(data) is None
    cache.save()


def test_what_another_vmspec_writes_meanwhile_is_not_taken_for_this_ones(specs, monkeypatch):
    """Two vmspecs (a checkout and pre-commit's) compiling at once: the second empties the
    file for itself while the first still runs, then the first saves what it compiled."""
    data = _alpha_data(specs)
    first = CompileCache.opened(DEFAULT_SCOPE)
    monkeypatch.setattr(compile_cache, "code_content", lambda: "another vmspec")
    second = CompileCache.opened(DEFAULT_SCOPE)
    assert first is not None and second is not None
    first.remember(data, b"<domain>as the first vmspec compiles it</domain>\n")
    first.save()
    assert second.compiled(data) is None
    second.save()


def test_the_newest_entries_are_kept(specs, monkeypatch, cache_home):
    monkeypatch.setattr(compile_cache, "KEPT_ENTRIES", 2)
    cache = CompileCache.opened(DEFAULT_SCOPE)
    result = compile_paths([specs], cache=cache)
    cache.save()
    assert result.problems == [] and len(result.resources) == 3
    assert entries(cache_home) == 2


def test_two_compiles_at_once_share_the_cache(tmp_path, cache_home):
    specs = tmp_path / "many"
    specs.mkdir()
    (specs / "profiles.yaml").write_text(PROFILE)
    for index in range(150):
        (specs / f"vm-{index:03}.yaml").write_text(vm(f"vm-{index:03}"))
    outs = [tmp_path / "out-1", tmp_path / "out-2"]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "vmspec", "compile", str(specs), "-o", str(out), "-q"],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()
    written = [{p.name: p.read_bytes() for p in out.glob("*.xml")} for out in outs]
    assert len(written[0]) == 150 and written[0] == written[1]
    full, _ = compiled(specs, "--no-cache")
    assert written[0] == full


def _alpha_data(specs: Path) -> dict:
    from vmspec.compile import ValidDocuments

    return next(d.data for d in ValidDocuments([specs]) if d.data["metadata"]["name"] == "alpha")


def test_the_same_vmspec_installed_afresh_keeps_its_entries_and_an_edited_one_does_not(tmp_path):
    """A CI job installs the same release into a fresh folder each time (new file times):
    the compile cache it restores must still count as its own."""
    installed = tmp_path / "install"
    shutil.copytree(
        REPO / "vmspec", installed / "vmspec", ignore=shutil.ignore_patterns("__pycache__")
    )

    def printed_by_the_copy(code: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(installed)},
            cwd=tmp_path,
        ).stdout.strip()

    assert printed_by_the_copy("import vmspec; print(vmspec.__file__)").startswith(str(installed))
    digest = "from vmspec.caches import code_content; print(code_content())"
    first = printed_by_the_copy(digest)
    for path in (installed / "vmspec").rglob("*.py"):
        os.utime(path, (1, 1))  # as if installed at another time
    assert printed_by_the_copy(digest) == first
    emit = installed / "vmspec" / "emit.py"
    emit.write_text(emit.read_text() + "\n# edited\n")
    assert printed_by_the_copy(digest) != first
