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
from functools import cache
from pathlib import Path

NO_CACHE_VARIABLE = "VMSPEC_NO_CACHE"  # set to anything: every command runs in full


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "vmspec"


@cache
def code_version() -> str:
    """vmspec's version and the size and time of each of its files: an edited checkout
    lowers and compares differently, and must not reuse what the old code found."""
    import vmspec

    digest = hashlib.sha256(vmspec.__version__.encode())
    root = Path(vmspec.__file__).parent
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                status = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}:{status.st_size}:{status.st_mtime_ns};".encode())
    return digest.hexdigest()


def installed_packages() -> list[object]:
    """The Python and its package folders as they are: installing, upgrading or removing
    a package (PyYAML, lxml, libvirt-python...) changes its folder's time."""
    folders = []
    for folder in sys.path:
        if folder.endswith(("site-packages", "dist-packages")):
            with contextlib.suppress(OSError):
                folders.append([folder, os.stat(folder).st_mtime_ns])
    return [sys.version, folders]
