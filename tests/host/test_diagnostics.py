"""vmspec diagnostics on the real libvirtd: one bulk stats call, table and JSON, --watch."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import REPO
from tests.host.conftest import (
    SYSTEM_URI,
    TEST_PREFIX,
    guest_spec,
    libvirt,
    remove_test_domains,
    remove_test_pools_and_networks,
    run_subnet,
    vmspec,
    write,
)
from vmspec.host.diagnostics import DomainStats, Sample, parse_stats, rates
from vmspec.host.diagnostics_report import human_bytes, human_duration

GUEST = f"{TEST_PREFIX}guest"  # running, with a disk and a NIC
STOPPED = f"{TEST_PREFIX}off"
NETWORK = f"{TEST_PREFIX}net"


@pytest.fixture(scope="module")
def host_specs(libvirtd, tmp_path_factory):
    """A spec directory shared by this module's tests (a guest's start and destroy are
    most of their time): an isolated network, a running TCG guest with a small qcow2 on
    vda and a NIC on that network, and a stopped guest. The image is not in pytest's
    private tmp folders: QEMU runs as libvirt-qemu, so it is in a world-readable folder
    under libvirt's images."""
    Path("/var/lib/libvirt/images").mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=TEST_PREFIX, dir="/var/lib/libvirt/images"))
    folder.chmod(0o755)
    image = folder / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "16M"], check=True)
    specs = tmp_path_factory.mktemp("specs")
    network = textwrap.dedent(
        f"""\
        apiVersion: vmspec/v1
        kind: Network
        metadata: {{name: {NETWORK}}}
        spec: {{forward: isolated, ip: {{address: {run_subnet(1)}.1, prefix: 24}}}}
        """
    )
    devices = f"disks: [{{target: vda, file: {image}}}]\ninterfaces: [{{network: {NETWORK}}}]\n"
    write(specs, "a-net", network)
    write(specs, "b-guest", guest_spec("guest", devices))
    write(specs, "c-off", guest_spec("off", state="stopped"))
    connection = libvirt.open(libvirtd)
    # Leftovers of an interrupted run would keep their old disk path.
    remove_test_domains(connection)
    remove_test_pools_and_networks(connection)
    yield specs
    remove_test_domains(connection)
    remove_test_pools_and_networks(connection)
    connection.close()
    shutil.rmtree(folder)


@pytest.fixture
def host(host_specs) -> Path:
    """The specs applied: the first test starts the guest, the next ones get "no changes"
    (or start it again if a test elsewhere removed it meanwhile)."""
    apply(host_specs)
    return host_specs


def apply(directory: Path) -> None:
    applied = vmspec("apply", "-c", SYSTEM_URI, str(directory))
    assert applied.returncode == 0, applied.stdout + applied.stderr


def diagnostics(*args: str) -> subprocess.CompletedProcess[str]:
    return vmspec("diagnostics", "-c", SYSTEM_URI, *args, timeout=60)


