"""A no-change plan, remembered whole, so that asking again costs about what reading the
host costs (the goal of benchmarks/plan_bench.py: within 1.5x of listing the domains
and reading each one's XML).

A plan is a function of its inputs: the command line, the environment, the files it
reads, what libvirt tells it about the host, and vmspec's own code. When a full plan
finds nothing to change, it is remembered with a digest of every one of those inputs
and the exact text it printed. The next `vmspec plan` with the same command line reads
the memo before it imports anything heavy (no YAML, no schema, no lxml, no families:
vmspec/entry.py), checks each input again, and prints the remembered text only if
every digest still matches. Anything else, or anything it cannot check, falls through
to the full plan, which prints what it finds and remembers it again when there is
nothing to change. A memo can only ever make a plan faster, never different.

The inputs, and how each is checked again:
- the command line, the working directory, the environment (but the few variables a
  shell changes on its own), whether stdout is a terminal, vmspec's code: the memo's
  file name is their digest;
- files: every file the full plan opened for reading (the spec files, profiles,
  .vmspec.yaml, password files...) by content; every directory it listed by its
  entries; every path it looked at (os.stat: a disk image that must exist, a bridge in
  /sys/class/net) by its kind (missing, file, folder, other);
- the host: ``host_state`` below, a digest of the host's capabilities and URI, every
  persistent domain's definition, which run and which autostart, the running ones' live
  XML, every pool's and network's definition and state, and the volumes of the pools
  the specs use. The full plan takes it before and after it reads the host, and
  remembers nothing if the two differ (something changed while it read).

A plan of one host or of an inventory's hosts is remembered (their states are read at
once, so a replay of N hosts costs about what the slowest one costs), only with the plan
cache on (``--no-cache``, ``VMSPEC_NO_CACHE=1`` turn both off), and not when a VM
assigns host devices (reading them all is the cost this avoids). An inventory's
placement reads the hosts' free memory, which is not an input: it decides only where a
VM defined nowhere goes, which is a plan with changes, never remembered. Files live
next to the plan cache.

This module imports only the standard library: it runs before the CLI is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vmspec.caches import NO_CACHE_VARIABLE, cache_root, code_version, installed_packages

FORMAT = 1
# What a shell sets by itself as it goes: the same command in another shell is still
# the same plan. Everything else in the environment is an input.
SHELL_VARIABLES = frozenset({"PWD", "OLDPWD", "SHLVL", "_", "LINES", "COLUMNS"})
MISSING = "missing"
PARALLEL_HOSTS = 8  # hosts of an inventory read at once by a replay
# A variable named like this holds a secret: the memo's key takes its secret_state only.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN", re.IGNORECASE)
SECRET_LENGTH_THAT_MATTERS = 8  # VNC uses the first 8 characters (vmspec/host/secrets.py)
KEPT_MEMOS = 64  # the newest; each command line and environment has its own


def memo_path(arguments: list[str]) -> Path:
    """Where the memo of this exact command, run here and now, lives."""
    environment = sorted(
        (name, secret_state(value) if SECRET_NAME.search(name) else value)
        for name, value in os.environ.items()
        if name not in SHELL_VARIABLES
    )
    key = json.dumps(
        [
            FORMAT,
            code_version(),
            installed_packages(),
            arguments,
            os.getcwd(),
            environment,
            sys.stdout.isatty(),
        ]
    )
    return cache_root() / "memo" / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.json"


def wanted(arguments: list[str]) -> bool:
    """Whether a plan run with these arguments may be remembered and replayed."""
    return (
        bool(arguments)
        and arguments[0] == "plan"
        and "--no-cache" not in arguments
        and not os.environ.get(NO_CACHE_VARIABLE)
    )


# ---------------------------------------------------------------------------- files


def secret_state(value: str | None) -> str:
    """What a plan can tell of a secret (vmspec/host/secrets.py): whether it is there, is
    empty, and whether it is longer than VNC takes. A memo keeps this, never a digest of
    the value: a digest of a short password is as good as the password to anyone who
    copies the cache (a CI cache of ~/.cache)."""
    if value is None:
        return MISSING
    if not value:
        return "empty"
    return "long" if len(value) > SECRET_LENGTH_THAT_MATTERS else "short"


def _secret_file_state(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return secret_state(file.read().rstrip("\n"))  # as secrets.py reads a file
    except UnicodeDecodeError:
        return "not UTF-8"
    except OSError:
        return MISSING


def _digest_file(path: str) -> str:
    try:
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return MISSING


def _listing(path: str) -> str:
    try:
        entries = sorted((entry.name, entry.is_dir()) for entry in os.scandir(path))
    except OSError:
        return MISSING
    return hashlib.sha256(repr(entries).encode()).hexdigest()


def _kind(path: str) -> str:
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return MISSING
    return "folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


FACT_CHECKS = {
    "file": _digest_file,
    "secret": _secret_file_state,
    "listing": _listing,
    "kind": _kind,
}


class LocalReads:
    """Every file, folder and path a full plan looks at, while it is recorded.

    Opening a file and listing a folder raise Python audit events ("open",
    "os.scandir", "os.listdir"), so they are seen wherever the code that does it lives.
    Looking at a path (os.path.exists, Path.is_file...) raises none: ``os.stat`` itself
    is wrapped while a recording runs, for the same reason, so that a check written
    tomorrow anywhere in vmspec is an input of the memo without anyone remembering to
    say so.
    """

    _recording: LocalReads | None = None
    _hook_installed = False

    def __init__(self) -> None:
        self.opened: set[str] = set()
        self.secrets: set[str] = set()  # opened, but kept as secret_state, not digested
        self.listed: set[str] = set()
        self.looked_at: dict[str, str] = {}
        # A path given as a file descriptor, or relative to one, names no file this
        # recording can check again: the plan is then not remembered at all.
        self.incomplete = False
        # Not inputs of a plan: the Python that runs it and vmspec's own code (imports
        # read them; code_version covers vmspec's), and vmspec's own cache.
        import vmspec

        places = {
            os.path.dirname(os.__file__),  # the standard library
            sys.prefix,  # the virtualenv's packages
            sys.exec_prefix,
            os.path.dirname(vmspec.__file__),
            str(cache_root()),
        }
        self._ignored = tuple(os.path.abspath(place) + os.sep for place in places)

    def __enter__(self) -> LocalReads:
        if not LocalReads._hook_installed:
            sys.addaudithook(LocalReads._audit)  # never removed: it does nothing when idle
            LocalReads._hook_installed = True
        LocalReads._recording = self
        self._stat = os.stat
        os.stat = self._recorded_stat  # type: ignore[assignment]
        return self

    def __exit__(self, *_exception: object) -> None:
        os.stat = self._stat
        LocalReads._recording = None

    def _recorded_stat(self, path: Any, *arguments: Any, **keywords: Any) -> os.stat_result:
        if isinstance(path, int) or keywords.get("dir_fd") is not None:
            self.incomplete = True
        try:
            status = self._stat(path, *arguments, **keywords)
        except OSError:
            self._note(path, MISSING)
            raise
        mode = status.st_mode
        self._note(
            path, "folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"
        )
        return status

    def _note(self, path: Any, kind: str) -> None:
        name = self._name(path)
        if name is not None:
            self.looked_at.setdefault(name, kind)

    def _name(self, path: Any) -> str | None:
        if isinstance(path, int):
            return None  # an open file descriptor: its file was seen when it was opened
        with contextlib.suppress(TypeError, ValueError):
            name = os.path.abspath(os.fsdecode(path))
            if not (name + os.sep).startswith(self._ignored):
                return name
        return None

    @staticmethod
    def _audit(event: str, arguments: tuple[Any, ...]) -> None:
        recording = LocalReads._recording
        if recording is None:
            return
        if event == "open":
            path, mode, flags = arguments
            if mode is not None:
                reads_only = not any(letter in mode for letter in "wax+")
            else:
                reads_only = not flags & (os.O_WRONLY | os.O_RDWR)
            name = recording._name(path)
            if reads_only and name is not None:
                recording.opened.add(name)
        elif event in ("os.scandir", "os.listdir"):
            folder = arguments[0] if arguments[0] is not None else "."
            if isinstance(folder, int):
                recording.incomplete = True
            name = recording._name(folder)
            if name is not None:
                recording.listed.add(name)

    def facts(self) -> list[list[str]]:
        """[check, path, what it found], read now: the digests of the opened files and
        listed folders are taken here, the kinds as the plan saw them."""
        return sorted(
            [
                *(["file", path, _digest_file(path)] for path in self.opened - self.secrets),
                *(["secret", path, _secret_file_state(path)] for path in self.secrets),
                *(["listing", path, _listing(path)] for path in self.listed),
                *(["kind", path, kind] for path, kind in self.looked_at.items()),
            ]
        )


def read_secret_file(path: str) -> str:
    """A secret file's text (a display password, a disk's passphrase, libvirt's login).
    While a plan is recorded, its memo keeps only the secret's ``secret_state``."""
    recording = LocalReads._recording
    if recording is not None:
        name = recording._name(path)
        if name is not None:
            recording.secrets.add(name)
    with open(path, encoding="utf-8") as file:
        return file.read()


