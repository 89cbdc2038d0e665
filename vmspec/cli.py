"""The ``vmspec`` command: the only place that prints problems and picks exit codes.

Exit codes: 0 ok, 1 problems in the specs (or golden files that differ), 2 usage errors.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
import tempfile
from pathlib import Path

import click

from vmspec import __version__
from vmspec.compile import CompiledDomain, CompileResult, compile_paths
from vmspec.problems import Problem

EXIT_PROBLEMS = 1
EXIT_USAGE = 2

_paths_argument = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vmspec")
def main() -> None:
    """Compile declarative VM specs (YAML) into canonical libvirt domain XML."""


@main.command()
@_paths_argument
def validate(paths: tuple[Path, ...]) -> None:
    """Check spec files and directories; report every problem with file, line and field."""
    result = _compile_or_exit(paths)
    click.echo(f"{_count(len(result.domains), 'spec')} valid")


@main.command(name="compile")
@_paths_argument
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/NAME.xml for each VM (written atomically).",
)
@click.option(
    "--check",
    "check_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Compare with DIR/NAME.xml instead of writing; print diffs and exit 1 on any difference.",
)
def compile_command(
    paths: tuple[Path, ...], output_dir: Path | None, check_dir: Path | None
) -> None:
    """Compile specs to libvirt domain XML: one VM to stdout, or one file per VM with -o."""
    if output_dir and check_dir:
        raise click.UsageError("give either -o DIR or --check DIR, not both")
    result = _compile_or_exit(paths)
    if check_dir is not None:
        sys.exit(_check_golden(result.domains, check_dir))
    if output_dir is not None:
        for domain in result.domains:
            _write_atomically(output_dir, f"{domain.name}.xml", domain.xml)
        click.echo(f"wrote {_count(len(result.domains), 'file')} to {output_dir}", err=True)
        return
    if len(result.domains) != 1:
        raise click.UsageError(
            f"the paths hold {_count(len(result.domains), 'VM')}; stdout takes one: write them with -o DIR"
        )
    sys.stdout.buffer.write(result.domains[0].xml)


@main.command()
def schema() -> None:
    """Print the JSON Schema of spec documents (for editors and linters)."""
    from vmspec.schema import load_schema

    click.echo(json.dumps(load_schema(), indent=2))


def _compile_or_exit(paths: tuple[Path, ...]) -> CompileResult:
    result = compile_paths(paths)
    if not result.problems and not result.documents:
        _fail([], f"no spec documents found in {', '.join(map(str, paths))}", EXIT_USAGE)
    if result.problems:
        files = len({problem.file for problem in result.problems})
        _fail(
            result.problems, f"{_count(len(result.problems), 'problem')} in {_count(files, 'file')}"
        )
    return result


def _fail(problems: list[Problem], summary: str, code: int = EXIT_PROBLEMS) -> None:
    for problem in sorted(problems, key=lambda p: (p.file, p.line, p.column)):
        click.echo(str(problem), err=True)
    click.echo(f"vmspec: {summary}", err=True)
    sys.exit(code)


def _check_golden(domains: list[CompiledDomain], golden_dir: Path) -> int:
    differing = 0
    expected_files = set()
    for domain in domains:
        golden = golden_dir / f"{domain.name}.xml"
        expected_files.add(golden.name)
        try:
            current = golden.read_bytes()
        except FileNotFoundError:
            click.echo(f"{golden}: missing (compile with -o {golden_dir} to create it)")
            differing += 1
            continue
        if current != domain.xml:
            differing += 1
            diff = difflib.unified_diff(
                current.decode("utf-8", "replace").splitlines(keepends=True),
                domain.xml.decode().splitlines(keepends=True),
                fromfile=str(golden),
                tofile=f"{domain.file} ({domain.name})",
            )
            click.echo("".join(diff), nl=False)
    if golden_dir.is_dir():
        for stale in sorted(set(path.name for path in golden_dir.glob("*.xml")) - expected_files):
            click.echo(
                f"{golden_dir / stale}: no spec defines {stale.removesuffix('.xml')} any more"
            )
            differing += 1
    if differing:
        click.echo(f"vmspec: {_count(differing, 'golden file')} out of date", err=True)
        return EXIT_PROBLEMS
    click.echo(f"{_count(len(domains), 'golden file')} up to date", err=True)
    return 0


def _write_atomically(directory: Path, name: str, content: bytes) -> None:
    """Write through a temporary file and a rename, so an interrupted compile never
    leaves a half-written golden file behind. An unchanged file is left alone
    (and keeps its modification time, which make and rsync rely on)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    if target.resolve().parent != directory.resolve():
        raise click.UsageError(f"refusing to write {name}: it would land outside {directory}")
    try:
        if target.read_bytes() == content:
            return
    except OSError:
        pass  # missing or unreadable: write it
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
