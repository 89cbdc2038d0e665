"""When the host misbehaves: a URI nobody answers, libvirtd restarted in the middle of an
apply, two applies of the same specs at once. vmspec either converges or stops with a
clear message and exit 1, never a traceback; a rerun converges.

The restarts stop and start the project's one libvirtd (scripts/libvirtd), which other
tests use too: running guests survive it (libvirtd re-attaches to them), connections
opened before it do not.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.host.conftest import (
    SYSTEM_URI,
    TEST_PREFIX,
    TEST_SCOPE,
    guest_spec,
    libvirt,
    remove_test_domains,
    vmspec,
    write,
)
from vmspec.host import connection as host_connection
from vmspec.host.connection import Host
from vmspec.host.errors import HostError
from vmspec.host.inventory import read_live_domains

LIBVIRTD_SCRIPT = REPO / "scripts" / "libvirtd"
# Port 1 (tcpmux): nothing listens there, the kernel refuses at once.
REFUSED_URI = "qemu+tcp://127.0.0.1:1/system"
GUESTS = 6
NO_CHANGES = "No changes: the host matches the specs."


def restart_libvirtd() -> None:
    """As an operator would: stop the daemons, start them again; returns once libvirtd answers."""
    subprocess.run([str(LIBVIRTD_SCRIPT), "stop"], check=True, timeout=60, capture_output=True)
    start_libvirtd()


def start_libvirtd() -> None:
    subprocess.run([str(LIBVIRTD_SCRIPT)], check=True, timeout=120, capture_output=True)


@pytest.fixture
def system_across_restarts(libvirtd) -> Iterator[None]:
    """Like `system` (none of this run's domains before or after), for tests that restart
    libvirtd: the cleanup afterwards starts libvirtd if needed and opens a new connection,
    since a connection opened before a restart is dead."""
    remove_test_domains_now()
    yield
    start_libvirtd()
    remove_test_domains_now()


def remove_test_domains_now() -> None:
    connection = libvirt.open(SYSTEM_URI)
    try:
        remove_test_domains_quickly(connection)
    finally:
        connection.close()


def remove_test_domains_quickly(connection) -> None:
    """remove_test_domains, with the guests powered off in parallel: each TCG guest takes
    about 2 s to die here, one after the other that would be most of these tests' time."""

    def power_off(domain) -> None:
        try:
            domain.destroy()
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:  # not running
                raise

    running = [
        domain
        for domain in connection.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        if domain.name().startswith(TEST_PREFIX)
    ]
    if running:
        with ThreadPoolExecutor(max_workers=len(running)) as pool:
            list(pool.map(power_off, running))
    remove_test_domains(connection)  # undefines them


def write_guests(directory: Path, prefix: str) -> list[str]:
    """GUESTS small running TCG guests, one file each; returns their domain names."""
    for index in range(GUESTS):
        write(directory, f"{prefix}-{index}", guest_spec(f"{prefix}-{index}"))
    return [f"{TEST_PREFIX}{prefix}-{index}" for index in range(GUESTS)]


def start_vmspec(*args: str) -> subprocess.Popen[str]:
    """Like `vmspec(...)`, without waiting; unbuffered, so stdout arrives line by line."""
    return subprocess.Popen(
        [sys.executable, "-m", "vmspec", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "VMSPEC_SCOPE": TEST_SCOPE},
    )


def finish(process: subprocess.Popen[str], timeout: float = 180) -> tuple[int, str, str]:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"vmspec did not end within {timeout:g} s:\n{stdout}{stderr}")
    return process.returncode, stdout, stderr


def assert_converged(directory: Path, names: list[str]) -> None:
    """A plan shows nothing to do, and every guest is defined and runs."""
    plan = vmspec("plan", "-c", SYSTEM_URI, str(directory), timeout=60)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert plan.stdout.splitlines()[-1] == NO_CHANGES
    connection = libvirt.open(SYSTEM_URI)
    try:
        for name in names:
            domain = connection.lookupByName(name)
            assert domain.isPersistent(), name
            assert domain.isActive(), name
    finally:
        connection.close()


def test_an_unreachable_uri_fails_on_one_line(tmp_path):
    spec = write(tmp_path, "unreachable", guest_spec("unreachable"))
    for command in ("plan", "apply"):
        # The timeout is the bound: vmspec gives up on its own (refused, or 30 s of silence).
        result = vmspec(command, "-c", REFUSED_URI, str(spec), timeout=60)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"vmspec: connecting to {REFUSED_URI} failed: "), lines[0]
        assert "Connection refused" in lines[0]


