"""The vmspec command as users run it: output streams, exit codes, golden checks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.conftest import EXAMPLES, GOLDEN, MINIMAL_SPEC, REPO, vmspec, write_spec
from vmspec.cli import main

run = vmspec


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=True)

    return invoke


def test_one_spec_compiles_to_stdout_and_nothing_else(tmp_path):
    spec = write_spec(tmp_path, MINIMAL_SPEC)
    result = run("compile", str(spec))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('<domain type="qemu">\n') and result.stdout.endswith(
        "</domain>\n"
    )
    assert result.stderr == ""


def test_bad_spec_exits_1_with_located_errors_and_no_traceback(tmp_path):
    spec = write_spec(tmp_path, MINIMAL_SPEC.replace("vcpus: 1", "vcpus: 0") + "  memroy: 1GiB\n")
    result = run("validate", str(spec))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert f"{spec}:8:10: spec.vcpus: must be at least 1, found 0" in lines
    assert f"{spec}:9:3: spec.memroy: unknown field 'memroy'; did you mean 'memory'?" in lines
    assert lines[-1] == "vmspec: 2 problems in 1 file"
    assert result.stdout == ""


def test_validate_reports_problems_of_every_file(tmp_path):
    write_spec(
        tmp_path, MINIMAL_SPEC.replace("tiny", "a").replace("vcpus: 1", "vcpus: -1"), "a.yaml"
    )
    write_spec(tmp_path, MINIMAL_SPEC.replace("tiny", "b").replace("qemu", "xen"), "b.yaml")
    write_spec(tmp_path, MINIMAL_SPEC.replace("tiny", "c"), "c.yaml")
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert (
        "a.yaml:8:10: spec.vcpus" in result.stderr
        and "b.yaml:6:15: spec.domainType" in result.stderr
    )
    assert "vmspec: 2 problems in 2 files" in result.stderr


def test_validate_counts_valid_specs(cli):
    result = cli("validate", str(EXAMPLES))
    assert result.exit_code == 0
    assert result.stdout.strip() == "41 specs valid"


def test_a_vm_name_used_twice_is_an_error(tmp_path, cli):
    write_spec(tmp_path, MINIMAL_SPEC, "a.yaml")
    write_spec(tmp_path, MINIMAL_SPEC, "b.yaml")
    result = cli("compile", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "b.yaml:4:9: metadata.name: the VM name 'tiny' is already used in" in result.stderr
    assert not (tmp_path / "out").exists()


def test_several_vms_to_stdout_is_a_usage_error(cli):
    result = cli("compile", str(EXAMPLES))
    assert result.exit_code == 1  # usage errors exit 1: 2 is plan's "changes pending"
    assert "write them with -o DIR" in result.stderr


def test_output_dir_gets_one_file_per_vm_and_no_temporary_files(tmp_path, cli):
    out = tmp_path / "out"
    result = cli("compile", str(EXAMPLES), "-o", str(out))
    assert result.exit_code == 0
    written = sorted(path.relative_to(out).as_posix() for path in out.rglob("*.xml"))
    assert written == sorted(path.relative_to(GOLDEN).as_posix() for path in GOLDEN.rglob("*.xml"))
    assert not list(out.rglob("*.tmp"))
    assert (out / "web-01.xml").read_bytes() == (GOLDEN / "web-01.xml").read_bytes()


def test_output_file_that_links_outside_the_folder_is_refused(tmp_path, cli):
    (tmp_path / "specs").mkdir()
    write_spec(tmp_path / "specs", MINIMAL_SPEC)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere.xml"
    out.mkdir()
    elsewhere.write_text("kept")
    (out / "tiny.xml").symlink_to(elsewhere)
    result = cli("compile", str(tmp_path / "specs"), "-o", str(out))
    assert result.exit_code != 0
    assert "refusing to write tiny.xml: it would land outside" in result.output
    assert elsewhere.read_text() == "kept"


def test_output_folder_reached_through_a_link_is_written(tmp_path, cli):
    (tmp_path / "specs").mkdir()
    write_spec(tmp_path / "specs", MINIMAL_SPEC)
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real")
    result = cli("compile", str(tmp_path / "specs"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "real" / "tiny.xml").read_bytes().startswith(b"<domain")


def test_problems_in_any_spec_write_no_output_at_all(tmp_path, cli):
    write_spec(tmp_path, MINIMAL_SPEC, "good.yaml")
    write_spec(tmp_path, MINIMAL_SPEC.replace("tiny", "bad").replace("128MiB", "128"), "bad.yaml")
    result = cli("compile", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists()


def test_check_passes_on_current_golden_files():
    result = run("compile", "specs/examples", "--check", "golden")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "42 golden files up to date"


def test_check_prints_a_unified_diff_and_exits_1(tmp_path, cli):
    golden = tmp_path / "golden"
    cli("compile", str(EXAMPLES), "-o", str(golden))
    changed = golden / "web-01.xml"
    changed.write_text(changed.read_text().replace("4194304", "2097152"))
    (golden / "gone.xml").write_text("<domain/>\n")
    result = cli("compile", str(EXAMPLES), "--check", str(golden))
    assert result.exit_code == 1
    assert f"--- {changed}" in result.stdout
    assert '-  <memory unit="KiB">2097152</memory>' in result.stdout
    assert '+  <memory unit="KiB">4194304</memory>' in result.stdout
    assert "gone.xml: no spec defines gone any more" in result.stdout
    assert "2 golden files out of date" in result.stderr


def test_check_reports_missing_golden_files(tmp_path, cli):
    result = cli("compile", str(EXAMPLES), "--check", str(tmp_path))
    assert result.exit_code == 1
    assert "web-01.xml: missing" in result.stdout


def test_output_and_check_together_is_a_usage_error(tmp_path, cli):
    result = cli("compile", str(EXAMPLES), "-o", str(tmp_path), "--check", str(tmp_path))
    assert result.exit_code == 1  # usage errors exit 1: 2 is plan's "changes pending"


def test_a_path_that_does_not_exist_is_a_usage_error(cli):
    result = cli("validate", "/nonexistent/specs")
    assert result.exit_code == 1  # usage errors exit 1: 2 is plan's "changes pending"
    assert "does not exist" in result.stderr


def test_a_directory_without_specs_is_a_usage_error(tmp_path, cli):
    result = cli("validate", str(tmp_path))
    assert result.exit_code == 1  # usage errors exit 1: 2 is plan's "changes pending"
    assert "no spec documents found" in result.stderr


def test_schema_prints_the_json_schema(cli):
    result = cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["$id"].endswith("vmspec.schema.json")


def test_compile_does_not_import_libvirt():
    # The compile path is pure: libvirt-python is an optional extra for apply.
    code = (
        "import sys; from pathlib import Path; from vmspec.cli import main; "
        "from vmspec.compile import compile_paths; compile_paths([Path('specs/examples')]); "
        "print('libvirt' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "False"


def test_compiling_one_vm_loads_nothing_of_plan_import_the_host_pools_or_networks():
    # `vmspec compile ONE.yaml` is bound by start-up (benchmarks/startup_bench.py): the
    # modules of the other commands are imported inside them, never at the CLI's top, and
    # those of pools and networks only when a file holds one.
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "vmspec",
            "compile",
            str(EXAMPLES / "web-server.yaml"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "vmspec.cli" in loaded  # the trace is read right
    others = ("vmspec.compare", "vmspec.host", "vmspec.lift", "vmspec.seed")
    others += ("vmspec.config.pool", "vmspec.config.network", "vmspec.lower.pool")  # no pool here
    assert sorted(name for name in loaded if name.startswith(others)) == []


def test_compile_prune_removes_files_of_deleted_specs_and_counts_only_real_writes(tmp_path, cli):
    out = tmp_path / "out"
    (tmp_path / "specs").mkdir()
    write_spec(tmp_path / "specs", MINIMAL_SPEC, "a.yaml")
    write_spec(tmp_path / "specs", MINIMAL_SPEC.replace("name: tiny", "name: gone"), "b.yaml")
    first = cli("compile", str(tmp_path / "specs"), "-o", str(out))
    assert first.exit_code == 0
    # "(N unchanged": the summary may go on to say what the compile cache held.
    assert "wrote 2 files" in first.stderr and "(0 unchanged" in first.stderr
    again = cli("compile", str(tmp_path / "specs"), "-o", str(out))
    assert "wrote 0 files" in again.stderr and "(2 unchanged" in again.stderr

    (tmp_path / "specs" / "b.yaml").unlink()
    (out / "notes.txt").write_text("not ours")
    kept = cli("compile", str(tmp_path / "specs"), "-o", str(out))
    assert (out / "gone.xml").exists()  # without --prune nothing is deleted
    assert "removed" not in kept.stderr
    pruned = cli("compile", str(tmp_path / "specs"), "-o", str(out), "--prune")
    assert pruned.exit_code == 0
    assert "(1 unchanged, 1 removed" in pruned.stderr
    assert f"removed {out / 'gone.xml'}: no spec compiles to it any more" in pruned.stderr
    assert sorted(path.name for path in out.iterdir()) == ["notes.txt", "tiny.xml"]


def test_an_inventory_alone_compiles_to_nothing_and_is_no_error(tmp_path):
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(
        "apiVersion: vmspec/v1\nkind: Inventory\nmetadata: {name: lab}\n"
        'spec:\n  hosts: [{name: a, uri: "test:///default"}]\n'
    )
    result = vmspec("compile", str(inventory))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "nothing to compile" in result.stderr
