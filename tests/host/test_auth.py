"""Logging in to a libvirtd that wants a password: SASL (DIGEST-MD5) on the project's
libvirtd, which scripts/libvirtd starts with scripts/libvirtd.conf (TCP on 127.0.0.1,
auth_tcp = "sasl"). Each test runs `vmspec plan` (read-only: nothing is created) and
checks that it gets in, or fails on one line, and never prints the password."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.host.conftest import guest_spec, vmspec, write

TCP_URI = "qemu+tcp://127.0.0.1/system"
SASL_DB = "/etc/libvirt/passwd.db"
VMSPEC_VARIABLES = (
    "VMSPEC_LIBVIRT_USERNAME",
    "VMSPEC_LIBVIRT_PASSWORD",
    "VMSPEC_LIBVIRT_PASSWORD_FILE",
)


@pytest.fixture(scope="module")
def sasl_user(libvirtd) -> Iterator[tuple[str, str]]:
    """A SASL user of libvirtd with a random password, deleted afterwards."""
    if shutil.which("saslpasswd2") is None:
        pytest.fail("saslpasswd2 is missing: run scripts/install (it installs sasl2-bin)")
    name = f"vmspectest{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    sasl = ["saslpasswd2", "-a", "libvirt", "-f", SASL_DB]
    subprocess.run([*sasl, "-p", name], input=password, text=True, check=True, timeout=30)
    yield name, password
    subprocess.run([*sasl, "-d", name], check=True, timeout=30)


@pytest.fixture(autouse=True)
def no_outside_credentials(monkeypatch, tmp_path: Path) -> None:
    """Only what a test gives counts: no VMSPEC_* variables from the caller's environment,
    and an empty auth.conf instead of ~/.config/libvirt/auth.conf or /etc/libvirt/auth.conf."""
    for variable in VMSPEC_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    empty = tmp_path / "empty-auth.conf"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(empty))


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write(tmp_path, "auth", guest_spec("auth"))


def plan(spec: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return vmspec("plan", "-c", TCP_URI, str(spec), env=env, timeout=60)


def assert_planned(result: subprocess.CompletedProcess[str]) -> None:
    """Logged in and planned: 0 (nothing to do) or 2 (changes pending), the plan names the URI."""
    assert result.returncode in (0, 2), result.stderr
    assert f"Plan for {TCP_URI}" in result.stdout
    assert "Traceback" not in result.stderr


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"vmspec: connecting to {TCP_URI} failed: "), line
    for word in words:
        assert word in line
    return line


def test_password_from_the_environment(sasl_user, spec):
    name, password = sasl_user
    result = plan(spec, {"VMSPEC_LIBVIRT_USERNAME": name, "VMSPEC_LIBVIRT_PASSWORD": password})
    assert_planned(result)
    assert password not in result.stdout + result.stderr


def test_password_from_a_file(sasl_user, spec, tmp_path):
    name, password = sasl_user
    password_file = tmp_path / "password"
    password_file.write_text(password + "\n", encoding="utf-8")  # as `echo` writes it
    password_file.chmod(0o600)
    env = {"VMSPEC_LIBVIRT_USERNAME": name, "VMSPEC_LIBVIRT_PASSWORD_FILE": str(password_file)}
    result = plan(spec, env)
    assert_planned(result)
    assert password not in result.stdout + result.stderr


def test_credentials_from_libvirts_auth_conf(sasl_user, spec, tmp_path):
    """No VMSPEC_* variable: libvirt finds both the name and the password in auth.conf."""
    name, password = sasl_user
    auth_conf = tmp_path / "auth.conf"
    auth_conf.write_text(
        f"[credentials-test]\nauthname={name}\npassword={password}\n\n"
        "[auth-libvirt-127.0.0.1]\ncredentials=test\n",
        encoding="utf-8",
    )
    auth_conf.chmod(0o600)
    result = plan(spec, {"LIBVIRT_AUTH_FILE": str(auth_conf)})
    assert_planned(result)
    assert password not in result.stdout + result.stderr


def test_wrong_password(sasl_user, spec):
    name, _ = sasl_user
    wrong = secrets.token_urlsafe(24)
    result = plan(spec, {"VMSPEC_LIBVIRT_USERNAME": name, "VMSPEC_LIBVIRT_PASSWORD": wrong})
    assert_one_line_failure(result, "authentication failed")
    assert wrong not in result.stdout + result.stderr


def test_no_credentials(libvirtd, spec):
    result = plan(spec, {})
    assert_one_line_failure(result, "authentication failed")
