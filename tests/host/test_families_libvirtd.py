"""Every example of every registered family, as a running guest on the real libvirtd
(TCG) and as a definition on libvirt's test driver: apply takes it, and the plan right
after says "no changes" (what libvirt fills in is known to the family)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.families.test_registry import COMPANIONS, EXAMPLES, SURROUNDINGS
from tests.host.conftest import SYSTEM_URI, guest_spec, vmspec, write
from tests.host.test_apply_test_driver import apply, plan
from vmspec.families import memory_backing, memtune, numatune, smartcard, vsock
from vmspec.units import size_in_kib

# Examples whose guest cannot start on this machine, each with the true reason.
NOT_STARTABLE_HERE = {
    # Seen here: "cannot limit locked memory of process ... Operation not permitted" (libvirt
    # sets QEMU's locked-memory limit to the hard limit, which this libvirtd may not raise).
    **{
        f"memtune[{index}]": "libvirtd here may not raise QEMU's locked-memory limit to a hard limit"
        for index, example in enumerate(memtune.SCHEMA["examples"])
        if "hardLimit" in example
    },
    **(
        {}
        if shutil.which("numad")
        else {
            f"numatune[{index}]": "numad is not installed here, and libvirt asks it where to place the guest"
            for index, example in enumerate(numatune.SCHEMA["examples"])
            if example.get("placement") == "auto"
        }
    ),
    "disks[3]": "no NBD server listens here (nbd.example.net, /run/vmspec-example/nbd.sock)",
    "rng[1]": "/dev/hwrng is root's alone here (crw-------), and QEMU runs as libvirt-qemu",
    # QEMU's emulated card reads its certificates from an NSS database, which this
    # machine lacks ("ccid-card-emulated: failed to initialize vcard").
    **{
        f"smartcards[{index}]": "no NSS database with smartcard certificates at /etc/pki/nssdb here"
        for index, example in enumerate(smartcard.SCHEMA["examples"])
        if example[0]["mode"] != "passthrough" and not Path("/etc/pki/nssdb/cert9.db").exists()
    },
    **(
        {}
        if Path("/dev/vhost-vsock").exists()
        else {
            f"vsock[{index}]": "no /dev/vhost-vsock here (the vhost_vsock module is not loaded)"
            for index in range(len(vsock.SCHEMA["examples"]))
        }
    ),
    **(
        {}
        if Path("/sys/fs/selinux/enforce").exists()
        else {"seclabels[3]": "no SELinux here, so libvirtd has no selinux security driver"}
    ),
    "graphics[4]": "the default network here has no IP address for a display to listen on",
    "audio[3]": "no PulseAudio server runs here, and QEMU stops when it cannot reach one",
    **(
        {}
        if Path("/dev/dri").exists()
        else {"graphics[7]": "no GPU here: egl-headless needs /dev/dri"}
    ),
    **(
        {}
        if Path("/run/openvswitch/vhu0.sock").exists()
        else {"interfaces[6]": "no vhost-user switch listens here (/run/openvswitch/vhu0.sock)"}
    ),
    # libvirt limits a NIC's bandwidth with tc's htb and sfq qdiscs.
    **(
        {}
        if Path("/sys/module/sch_sfq").exists()
        else {
            "interfaces[10]": "this kernel has no sfq qdisc, which libvirt's bandwidth limits use"
        }
    ),
    # libvirt refuses a virtualport on a NAT network's port: only an Open vSwitch or
    # 802.1Qbh network takes one, and this machine has neither.
    "interfaces[17]": "the default network is NAT, which takes no virtualport",
    **(
        {}
        if " hugetlbfs " in Path("/proc/mounts").read_text()
        else {
            f"memoryBacking[{index}]": "no hugetlbfs is mounted here, so no huge pages to start on"
            for index, example in enumerate(memory_backing.SCHEMA["examples"])
            if example.get("hugepages")
        }
    ),
}


def _spec_text(name: str, field: str, value, state: str) -> str:
    around = dict(SURROUNDINGS.get(field, {}))
    vcpus, memory = around.pop("vcpus", 1), around.pop("memory", "64MiB")
    extra = {**COMPANIONS, **around, field: value}
    text = yaml.safe_dump(extra, sort_keys=False, default_flow_style=None)
    return guest_spec(name, text, state=state, memory=memory, vcpus=vcpus)


def _applied_then_planned(uri: str, path) -> None:
    applied = vmspec("apply", "-c", uri, str(path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    planned = vmspec("plan", "-c", uri, "--output", "json", str(path))
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert json.loads(planned.stdout)  # a plan was written, and it has no changes


# Examples that name something this machine lacks: plan must refuse them, saying so.
MISSING_HERE = {
    example_id: refusal
    for example_id, path, refusal in (
        ("tpm[3]", "/dev/tpm0", "tpm: /dev/tpm0 does not exist"),
        # A host's own SLIC table: on OEM machines that came with Windows only.
        ("acpiTables[0]", "/sys/firmware/acpi/tables/SLIC", "/sys/firmware/acpi/tables/SLIC"),
        (
            "inputs[3]",
            "/dev/input/event1234",
            "passthrough input: /dev/input/event1234 does not exist",
        ),
        ("inputs[4]", "/dev/input/event1234", "evdev input: /dev/input/event1234 does not exist"),
        ("audio[4]", "/dev/dsp1", "audio 1 output: /dev/dsp1 does not exist"),
        (
            "disks[1]",
            "/var/lib/libvirt/images/vmspec-example.qcow2",
            "disk vda: /var/lib/libvirt/images/vmspec-example.qcow2 does not exist",
        ),
        ("interfaces[1]", "/sys/class/net/br0", "the bridge 'br0' does not exist on this host"),
        ("hostdevs[0]", "/sys/bus/pci/devices/0000:03:00.0", "is not on the host"),
        ("hostdevs[1]", "/sys/bus/pci/devices/0000:81:00.1", "is not on the host"),
        (
            "hostdevs[2]",
            "/sys/bus/scsi/devices/0:0:0:1",
            "hostdev 1: /sys/bus/scsi/devices/0:0:0:1 does not exist",
        ),
        (
            "interfaces[4]",
            "/sys/class/net/tap-router",
            "interface 1: /sys/class/net/tap-router does not exist",
        ),
        ("interfaces[8]", "/sys/class/net/br-ovs", "the bridge 'br-ovs' does not exist"),
        ("interfaces[13]", "/sys/bus/pci/devices/0000:03:10.2", "interface 1: the PCI device"),
        ("interfaces[14]", "/dev/vhost-vdpa-0", "interface 1: /dev/vhost-vdpa-0 does not exist"),
        ("interfaces[15]", "/sys/bus/pci/devices/0000:03:10.3", "interface 2: the PCI device"),
    )
    if not Path(path).exists()
}


@pytest.fixture
def share_folders(family, example):
    """The folders a filesystem example shares, made for the test where missing."""
    made = []
    for share in example if family.spec_field == "filesystems" else ():
        folder = Path(share["source"])
        if not folder.exists():
            folder.mkdir(parents=True)
            made.append(folder)
    yield
    for folder in reversed(made):
        folder.rmdir()


@pytest.fixture
def backing_files(family, example):
    """The host files a memory device example maps into the guest (libvirt does not make
    them), made for the test at the device's size and removed after."""
    made = []
    for device in example if family.spec_field == "memoryDevices" else ():
        backing = Path(device.get("path", ""))
        if device.get("path") and not backing.exists():
            with backing.open("wb") as file:
                file.truncate(size_in_kib(device["size"]) * 1024)  # sparse
            made.append(backing)
    yield
    for backing in made:
        backing.unlink()


