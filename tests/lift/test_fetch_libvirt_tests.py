"""scripts/fetch-libvirt-tests (which fetches the corpus of test_corpus.py) takes its
deb-src entry from the machine's configured apt sources only, never from a host name
written into the project.

Each test points apt at a folder of its own through APT_CONFIG (Dir::Etc), as apt itself
allows, and asks the script which entry it would add (--print-deb-src).
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "fetch-libvirt-tests"
MIRROR = "http://mirror.example/debian"  # example.*: reserved, never a real host
KEYRING = "/usr/share/keyrings/example-archive-keyring.gpg"


def release_codename() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    pytest.skip("/etc/os-release names no VERSION_CODENAME")


SUITE = release_codename()


@pytest.fixture
def apt_etc(tmp_path) -> Path:
    """An empty apt configuration folder (sources.list, sources.list.d/, apt.conf.d/)."""
    etc = tmp_path / "etc" / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "apt.conf.d").mkdir()
    return etc


def print_deb_src(apt_etc: Path) -> subprocess.CompletedProcess[str]:
    config = apt_etc.parent.parent / "apt.conf"
    config.write_text(f'Dir::Etc "{apt_etc}";\n')
    return subprocess.run(
        [str(SCRIPT), "--print-deb-src"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "APT_CONFIG": str(config)},
        timeout=60,
    )


def stanza(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    return dict(line.split(": ", 1) for line in lines)


def test_a_deb822_entry_gives_its_uris_and_keyring(apt_etc):
    (apt_etc / "sources.list.d" / "mirror.sources").write_text(
        textwrap.dedent(
            f"""\
            Types: deb
            URIs: http://disabled.example/debian
            Suites: {SUITE}
            Components: main
            Enabled: no

            Types: deb
            # a snapshot of the mirror, for the record
            URIs: {MIRROR}
            Suites: {SUITE} {SUITE}-updates
            Components: main contrib
            Signed-By: {KEYRING}
            """
        )
    )
    assert stanza(print_deb_src(apt_etc)) == {
        "Types": "deb-src",
        "Suites": SUITE,
        "Components": "main",
        "URIs": MIRROR,
        "Signed-By": KEYRING,
    }


def test_a_one_line_entry_in_a_list_file_gives_its_uri_and_keyring(apt_etc):
    (apt_etc / "sources.list.d" / "a-other.list").write_text(
        "deb http://other.example/debian other-release main\n"
    )
    (apt_etc / "sources.list.d" / "b-mirror.list").write_text(
        f"deb [arch=amd64 signed-by={KEYRING}] {MIRROR} {SUITE} main non-free-firmware\n"
    )
    found = stanza(print_deb_src(apt_etc))
    assert (found["URIs"], found["Signed-By"], found["Suites"]) == (MIRROR, KEYRING, SUITE)


def test_the_source_list_itself_is_read_first(apt_etc):
    (apt_etc / "sources.list").write_text(f"# the main mirror\ndeb {MIRROR} {SUITE} main\n")
    (apt_etc / "sources.list.d" / "later.list").write_text(
        f"deb http://later.example/debian {SUITE} main\n"
    )
    found = stanza(print_deb_src(apt_etc))
    assert found["URIs"] == MIRROR
    assert "Signed-By" not in found  # none configured: apt's trusted keys apply


def test_without_a_configured_entry_it_stops_and_says_what_to_add(apt_etc):
    (apt_etc / "sources.list.d" / "other.sources").write_text(
        f"Types: deb\nURIs: {MIRROR}\nSuites: other-release\nComponents: main\n"
    )
    result = print_deb_src(apt_etc)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"no apt source for Debian {SUITE} main is configured" in result.stderr
    assert "add a deb-src entry" in result.stderr
    assert sorted(path.name for path in (apt_etc / "sources.list.d").iterdir()) == ["other.sources"]


def test_the_script_names_no_package_host():
    assert re.findall(r"[a-z]+://\S+", SCRIPT.read_text()) == []
