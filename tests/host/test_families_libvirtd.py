"""Every example of every registered family, as a running guest on the real libvirtd
(TCG) and as a definition on libvirt's test driver: apply takes it, and the plan right
after says "no changes" (what libvirt fills in is known to the family)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.families.test_registry import COMPANIONS, EXAMPLES, SURROUNDINGS
from tests.host.conftest import SYSTEM_URI, guest_spec, vmspec, write
from tests.host.test_apply_test_driver import apply, plan
from vmspec.families import memory_backing

# Examples whose guest cannot start on this machine, each with the true reason.
NOT_STARTABLE_HERE = {
    "disks[3]": "no NBD server listens here (nbd.example.net, /run/vmspec-example/nbd.sock)",
    "rng[1]": "/dev/hwrng is root's alone here (crw-------), and QEMU runs as libvirt-qemu",
    **(
        {}
        if Path("/run/openvswitch/vhu0.sock").exists()
        else {"interfaces[6]": "no vhost-user switch listens here (/run/openvswitch/vhu0.sock)"}
    ),
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
        (
            "disks[1]",
            "/var/lib/libvirt/images/vmspec-example.qcow2",
            "disk vda: /var/lib/libvirt/images/vmspec-example.qcow2 does not exist",
        ),
        ("interfaces[1]", "/sys/class/net/br0", "the bridge 'br0' does not exist on this host"),
        ("hostdevs[0]", "/sys/bus/pci/devices/0000:03:00.0", "is not on the host"),
        ("hostdevs[1]", "/sys/bus/pci/devices/0000:81:00.1", "is not on the host"),
        (
            "interfaces[4]",
            "/sys/class/net/tap-router",
            "interface 1: /sys/class/net/tap-router does not exist",
        ),
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


@pytest.mark.usefixtures("share_folders")
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