@pytest.mark.usefixtures("share_folders", "backing_files")
@pytest.mark.parametrize(("family", "example"), EXAMPLES)
def test_every_family_example_runs_on_the_real_libvirtd(system, tmp_path, family, example, request):
    example_id = request.node.callspec.id
    reason = NOT_STARTABLE_HERE.get(example_id)
    state = "stopped" if reason else "running"
    name = "family-" + example_id.replace("[", "-").replace("]", "").lower()
    path = write(tmp_path, name, _spec_text(name, family.spec_field, example, state))
    if example_id in MISSING_HERE:
        planned = vmspec("plan", "-c", SYSTEM_URI, str(path))
        assert planned.returncode == 1, planned.stdout + planned.stderr
        assert MISSING_HERE[example_id] in planned.stdout
        return
    _applied_then_planned(SYSTEM_URI, path)
    if reason:
        pytest.skip(f"defined and planned, not started: {reason}")


@pytest.mark.parametrize(("family", "example"), EXAMPLES)
def test_every_family_example_is_defined_on_the_test_driver(host, tmp_path, family, example):
    path = write(tmp_path, "example", _spec_text("example", family.spec_field, example, "stopped"))
    apply(host, path)
    second = plan(host, path)
    assert not second.has_changes, [(d.name, d.changes) for d in second.resources]