def diagnostics_json(*args: str) -> dict:
    result = diagnostics("--output", "json", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_json_of_a_running_guest_has_cpu_memory_and_its_disk_by_target(host):
    document = diagnostics_json(GUEST)
    assert document["formatVersion"] == 1 and document["uri"] == SYSTEM_URI
    [domain] = document["domains"]
    assert domain["name"] == GUEST and domain["state"] == "running"
    assert domain["id"] > 0
    assert domain["cpu"]["timeNs"] > 0
    assert len(domain["cpu"]["vcpuTimesNs"]) == 1
    assert domain["memory"]["currentBytes"] == 64 * 1024 * 1024
    assert domain["memory"]["rssBytes"] > 0
    vda = domain["disks"]["vda"]
    assert vda["capacityBytes"] == 16 * 1024 * 1024
    assert vda["path"].endswith("/disk.qcow2")
    assert vda["readBytes"] >= 0 and vda["writeRequests"] >= 0
    assert vda["readBytesPerSecond"] is None  # rates need --watch


def test_each_interface_is_keyed_by_its_tap_device_and_carries_the_guest_mac(host):
    [domain] = diagnostics_json(GUEST)["domains"]
    connection = libvirt.open(SYSTEM_URI)
    running = etree.fromstring(connection.lookupByName(GUEST).XMLDesc(0).encode())
    connection.close()
    [interface] = running.iterfind("devices/interface")
    device = interface.find("target").get("dev")  # vnetN, picked by libvirt at start
    assert list(domain["interfaces"]) == [device]
    nic = domain["interfaces"][device]
    assert nic["mac"] == interface.find("mac").get("address")
    assert nic["rxBytes"] >= 0 and nic["txDrops"] >= 0


def test_table_shows_the_domain_its_state_and_a_row_per_disk(host):
    result = diagnostics(GUEST)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{SYSTEM_URI} at ")
    assert any(line.startswith(f"{GUEST}  running  id ") for line in lines)
    [cpu] = [line for line in lines if line.startswith("  cpu ")]
    assert " s " in cpu or " ms " in cpu
    [vda] = [line.split() for line in lines if line.startswith("  vda ")]
    assert vda[-4:-2] == ["16.0", "MiB"]  # capacity, in human units
    assert any(line.startswith("  INTERFACE  MAC ") for line in lines)


def test_watch_prints_samples_and_the_rates_between_them(host):
    result = diagnostics(GUEST, "--watch", "1", "--count", "2")
    assert result.returncode == 0, result.stderr
    headings = [line for line in result.stdout.splitlines() if line.startswith(SYSTEM_URI)]
    assert len(headings) == 2
    interval = re.search(r"rates over the last (\d+\.\d) s$", headings[1])
    # At least the interval asked for; how much more depends on the machine's load (2.3 s
    # seen on a busy one), so no upper bound: this is no timing test.
    assert interval and float(interval[1]) >= 0.9
    assert "rates" not in headings[0]
    assert "% of one vCPU" in result.stdout
    [with_rates] = [line for line in result.stdout.splitlines() if line.startswith("  DISK")][1:]
    assert with_rates.split()[-2:] == ["READ/S", "WRITE/S"]


def test_watch_as_json_is_one_document_per_line_with_rates_after_the_first(host):
    result = diagnostics("--output", "json", GUEST, "--watch", "0.5", "--count", "2")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["intervalSeconds"] is None and first["domains"][0]["cpu"]["percent"] is None
    assert 0.4 < second["intervalSeconds"] < 1.5
    domain = second["domains"][0]
    assert 0 <= domain["cpu"]["percent"] <= 100 * 2  # QEMU's own threads count too
    assert domain["disks"]["vda"]["readBytesPerSecond"] >= 0
    [nic] = domain["interfaces"].values()
    assert nic["rxBytesPerSecond"] >= 0 and nic["txBytesPerSecond"] >= 0


def test_ctrl_c_ends_watch_with_exit_0_and_no_traceback(host):
    command = [sys.executable, "-m", "vmspec", "diagnostics", "-c", SYSTEM_URI, "--watch", "0.2"]
    process = subprocess.Popen(
        [*command, GUEST], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    assert process.stdout.readline().startswith(SYSTEM_URI)  # watching by now
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 0
    assert errors == ""


def test_a_stopped_domain_shows_its_state_and_no_numbers(host):
    [domain] = diagnostics_json(STOPPED)["domains"]
    assert domain["state"] == "stopped" and domain["id"] is None
    assert set(domain["cpu"].values()) == {None}
    assert set(domain["memory"].values()) == {None}
    assert domain["disks"] is None and domain["interfaces"] is None
    table = diagnostics(STOPPED).stdout.splitlines()
    assert table[-3:] == [f"{STOPPED}  stopped", "  cpu     -", "  memory  -"]


def test_an_unknown_name_is_an_error_that_names_it(libvirtd):
    name = f"{TEST_PREFIX}no-such-domain"
    result = diagnostics(name)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"vmspec: {name}: looking up the domain failed: no such domain on {SYSTEM_URI}"
    ]


def test_a_spec_directory_names_its_virtual_machines_in_file_order(host):
    document = diagnostics_json(str(host))
    assert [domain["name"] for domain in document["domains"]] == [GUEST, STOPPED]
    assert [domain["state"] for domain in document["domains"]] == ["running", "stopped"]


# The pure parts: no libvirtd needed.


def running(uuid: str, domain_id: int, cpu_ns: int, read_bytes: int) -> DomainStats:
    stats = {
        "state.state": 1,
        "cpu.time": cpu_ns,
        "vcpu.maximum": 1,
        "block.count": 1,
        "block.0.name": "vda",
        "block.0.rd.bytes": read_bytes,
    }
    return parse_stats("guest", uuid, domain_id, stats, {})


def test_rates_need_the_same_boot_and_counters_that_grow():
    before = Sample("test:///", 0.0, 10.0, (running("a", 1, 1_000_000_000, 4096),))
    after = Sample("test:///", 2.0, 12.0, (running("a", 1, 1_500_000_000, 1024),))
    [(uuid, rate)] = rates(before, after).items()
    assert uuid == "a" and rate.cpu_percent == pytest.approx(25.0)
    assert rate.disks["vda"] == (None, None)  # went down: reset, no negative rate
    restarted = Sample("test:///", 2.0, 12.0, (running("a", 2, 1_500_000_000, 8192),))
    assert rates(before, restarted) == {}


def test_stopped_domains_have_no_numbers_even_when_libvirt_gives_some():
    # libvirt 9.0 gives a shut-off domain libvirtd's own CPU time as cpu.time.
    stats = {"state.state": 5, "cpu.time": 10_900_000_000, "balloon.current": 65536}
    stopped = parse_stats("off", "b", -1, stats, {})
    assert stopped.state == "stopped" and stopped.cpu is None and stopped.memory is None


def test_human_units():
    assert [human_bytes(value) for value in (None, 0, 512, 1536, 3 * 2**30 // 2)] == [
        "-",
        "0 B",
        "512 B",
        "1.5 KiB",
        "1.5 GiB",
    ]
    assert [human_duration(value) for value in (None, 0, 140_000_000, 12_340_000_000)] == [
        "-",
        "0 s",
        "140 ms",
        "12.3 s",
    ]
