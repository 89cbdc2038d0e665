"""The cloud-init NoCloud seed: ``user-data``, ``meta-data`` and optionally
``network-config`` at the root of an ISO 9660 image labelled ``cidata``.

The image is built in memory and is byte-for-byte reproducible: the same texts
give the same bytes on any host, at any time, in any time zone (with the same
pycdlib version), so a seed can be compared, hashed and left untouched when
nothing changed, like the compiled XML.

https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pycdlib

from vmspec.yaml_text import dump_spec_yaml

# cloud-init finds the seed by its blkid LABEL. Older releases asked for exactly
# LABEL=cidata, newer ones for cidata or CIDATA, so lowercase is what all of them
# find. libblkid reads the label from the Joliet descriptor when there is one (UCS-2,
# lowercase is legal there). pycdlib writes vol_ident unchecked into the primary
# descriptor as well, at every interchange level, so it is lowercase there too: strictly
# ECMA-119 wants d-characters (A-Z 0-9 _) in that field, but `genisoimage -V cidata`,
# which cloud-init's own documentation uses, writes the very same bytes.
VOLUME_LABEL = "cidata"

# Every date in the image (volume descriptors, directory records, Rock Ridge TF
# entries) is 1980-01-01T00:00:00Z: the usual floor of reproducible builds (the ZIP
# and FAT epoch). Not the Unix epoch: pycdlib takes 0 to mean "no date" in the
# volume descriptors and would write zeros there but 1970 in the directory records.
# blkid derives an ISO's UUID from the volume date, so every seed reads as
# UUID=1980-01-01-00-00-00-00; cloud-init goes by the label, not the UUID.
PINNED_TIMESTAMP = 315_532_800.0

# Rock Ridge and Joliet both, as `genisoimage -joliet -rock` makes them: Linux (and
# cloud-init on it) reads the Rock Ridge names, Windows (cloudbase-init) the Joliet
# ones. Rock Ridge 1.09 is what pycdlib recommends for the widest compatibility;
# Joliet level 3 is the one in general use.
_JOLIET_LEVEL = 3
_ROCK_RIDGE_VERSION = "1.09"
# "network_config" is longer than level 1's 8.3 names; level 3 (what pycdlib
# recommends, and what it reports for such names when it reads an image) allows 30
# characters. Only readers with neither extension ever see these names.
_INTERCHANGE_LEVEL = 3
# pycdlib's default application identifier names pycdlib and its copyright years, so
# a library upgrade would change the bytes for nothing.
_APPLICATION_ID = "VMSPEC"
# Regular file, read-only for all: the seed is input, never edited in place.
_FILE_MODE = 0o100444


def seed_iso(user_data: str, meta_data: str, network_config: str | None = None) -> bytes:
    """The NoCloud seed image holding these texts (UTF-8) as ``user-data``,
    ``meta-data`` and, when given, ``network-config``."""
    files = {"user-data": user_data, "meta-data": meta_data}
    if network_config is not None:
        files["network-config"] = network_config
    with _pinned_pycdlib_clock():
        iso = pycdlib.PyCdlib()
        iso.new(
            interchange_level=_INTERCHANGE_LEVEL,
            vol_ident=VOLUME_LABEL,
            app_ident_str=_APPLICATION_ID,
            joliet=_JOLIET_LEVEL,
            rock_ridge=_ROCK_RIDGE_VERSION,
        )
        for name in sorted(files):
            content = files[name].encode("utf-8")
            iso.add_fp(
                io.BytesIO(content),
                len(content),
                iso_path=_iso9660_path(name),
                rr_name=name,
                joliet_path=f"/{name}",
                file_mode=_FILE_MODE,
            )
        image = io.BytesIO()
        iso.write_fp(image)
        iso.close()
    return image.getvalue()


def render_meta_data(mapping: dict[str, str]) -> str:
    """The ``meta-data`` file: ``instance-id``, ``local-hostname``, ... as YAML."""
    return _yaml(mapping)


def render_user_data(value: str | dict[str, Any]) -> str:
    """The ``user-data`` file: a string as it is (a script, a MIME multipart, a
    cloud-config already written), a mapping as cloud-config YAML."""
    if isinstance(value, str):
        return value
    # cloud-init treats user-data as cloud-config only when this is its first line.
    return "#cloud-config\n" + _yaml(value)


def _yaml(data: dict[str, Any]) -> str:
    # Sorted keys and block style: the same mapping always gives the same text, and a
    # person reading the seed sees one setting per line. allow_unicode keeps a name
    # like "José" readable instead of "Jos\xE9"; the file is UTF-8 either way, and a
    # U+0085 in a value stays one instead of reaching cloud-init as a space.
    return dump_spec_yaml(data, sort_keys=True)


def _iso9660_path(name: str) -> str:
    # ISO 9660 names are d-characters (A-Z 0-9 _): "user-data" → "/USER_DATA.;1",
    # keeping the word break as genisoimage does.
    return "/" + name.upper().replace("-", "_") + ".;1"


class _PinnedClock:
    """What pycdlib sees as its ``time`` module during a build: "now" is
    PINNED_TIMESTAMP and local time is UTC; everything else is the real module."""

    def time(self) -> float:
        return PINNED_TIMESTAMP

    def localtime(self, seconds: float | None = None) -> time.struct_time:
        # pycdlib writes local time plus the host's offset from UTC, which would make
        # the bytes depend on TZ; as UTC the offset is always 0.
        return time.gmtime(PINNED_TIMESTAMP if seconds is None else seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_PINNED_CLOCK = _PinnedClock()
_PINNED_CLOCK_LOCK = threading.Lock()


@contextlib.contextmanager
def _pinned_pycdlib_clock() -> Iterator[None]:
    """Within this block, pycdlib's modules see the pinned clock.

    pycdlib has no way to set the dates it writes (clalancette/pycdlib#113): it calls
    time.time() in new(), in add_fp() and again in write_fp() (the volume modification
    date), and time.localtime() to format them. So the ``time`` name inside pycdlib's
    own modules is swapped for the pinned clock, and swapped back afterwards. The
    real ``time`` module is never touched, so the rest of the process (logging, other
    threads, a test's fake clock) keeps the real time. The lock makes concurrent seeds
    take turns, so no build can restore the real clock under another that is still
    running; the one thing it cannot cover is some other code driving pycdlib in
    another thread at the same moment, and vmspec has no such code.
    """
    with _PINNED_CLOCK_LOCK:
        # Every loaded pycdlib module that did `import time`, found rather than listed,
        # so a pycdlib release that reads the clock from one more module is covered.
        modules = [
            module
            for name, module in list(sys.modules.items())
            if (name == "pycdlib" or name.startswith("pycdlib."))
            and getattr(module, "time", None) is time
        ]
        for module in modules:
            module.time = _PINNED_CLOCK  # type: ignore[attr-defined]
        try:
            yield
        finally:
            for module in modules:
                module.time = time  # type: ignore[attr-defined]
