"""How many VMs made by virt-install vmspec imports, as Markdown for the README: the
scoreboard of issue 11 ("adopt the VMs people already run").

    .venv/bin/python benchmarks/virt_install_report.py [-c URI]

Each VM of the matrix below is printed by `virt-install --print-xml` against URI
(default qemu:///system, so the XML is what a real host gets; test:///default works
too, with the test driver's own devices) and imported with vmspec's lift, as
`vmspec import --xml` does. Disks point at empty files this script makes in a
temporary folder: virt-install creates volumes for `size=N` disks, which a report
must not do. Nothing is defined on the host. Prints one row per VM (imported, or
the element families it lacks) and the families that block the most VMs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

if not __package__:  # run as a file: make the repository importable, as pytest does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus_report import family
from vmspec.lift.sources import lift_xml

# (name, os, extra virt-install options): the usual ways people make VMs, one or two
# choices changed at a time from virt-install's defaults.
MATRIX: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("debian-default", "debian11", ()),
    ("debian-headless", "debian11", ("--graphics", "none")),
    ("debian-vnc", "debian11", ("--graphics", "vnc")),
    ("debian-uefi", "debian11", ("--boot", "uefi")),
    ("debian-cdrom", "debian11", ("--cdrom", "{iso}")),
    ("ubuntu-default", "ubuntu22.04", ()),
    ("ubuntu-sata", "ubuntu22.04", ("--disk", "path={disk2},bus=sata")),
    ("ubuntu-scsi", "ubuntu22.04", ("--disk", "path={disk2},bus=scsi")),
    ("rhel-default", "rhel9.0", ()),
    (
        "rhel-virtiofs",
        "rhel9.0",
        (
            "--filesystem",
            "{share},share,driver.type=virtiofs",
            "--memorybacking",
            "source.type=memfd,access.mode=shared",
        ),
    ),
    ("fedora-default", "fedora37", ()),
    ("fedora-hugepages", "fedora37", ("--memorybacking", "hugepages=on")),
    ("alma-default", "almalinux9", ()),
    ("rocky-default", "rocky9", ()),
    ("opensuse-default", "opensuse15.4", ()),
    ("arch-default", "archlinux", ()),
    ("alpine-headless", "alpinelinux3.17", ("--graphics", "none")),
    ("freebsd-default", "freebsd13.1", ()),
    ("openbsd-default", "openbsd7.0", ()),
    ("debian-e1000", "debian11", ("--network", "network=default,model=e1000")),
    # IDE needs the pc machine: q35, virt-install's choice for Debian 11, has no IDE bus.
    ("debian-ide", "debian11", ("--machine", "pc", "--disk", "path={disk2},bus=ide")),
    ("debian-watchdog", "debian11", ("--watchdog", "i6300esb,action=reset")),
    ("debian-tpm", "debian11", ("--tpm", "emulator")),
    ("debian-sound", "debian11", ("--sound", "ich9")),
    ("debian-serial", "debian11", ("--serial", "pty", "--graphics", "none")),
    ("debian-pinned", "debian11", ("--vcpus", "2,cpuset=0")),
    ("win7", "win7", ()),
    ("win10", "win10", ()),
    ("win11", "win11", ()),
    ("win2k16", "win2k16", ()),
    ("win2k19", "win2k19", ()),
    ("win2k22", "win2k22", ()),
)


def print_xml(uri: str, name: str, os_name: str, extra: tuple[str, ...], files: dict[str, str]):
    command = [
        "virt-install", "--print-xml", "--connect", uri, "--name", name,
        "--memory", "2048", "--vcpus", "2", "--osinfo", os_name, "--noautoconsole",
        "--disk", f"path={files['disk']}", "--network", "network=default",
    ]  # fmt: skip
    if "--cdrom" not in extra:
        command.append("--import")
    command += [option.format(**files) for option in extra]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        return None, result.stderr.strip().splitlines()[-1]
    # An install from a cdrom prints two definitions: the install boot, then the domain as
    # it stays on the host. The second is the one people import.
    last = result.stdout.rsplit("<domain", 1)[1]
    return "<domain" + last, None


def _remove_pools_under(uri: str, folder: str) -> None:
    """virt-install makes a storage pool of each disk's folder, even for --print-xml."""
    import libvirt
    from lxml import etree

    connection = libvirt.open(uri)
    for pool in connection.listAllStoragePools():
        path = etree.fromstring(pool.XMLDesc(0)).findtext("target/path") or ""
        if path == folder or path.startswith(folder + "/"):
            if pool.isActive():
                pool.destroy()
            pool.undefine()
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--connect", default="qemu:///system", metavar="URI")
    uri = parser.parse_args().connect
    started = time.monotonic()
    blocking: Counter[str] = Counter()
    only_gap: Counter[str] = Counter()
    rows, imported = [], 0
    with tempfile.TemporaryDirectory() as folder:
        files = {name: f"{folder}/{name}" for name in ("disk", "disk2", "iso", "share")}
        for name in ("disk", "disk2", "iso"):
            Path(files[name]).touch()
        Path(files["share"]).mkdir()
        for name, os_name, extra in MATRIX:
            xml, error = print_xml(uri, f"vireport-{name}", os_name, extra, files)
            if xml is None:
                rows.append(f"| {name} | virt-install failed: {error} |")
                continue
            lifted = lift_xml(xml, name)
            families = sorted({family(dropped) for dropped in lifted.dropped})
            if lifted.document and not lifted.dropped:
                imported += 1
                rows.append(f"| {name} | imported |")
                continue
            blocking.update(families)
            if len(families) == 1:
                only_gap.update(families)
            rows.append(f"| {name} | {', '.join(f'`{f}`' for f in families)} |")
        _remove_pools_under(uri, folder)
    print(f"virt-install VMs ({uri}) that import without --lossy: {imported} of {len(MATRIX)}\n")
    print("| VM | missing families |\n|---|---|")
    print("\n".join(rows))
    print("\n| family | VMs it keeps out | only gap |\n|---|---:|---:|")
    for name, count in blocking.most_common():
        print(f"| `{name}` | {count} | {only_gap[name]} |")
    print(f"\nvirt_install_report: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
