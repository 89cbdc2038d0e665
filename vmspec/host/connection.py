"""Open libvirt connections the way virsh does, with credentials that never leak.

URI: ``-c``, else ``LIBVIRT_DEFAULT_URI``, else libvirt's own default (libvirt
reads the variable and its config itself when given None). Credentials go
through ``openAuth``: libvirt first looks in its own ``auth.conf``, and only
asks our callback for what it did not find there; the callback answers from
``VMSPEC_LIBVIRT_USERNAME`` and ``VMSPEC_LIBVIRT_PASSWORD`` or
``VMSPEC_LIBVIRT_PASSWORD_FILE`` (for CI).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt

from vmspec.host.errors import HostError, libvirt_message
from vmspec.host.plan_memo import read_secret_file

T = TypeVar("T")

USERNAME_VARIABLE = "VMSPEC_LIBVIRT_USERNAME"
PASSWORD_VARIABLE = "VMSPEC_LIBVIRT_PASSWORD"
PASSWORD_FILE_VARIABLE = "VMSPEC_LIBVIRT_PASSWORD_FILE"
# How long to wait for a connection before calling a URI unreachable.
OPEN_TIMEOUT_SECONDS = 30.0
# After libvirtd goes away mid-apply: how often and how long to try to reconnect.
RECONNECT_ATTEMPTS = 10
RECONNECT_PAUSE_SECONDS = 1.0

# libvirt prints every error to stderr by default; we report them ourselves, once.
libvirt.registerErrorHandler(lambda _context, _error: None, None)

_CREDENTIAL_TYPES = [
    libvirt.VIR_CRED_AUTHNAME,
    libvirt.VIR_CRED_USERNAME,
    libvirt.VIR_CRED_PASSPHRASE,
    libvirt.VIR_CRED_NOECHOPROMPT,
]


def _answer_credentials(credentials: list[list[Any]], _data: object) -> int:
    for credential in credentials:
        kind = credential[0]
        if kind in (libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_USERNAME):
            credential[4] = os.environ.get(USERNAME_VARIABLE) or credential[3] or ""
        elif kind in (libvirt.VIR_CRED_PASSPHRASE, libvirt.VIR_CRED_NOECHOPROMPT):
            password = _password()
            if password is None:
                return -1  # libvirt then reports "authentication failed" without a secret in it
            credential[4] = password
    return 0


def _password() -> str | None:
    if PASSWORD_VARIABLE in os.environ:
        return os.environ[PASSWORD_VARIABLE]
    path = os.environ.get(PASSWORD_FILE_VARIABLE)
    if path:
        try:
            return read_secret_file(path).rstrip("\n")
        except OSError as error:
            raise HostError("reading the password file", f"{path}: {error.strerror}") from None
    return None


def open_connection(
    uri: str | None, *, timeout: float = OPEN_TIMEOUT_SECONDS
) -> libvirt.virConnect:
    """A connection to ``uri`` (None: libvirt's default), or a HostError within ``timeout``.

    libvirt cannot bound its own connect time (a TCP connect to a silent host
    waits for the kernel), so the open runs in a thread we stop waiting for.
    """
    outcome: dict[str, Any] = {}

    def attempt() -> None:
        try:
            auth = [_CREDENTIAL_TYPES, _answer_credentials, None]
            outcome["connection"] = libvirt.openAuth(uri, auth, 0)
        except libvirt.libvirtError as error:
            outcome["error"] = libvirt_message(error)
        except HostError as error:
            outcome["host_error"] = error

    worker = threading.Thread(target=attempt, name="libvirt-open", daemon=True)
    worker.start()
    worker.join(timeout)
    target = uri or os.environ.get("LIBVIRT_DEFAULT_URI") or "libvirt's default URI"
    if worker.is_alive():
        raise HostError(f"connecting to {target}", f"no answer within {timeout:g} s")
    if "host_error" in outcome:
        raise outcome["host_error"]
    if "error" in outcome:
        raise HostError(f"connecting to {target}", outcome["error"])
    return outcome["connection"]


def is_connection_lost(error: libvirt.libvirtError) -> bool:
    """True for the errors that mean libvirtd went away, not that the operation failed."""
    code = error.get_error_code()
    domain = error.get_error_domain()
    lost_codes = {libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_INTERNAL_ERROR}
    if code == libvirt.VIR_ERR_INVALID_CONN:
        return True
    return code in lost_codes and domain in (libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE)


class Host:
    """A connection that comes back: an operation that fails because libvirtd went away
    is retried on a fresh connection (every operation vmspec performs is idempotent)."""

    def __init__(
        self,
        uri: str | None,
        *,
        connection: libvirt.virConnect | None = None,
        timeout: float = OPEN_TIMEOUT_SECONDS,
    ) -> None:
        self.uri = uri
        self.timeout = timeout
        self.connection = connection or open_connection(uri, timeout=timeout)
        self.gave_up = False

    def call(self, operation: str, vm: str | None, action: Callable[[libvirt.virConnect], T]) -> T:
        for attempt in range(RECONNECT_ATTEMPTS + 1):
            try:
                return action(self.connection)
            except libvirt.libvirtError as error:
                if not is_connection_lost(error) or attempt == RECONNECT_ATTEMPTS:
                    code = error.get_error_code()
                    raise HostError(operation, libvirt_message(error), vm, code=code) from None
                self._reconnect(operation, vm)
        raise AssertionError("unreachable")

    def _reconnect(self, operation: str, vm: str | None) -> None:
        last_error = "libvirtd went away"
        # Once reconnecting has failed, later operations try once, not the whole round
        # again: with libvirtd down for good, N domains should not take N rounds to fail.
        attempts = 1 if self.gave_up else RECONNECT_ATTEMPTS
        for _ in range(attempts):
            time.sleep(RECONNECT_PAUSE_SECONDS)
            try:
                self.connection = open_connection(self.uri, timeout=self.timeout)
                self.gave_up = False
                return
            except HostError as error:
                last_error = error.message
        self.gave_up = True
        hint = f"gave up reconnecting after {RECONNECT_ATTEMPTS} tries; rerun apply once libvirtd is back"
        raise HostError(operation, last_error, vm, hint)

    def close(self) -> None:
        with contextlib.suppress(libvirt.libvirtError):  # already gone
            self.connection.close()
