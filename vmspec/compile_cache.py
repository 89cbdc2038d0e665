"""Compiled XML remembered by what it was compiled from, so that compiling a folder of
specs again costs about what reading them costs (benchmarks/compile_bench.py: within 3x
of reading the YAML and writing the XML with nothing else done).

Validating, lowering and emitting a document is a function of its data (the VM with
its profiles laid in), the scope, and the code that runs: vmspec's own files and the
installed packages (lxml writes the XML), each by content and version, so that a CI job
that installs the same release afresh and restores the cache finds its entries. Nothing else is read: no host, no file named
in the spec (a password is read by apply, never by compile). So the XML of a document
that validated without a single finding is kept under a digest of exactly those
inputs, and the same document compiles next time to those bytes without being
validated, lowered or emitted again. A document with any problem is never kept: its
problems are found again, with their places, every time.

Everything else still runs for every document: reading the YAML, merging profiles,
and the checks across documents (a name, uuid, volume or MAC used twice), which depend
on the other files given.

The store is one SQLite file next to the plan cache (0600 in a 0700 folder). It is an
optimization and nothing more: when it cannot be read or written (a read-only home,
another vmspec holding the lock for too long, a damaged file), compile runs in full and
says nothing. Each entry carries a digest of its XML, checked on every read, so a damaged
entry is compiled again rather than trusted. Entries written by another version of
vmspec are dropped when this one opens the file; the newest KEPT_ENTRIES are kept.
``--no-cache`` or ``VMSPEC_NO_CACHE=1`` turn it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from vmspec.caches import NO_CACHE_VARIABLE, cache_root, code_content, installed_distributions

FORMAT = 1
KEPT_ENTRIES = 20_000  # about 50 MB of XML: every spec of a large repository, and then some
LOCK_TIMEOUT_SECONDS = 2.0  # another compile writing its entries; after that, do without
_DAY = 86_400


def cache_file() -> Path:
    return cache_root() / "compile.sqlite3"


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))  # no two splits of the bytes alike
        digest.update(part)
    return digest.hexdigest()


class CompileCache:
    """The XML of the documents compiled before, by digest of (code, scope, data)."""

    def __init__(self, connection: sqlite3.Connection, code: str, scope: str) -> None:
        self._connection = connection
        # The code is in every key, not only in the file's context table: a compile of
        # another vmspec may empty the file and fill it while this one runs.
        # repr: plain values (vmspec/load/source.py) print alike only when they are
        # alike, types included (1 and "1" differ); vmspec/host/plan_cache.py does the same.
        self._context = _digest(code.encode(), repr([FORMAT, scope]).encode()).encode()
        self._today = int(time.time()) // _DAY
        self._new: list[tuple[str, bytes, str, int]] = []
        self._used: list[str] = []  # entries hit today for the first time
        # The last document looked up, with its key and XML: compile looks each document
        # up twice (to skip validation, then to skip lowering), one right after the other.
        self._last: tuple[Any, str, bytes | None] | None = None

    @classmethod
    def opened(cls, scope: str) -> CompileCache | None:
        """The cache of this user, or None when it is off or cannot be opened."""
        if os.environ.get(NO_CACHE_VARIABLE):
            return None
        path = cache_file()
        code = repr([FORMAT, code_content(), installed_distributions()])
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            connection = _connect(path, code)
        except (OSError, sqlite3.Error):
            return None
        return cls(connection, code, scope)

    def compiled(self, data: Any) -> bytes | None:
        """The XML this document compiled to before, or None."""
        if self._last is not None and self._last[0] is data:
            return self._last[2]
        key = _digest(self._context, repr(data).encode())
        xml = None
        with contextlib.suppress(sqlite3.Error):
            row = self._connection.execute(
                "SELECT xml, checksum, used FROM compiled WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and _digest(row[0]) == row[1]:
                xml = bytes(row[0])
                if row[2] < self._today:
                    self._used.append(key)
        self._last = (data, key, xml)
        return xml

    def remember(self, data: Any, xml: bytes) -> None:
        """Keep the XML of a document that compiled without a problem."""
        key = (
            self._last[1]
            if self._last is not None and self._last[0] is data
            else _digest(self._context, repr(data).encode())
        )
        self._new.append((key, xml, _digest(xml), self._today))

    def save(self) -> None:
        """Write what this run compiled and used, in one transaction; then close."""
        connection = self._connection
        try:
            if self._new or self._used:
                with connection:
                    connection.executemany(
                        "INSERT OR REPLACE INTO compiled (key, xml, checksum, used) "
                        "VALUES (?, ?, ?, ?)",
                        self._new,
                    )
                    connection.executemany(
                        "UPDATE compiled SET used = ? WHERE key = ?",
                        [(self._today, key) for key in self._used],
                    )
                    if self._new:
                        connection.execute(
                            "DELETE FROM compiled WHERE key IN (SELECT key FROM compiled "
                            "ORDER BY used DESC LIMIT -1 OFFSET ?)",
                            (KEPT_ENTRIES,),
                        )
        except sqlite3.Error:
            pass  # locked for too long, or the disk is full: the next compile does it again
        finally:
            connection.close()


def _connect(path: Path, context: str) -> sqlite3.Connection:
    """The store, made if missing, emptied if another vmspec (``context``: its code and
    packages) wrote it last, and deleted and made again if it is not a database any more."""
    for attempt in range(2):
        made = not path.exists()
        connection = sqlite3.connect(path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)
        try:
            if made:
                os.chmod(path, 0o600)
            # A cache: an entry lost to a crash is compiled again; a damaged one fails
            # its checksum. Not waiting for the disk is worth that.
            connection.execute("PRAGMA synchronous = OFF")
            if _stored_context(connection) != context:
                _start_over(connection, context)
            connection.isolation_level = "DEFERRED"
            return connection
        except sqlite3.DatabaseError as error:
            connection.close()
            if attempt or isinstance(error, sqlite3.OperationalError):
                raise  # locked, or still damaged after a fresh start: do without
            path.unlink(missing_ok=True)  # not a database (damaged): start over
    raise AssertionError("unreachable")


def _start_over(connection: sqlite3.Connection, context: str) -> None:
    """Empty tables for this vmspec, unless another compile made them meanwhile."""
    connection.execute("BEGIN IMMEDIATE")  # one compile at a time from here
    try:
        if _stored_context(connection) != context:
            for statement in (
                "DROP TABLE IF EXISTS compiled",
                "DROP TABLE IF EXISTS context",
                "CREATE TABLE context (value TEXT NOT NULL)",
                "CREATE TABLE compiled (key TEXT PRIMARY KEY, xml BLOB NOT NULL,"
                " checksum TEXT NOT NULL, used INTEGER NOT NULL)",
                "CREATE INDEX compiled_used ON compiled (used)",
            ):
                connection.execute(statement)
            connection.execute("INSERT INTO context (value) VALUES (?)", (context,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _stored_context(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT value FROM context").fetchone()
    except sqlite3.OperationalError:
        return None  # a new file: no tables yet
    return row[0] if row else None