def test_a_host_that_accepts_but_never_answers_is_given_up_on_in_time():
    """What a silent host does to the open (libvirt itself would wait forever),
    in-process so the bound can be 2 s instead of the command's 30 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                accepted.append(listener.accept()[0])  # and never say a word
        except OSError:
            pass  # the listener was closed

    threading.Thread(target=accept, daemon=True).start()
    uri = f"qemu+tcp://127.0.0.1:{port}/system"
    try:
        with pytest.raises(HostError) as raised:
            host_connection.open_connection(uri, timeout=2)
        assert str(raised.value) == f"connecting to {uri} failed: no answer within 2 s"
    finally:
        listener.close()  # the abandoned open then sees EOF and its thread ends
        for peer in accepted:
            peer.close()


def test_libvirtd_restarted_in_the_middle_of_an_apply(system_across_restarts, tmp_path):
    names = write_guests(tmp_path, "restart")
    apply = start_vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    lines: list[str] = []
    applying = threading.Event()

    def read_stdout() -> None:
        assert apply.stdout is not None
        for line in apply.stdout:
            lines.append(line)
            if line.startswith("Applying:"):
                applying.set()
        applying.set()  # ended without applying: the test fails below

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        try:
            assert applying.wait(timeout=60), "apply printed nothing within 60 s"
            stop = [str(LIBVIRTD_SCRIPT), "stop"]
            subprocess.run(stop, check=True, timeout=60, capture_output=True)
            # GUESTS defines and starts take over a second; stopping libvirtd a fraction of it.
            stopped_mid_apply = apply.poll() is None
        finally:
            start_libvirtd()  # whatever happened, the daemon runs again for the next tests
        apply.wait(timeout=180)
    finally:
        apply.kill()  # a no-op once it has ended
    reader.join(timeout=10)
    assert apply.stderr is not None
    stdout, stderr = "".join(lines), apply.stderr.read()
    apply.stderr.close()
    assert stopped_mid_apply, f"apply ended before libvirtd was stopped:\n{stdout}{stderr}"
    output = stdout + stderr
    assert "Traceback" not in output
    # Either it reconnected and converged, or it says on one line per domain what failed.
    if apply.returncode != 0:
        assert apply.returncode == 1, output
        assert stderr.splitlines()[-1].endswith("not converged"), output
        assert all(line.startswith("vmspec: ") for line in stderr.splitlines()), output
        assert any(line.startswith("! ") for line in stdout.splitlines()), output
    else:
        assert stdout.splitlines()[-1] == "Done.", output
    again = vmspec("apply", "-c", SYSTEM_URI, str(tmp_path), timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr
    assert_converged(tmp_path, names)


def test_two_applies_of_the_same_specs_at_once(system, tmp_path):
    names = write_guests(tmp_path, "twice")
    first = start_vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    second = start_vmspec("apply", "-c", SYSTEM_URI, str(tmp_path))
    try:
        for process in (first, second):
            returncode, stdout, stderr = finish(process)
            assert "Traceback" not in stdout + stderr
            # apply's steps are idempotent, and one that finds the other's work done is content.
            assert returncode == 0, stdout + stderr
        assert_converged(tmp_path, names)
    finally:
        for process in (first, second):
            process.kill()  # a no-op once it has ended
            process.wait()
        remove_test_domains_quickly(system)  # before `system` does it one guest at a time


def test_a_restart_while_the_plan_reads_the_domains_is_survived(
    system_across_restarts, tmp_path, monkeypatch
):
    spec = write(tmp_path, "reread", guest_spec("reread", state="stopped"))
    defined = vmspec("apply", "-c", SYSTEM_URI, str(spec), timeout=60)
    assert defined.returncode == 0, defined.stdout + defined.stderr
    # libvirtd is back by the time restart_libvirtd returns: one quick reconnect is enough.
    monkeypatch.setattr(host_connection, "RECONNECT_ATTEMPTS", 3)
    monkeypatch.setattr(host_connection, "RECONNECT_PAUSE_SECONDS", 0.1)

    class RestartAfterTheFirstCall(Host):
        """libvirtd restarts right after the domains were listed (the first call)."""

        restarted = False

        def call(self, operation, vm, action):
            result = super().call(operation, vm, action)
            if not self.restarted:
                self.restarted = True
                restart_libvirtd()
            return result

    host = RestartAfterTheFirstCall(SYSTEM_URI)
    try:
        live = read_live_domains(host)
    finally:
        host.close()
    assert host.restarted
    assert f"{TEST_PREFIX}reread" in live