def facts_hold(facts: Iterable[list[str]]) -> bool:
    return all(FACT_CHECKS[check](path) == found for check, path, found in facts)


# ---------------------------------------------------------------------------- the host


def host_state(connection: Any, pools_with_volumes: Iterable[str]) -> str:
    """A digest of everything a plan reads from the host (see the module's docstring)."""
    import libvirt

    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        digest.update(repr(parts).encode())

    add(connection.getURI(), connection.getCapabilities())
    # Every domain's name, transient ones too: where a VM of an inventory is placed.
    add(sorted(d.name() for d in connection.listAllDomains(0)))
    persistent = libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT
    # Which run and which autostart: one listing each, not a call per domain.
    active, autostart = (
        sorted(d.UUIDString() for d in connection.listAllDomains(persistent | flag))
        for flag in (
            libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE,
            libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART,
        )
    )
    add(active, autostart)
    running = set(active)
    for domain in sorted(connection.listAllDomains(persistent), key=lambda d: d.UUIDString()):
        add(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        if domain.UUIDString() in running:
            add(domain.XMLDesc(0))
    listings = (
        (connection.listAllStoragePools, libvirt.VIR_STORAGE_XML_INACTIVE),
        (connection.listAllNetworks, libvirt.VIR_NETWORK_XML_INACTIVE),
    )
    for listing, inactive in listings:
        for resource in sorted(listing(0), key=lambda r: r.UUIDString()):
            try:
                xml = resource.XMLDesc(inactive)
            except libvirt.libvirtError:  # test:///default knows no inactive pool XML
                xml = resource.XMLDesc(0)
            add(xml, resource.isActive(), resource.autostart())
    for name in sorted(set(pools_with_volumes)):
        try:
            pool = connection.storagePoolLookupByName(name)
            volumes = pool.listAllVolumes(0) if pool.isActive() else []
        except libvirt.libvirtError:
            add(name, MISSING)
            continue
        for volume in sorted(volumes, key=lambda v: v.name()):
            add(name, volume.XMLDesc(0), volume.info()[1])
    return digest.hexdigest()


def host_states(uris: list[str | None], pools_with_volumes: Iterable[str]) -> list[str]:
    """``host_state`` of each host, read at once (the hosts of an inventory): libvirt
    calls release the GIL, so N hosts cost about what the slowest one costs."""
    from vmspec.host.connection import Host

    pools = sorted(set(pools_with_volumes))

    def state(uri: str | None) -> str:
        host = Host(uri)
        try:
            return host_state(host.connection, pools)
        finally:
            host.close()

    if len(uris) == 1:
        return [state(uris[0])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(uris), PARALLEL_HOSTS)) as pool:
        return list(pool.map(state, uris))


