"""Guests whose memory backing matters, started on the real libvirtd: a virtiofs share
(virtiofsd on the host, the guest's memory a shared memfd) and huge pages (reserved
for the test and given back). After apply, plan compares the spec with what each guest
was started with and finds nothing to change."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.host.conftest import TEST_PREFIX, guest_spec, write
from tests.host.test_running_guests import apply_and_see_it_run, assert_plan_is_clean

# libvirt finds virtiofsd through QEMU's vhost-user descriptors; Debian 12 ships it in
# qemu-system-common (the C one of QEMU 7.2) and in the package virtiofsd (the Rust one).
VIRTIOFSD_DESCRIPTORS = Path("/usr/share/qemu/vhost-user")
HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
MEMINFO = Path("/proc/meminfo")
MOUNTS = Path("/proc/mounts")


def _virtiofsd() -> str | None:
    for descriptor in sorted(VIRTIOFSD_DESCRIPTORS.glob("*virtiofsd*.json")):
        return descriptor.name
    return shutil.which("virtiofsd")


@pytest.fixture
def share():
    """A folder virtiofsd (run by libvirt as root) shares; asked for before system, so that
    system's cleanup stops the guest before the folder goes."""
    folder = Path(tempfile.mkdtemp(prefix=TEST_PREFIX, dir="/var/lib/libvirt/images"))
    (folder / "hello.txt").write_text("from the host\n")
    yield folder
    shutil.rmtree(folder)


def test_a_running_guest_shares_a_folder_through_virtiofs(share, system, tmp_path):
    if _virtiofsd() is None:
        pytest.skip(f"no virtiofsd: neither a descriptor in {VIRTIOFSD_DESCRIPTORS} nor on PATH")
    extra = f"""\
        memoryBacking: {{source: memfd, access: shared}}
        filesystems:
          - {{driver: virtiofs, source: {share}, target: share, queue: 1024}}
        """
    write(tmp_path, "virtiofs", guest_spec("virtiofs", extra))
    apply_and_see_it_run(system, tmp_path, "virtiofs")
    running = system.lookupByName(f"{TEST_PREFIX}virtiofs").XMLDesc(0)
    assert "<driver type='virtiofs' queue='1024'/>" in running
    assert_plan_is_clean(tmp_path)


def _free_hugepages() -> int:
    for line in MEMINFO.read_text().splitlines():
        if line.startswith("HugePages_Free:"):
            return int(line.split()[1])
    return 0


@pytest.fixture
def reserved_hugepages():
    """32 more 2 MiB pages (64 MiB) for the test's guest, given back afterwards."""
    if not HUGEPAGES.exists():
        pytest.skip(f"this kernel has no {HUGEPAGES}")
    if "hugetlbfs" not in {line.split()[2] for line in MOUNTS.read_text().splitlines()}:
        # libvirt backs guests with files on a hugetlbfs mount it finds when libvirtd
        # starts ("hugetlbfs filesystem is not mounted"); mounting one means restarting
        # the libvirtd that other test runs share.
        pytest.skip("no hugetlbfs is mounted, which libvirt needs to start a guest on huge pages")
    before = int(HUGEPAGES.read_text())
    free_before = _free_hugepages()
    try:
        HUGEPAGES.write_text(str(before + 32))
    except PermissionError:
        pytest.skip(f"reserving huge pages needs root (writing {HUGEPAGES})")
    try:
        if _free_hugepages() < free_before + 32:
            pytest.skip(
                "the kernel could not reserve 32 huge pages of 2 MiB (memory too fragmented)"
            )
        yield
    finally:
        HUGEPAGES.write_text(str(before))


def test_a_running_guest_on_reserved_huge_pages(reserved_hugepages, system, tmp_path):
    extra = """\
        memoryBacking:
          hugepages: {pages: [{size: 2MiB}]}
          allocation: immediate
        """
    write(tmp_path, "hugepages", guest_spec("hugepages", extra, memory="64MiB"))
    free = _free_hugepages()
    apply_and_see_it_run(system, tmp_path, "hugepages")
    # The guest's 64 MiB came from the reserved pages, all of them taken at start.
    assert _free_hugepages() == free - 32
    assert_plan_is_clean(tmp_path)
