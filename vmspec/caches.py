"""Where vmspec's caches live, and what tells one vmspec's entries from another's.

The plan cache, the plan memo and the compile cache each keep what a run found, for
the next run to skip work; each is keyed by the code that found it. Standard library
only: the plan memo runs before anything else is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

NO_CACHE_VARIABLE = "VMSPEC_NO_CACHE"  # set to anything: every command runs in full


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "vmspec"


def _code_files() -> Iterator[tuple[str, str]]:
    """(path relative to the package, path) of each of vmspec's .py and .json files."""
    import vmspec

    root = os.path.dirname(vmspec.__file__)
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, root), path


def _package_folders() -> Iterator[str]:
    return (folder for folder in sys.path if folder.endswith(("site-packages", "dist-packages")))


@cache
def code_version() -> str:
    """vmspec's version and the size and time of each of its files: an edited checkout
    lowers and compares differently, and must not reuse what the old code found."""
    import vmspec

    digest = hashlib.sha256(vmspec.__version__.encode())
    for name, path in _code_files():
        status = os.stat(path)
        digest.update(f"{name}:{status.st_size}:{status.st_mtime_ns};".encode())
    return digest.hexdigest()


def installed_packages() -> list[object]:
    """The Python and its package folders as they are: installing, upgrading or removing
    a package (PyYAML, lxml, libvirt-python...) changes its folder's time."""
    folders = []
    for folder in _package_folders():
        with contextlib.suppress(OSError):
            folders.append([folder, os.stat(folder).st_mtime_ns])
    return [sys.version, folders]


@cache
def code_content() -> str:
    """A digest of the content of vmspec's files: the same release, installed afresh
    (as every CI job does), has the same digest, where ``code_version`` (their times)
    differs. Reads ~2 MB, about 5 ms."""
    import vmspec

    digest = hashlib.sha256(vmspec.__version__.encode())
    for name, path in _code_files():
        with open(path, "rb") as file:
            content = file.read()
        digest.update(f"{name}:{len(content)};".encode())
        digest.update(content)
    return digest.hexdigest()


def installed_distributions() -> list[str]:
    """The Python and the name and version of every installed package (its dist-info
    folder's name, lxml-5.3.0.dist-info): what a fresh install of the same versions
    reproduces, unlike the folders' times."""
    names = [sys.version]
    for folder in _package_folders():
        with contextlib.suppress(OSError):
            names += sorted(
                entry.name for entry in os.scandir(folder) if entry.name.endswith(".dist-info")
            )
    return names