# ---------------------------------------------------------------------------- memos


def save(
    arguments: list[str],
    hosts: list[tuple[str | None, str]],
    reads: LocalReads,
    pools_with_volumes: Iterable[str],
    printed: str,
) -> None:
    """Remember a full plan that found nothing to change. Written whole under another
    name, then renamed: a reader sees the old memo or the new one. A memo that cannot
    be written is only a slower next plan."""
    if reads.incomplete:
        return
    content = {
        "format": FORMAT,
        "arguments": arguments,
        "hosts": hosts,  # [URI, host_state] of each host the plan read
        "facts": reads.facts(),
        "pools": sorted(set(pools_with_volumes)),
        "printed": printed,
    }
    path = memo_path(arguments)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        # The user's alone: a memo names the files and hosts a plan read.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(json.dumps(content))
        os.replace(temporary, path)
        _forget_old_memos(path.parent)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _forget_old_memos(folder: Path) -> None:
    """Keep the KEPT_MEMOS newest: a CI job's environment (a job id) makes a memo of its
    own each time, and none of them must pile up."""
    memos = sorted(folder.glob("*.json"), key=lambda memo: memo.stat().st_mtime_ns, reverse=True)
    for old in memos[KEPT_MEMOS:]:
        with contextlib.suppress(OSError):
            old.unlink()


def replay(arguments: list[str]) -> bool:
    """Print the remembered plan of this command if every input is still the same, and
    say whether it did. Any doubt (no memo, another input, an unreachable host, an
    error of any kind) returns False, and the full plan runs."""
    if not wanted(arguments):
        return False
    try:
        content = json.loads(memo_path(arguments).read_bytes())
    except (OSError, ValueError):
        return False
    try:
        if content["format"] != FORMAT or content["arguments"] != arguments:
            return False
        if not facts_hold(content["facts"]):
            return False
        uris = [uri for uri, _ in content["hosts"]]
        # libvirt is imported only once the files match.
        if host_states(uris, content["pools"]) != [state for _, state in content["hosts"]]:
            return False
        printed = content["printed"]
    except Exception:  # whatever went wrong, the full plan says it properly
        return False
    sys.stdout.write(printed)
    sys.stdout.flush()
    return True
