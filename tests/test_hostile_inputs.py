"""Inputs built to hurt: each ends in valid XML or a located error, in bounded time."""

from __future__ import annotations

from click.testing import CliRunner
from lxml import etree

from tests.conftest import MINIMAL_SPEC, write_spec
from vmspec.cli import main
from vmspec.load.yaml_loader import MAX_FILE_BYTES


def run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=True)
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.exception
    return result


def test_ten_thousand_levels_of_nesting_fail_with_a_located_error(tmp_path):
    spec = write_spec(tmp_path, MINIMAL_SPEC + "  x: " + "[" * 10_000 + "]" * 10_000 + "\n")
    result = run("validate", str(spec))
    assert result.exit_code == 1
    assert "exceeded maximum nesting depth" in result.stderr
    assert f"{spec}:9:" in result.stderr


def test_a_50_megabyte_file_is_refused_without_being_parsed(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as stream:
        stream.write(MINIMAL_SPEC.encode())
        stream.write(b"# " + b"x" * (50 * 1024 * 1024) + b"\n")
    result = run("validate", str(big))
    assert result.exit_code == 1
    assert f"spec files are limited to {MAX_FILE_BYTES} bytes" in result.stderr


def test_crlf_line_ends_are_read_like_lf(tmp_path):
    spec = tmp_path / "crlf.yaml"
    spec.write_bytes(MINIMAL_SPEC.replace("\n", "\r\n").encode())
    result = run("compile", str(spec))
    assert result.exit_code == 0, result.stderr
    assert b"<name>tiny</name>" in result.stdout_bytes


HOSTILE = '<x/>&amp;"\'" ]]> <!-- --> <?pi?>'


def test_markup_in_every_text_field_is_escaped_and_adds_no_element(tmp_path):
    extra = (
        f"  kernel: {{path: '/boot/<k>&', cmdline: '{HOSTILE.replace(chr(39), chr(39) * 2)}'}}\n"
        f"  disks: [{{target: vda, file: '/img/<a href=\"x\">&amp;.img'}}]\n"
        "  serials: [{type: file, path: '/log/]]>.log'}]\n"
    )
    text = MINIMAL_SPEC.replace(
        "name: tiny",
        f"name: tiny\n  description: '{HOSTILE.replace(chr(39), chr(39) * 2)}'\n"
        f"  labels: {{owner: '{HOSTILE.replace(chr(39), chr(39) * 2)}'}}",
    )
    hostile = run("compile", str(write_spec(tmp_path, text + extra, "hostile.yaml")))
    plain_text = MINIMAL_SPEC.replace(
        "name: tiny", "name: tiny\n  description: plain\n  labels: {owner: plain}"
    )
    plain_extra = (
        "  kernel: {path: /boot/k, cmdline: plain}\n"
        "  disks: [{target: vda, file: /img/a.img}]\n"
        "  serials: [{type: file, path: /log/a.log}]\n"
    )
    plain = run("compile", str(write_spec(tmp_path, plain_text + plain_extra, "plain.yaml")))
    assert hostile.exit_code == plain.exit_code == 0, hostile.stderr + plain.stderr
    hostile_tree, plain_tree = (
        etree.fromstring(hostile.stdout_bytes),
        etree.fromstring(plain.stdout_bytes),
    )
    assert [e.tag for e in hostile_tree.iter()] == [e.tag for e in plain_tree.iter()]
    assert hostile_tree.findtext("description") == HOSTILE
    assert hostile_tree.findtext("os/cmdline") == HOSTILE
    assert hostile_tree.find("devices/disk/source").get("file") == '/img/<a href="x">&amp;.img'
    assert hostile_tree.find("devices/serial/source").get("path") == "/log/]]>.log"


def test_a_name_that_would_leave_the_output_directory_is_refused(tmp_path):
    spec = write_spec(tmp_path, MINIMAL_SPEC.replace("name: tiny", "name: ../escape"))
    result = run("compile", str(spec), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "metadata.name" in result.stderr
    assert not (tmp_path / "escape.xml").exists() and not (tmp_path / "out").exists()
