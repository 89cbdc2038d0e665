"""vmspec explain: each resolved value with the file and line that wrote it, or the
policy rule that set it and why; the same values compile writes."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from tests.test_profiles import BASE, machine, profile, write
from vmspec.cli import main
from vmspec.compile import ValidDocuments, compile_paths
from vmspec.explain import explain, parse_field
from vmspec.families.clock import VARIABLE_REASON
from vmspec.families.controller import INDEX_REASON, PCI_ROOT_REASON, USB_REASON
from vmspec.families.cpu import CPU_MODE_KVM, CPU_MODE_NESTED_KVM, CPU_MODE_TCG
from vmspec.families.disk.policy import (
    BUS_REASON,
    CDROM_READONLY_REASON,
    FLOPPY_BUS_REASON,
    QCOW2_REASON,
    RAW_REASON,
)
from vmspec.families.hostdev import MANAGED_REASON, MDEV_MODEL_REASON
from vmspec.families.hyperv import HYPERV_REASON
from vmspec.families.input import BUS_REASON as INPUT_BUS_REASON
from vmspec.families.iothreads import COUNT_REASON
from vmspec.families.numatune import MODE_REASON as NUMA_MODE_REASON
from vmspec.families.numatune import PLACEMENT_REASON as NUMA_PLACEMENT_REASON

VM = machine(
    "web-01",
    """
    profiles: [base]
    memory: 4GiB
    disks:
      - {target: vda, cache: writeback}
    """,
)


def run(*arguments: str):
    return CliRunner().invoke(main, ["explain", *arguments], catch_exceptions=False)


@pytest.fixture
def specs(tmp_path):
    write(tmp_path, "vm.yaml", VM)
    write(tmp_path, "profiles-base.yaml", BASE)
    return tmp_path


def the_vm(folder, *, nested_kvm_host=False):
    (document,) = list(ValidDocuments([folder]))
    return explain(document, nested_kvm_host=nested_kvm_host)


def test_each_value_names_the_file_and_line_that_wrote_it(specs):
    origins = the_vm(specs).origins
    vm, base = specs / "vm.yaml", specs / "profiles-base.yaml"
    assert origins[("spec", "memory")] == f"{vm}:7"
    assert origins[("spec", "vcpus")] == f"{base}:8"
    # One disk, two files: the VM's cache, the profile's file.
    assert origins[("spec", "disks", 0, "cache")] == f"{vm}:9"
    assert origins[("spec", "disks", 0, "file")] == f"{base}:11"
    assert origins[("spec", "boot")] == f"{base}:16"


@pytest.mark.parametrize(
    ("domain_type", "nested", "mode", "reason"),
    [
        ("kvm", False, "host-model", CPU_MODE_KVM),
        ("kvm", True, "none", CPU_MODE_NESTED_KVM),
        ("qemu", False, "none", CPU_MODE_TCG),
    ],
)
def test_the_cpu_mode_the_policy_chose_says_why(tmp_path, domain_type, nested, mode, reason):
    text = machine("web-01", f"domainType: {domain_type}\nmemory: 1GiB\nvcpus: 1")
    write(tmp_path, "vm.yaml", text)
    explanation = the_vm(tmp_path, nested_kvm_host=nested)
    assert explanation.data["spec"]["cpu"]["mode"] == mode
    assert explanation.origins[("spec", "cpu", "mode")] == f"policy: {reason}"


def test_a_value_the_spec_wrote_is_not_a_default(specs):
    # The profile says mode host-model itself: a file, not the policy, is its origin.
    assert the_vm(specs).origins[("spec", "cpu", "mode")].endswith("profiles-base.yaml:9")


def test_the_defaults_shown_are_those_compile_writes(specs):
    explanation = the_vm(specs)
    (domain,) = compile_paths([specs]).resources
    uuid = explanation.data["metadata"]["uuid"]
    macs = [nic["mac"] for nic in explanation.data["spec"]["interfaces"]]
    assert f"<uuid>{uuid}</uuid>".encode() in domain.xml
    assert re.findall(rb'<mac address="([^"]+)"', domain.xml) == [mac.encode() for mac in macs]
    timers = explanation.data["spec"]["clock"]["timers"]
    assert timers["hpet"] == {"present": False}
    assert b'<timer name="hpet" present="no"/>' in domain.xml


def test_the_whole_spec_is_shown_with_comments(specs):
    result = run(str(specs))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(
        re.fullmatch(rf"  memory: 4GiB +# {re.escape(str(specs))}/vm.yaml:7", line)
        for line in lines
    )
    assert any(
        line.startswith("  boot: [hd, network]") and line.endswith("profiles-base.yaml:16")
        for line in lines
    )
    assert any(re.match(r"\s+offset: utc +# policy: everyone but Windows", line) for line in lines)


def test_a_list_the_policy_adds_shows_its_reason_once(tmp_path):
    display = "graphics: [{type: vnc}]\nmemballoon: {model: none}"
    write(
        tmp_path,
        "vm.yaml",
        machine("web-01", f"domainType: kvm\nmemory: 1GiB\nvcpus: 1\n{display}"),
    )
    lines = run(str(tmp_path)).output.splitlines()
    inputs = next(index for index, line in enumerate(lines) if line.startswith("  inputs:"))
    assert lines[inputs].endswith(
        "# policy: an absolute-pointing USB tablet keeps the VNC/SPICE "
        "pointer where the client's mouse is (a PS/2 mouse moves "
        "relatively and drifts)"
    )
    assert [line.split() for line in lines[inputs + 1 : inputs + 3]] == [
        ["-", "type:", "tablet"],
        ["bus:", "usb"],
    ]
    # A balloon the spec turned off is the spec's, not the policy's.
    assert not any("the balloon reports" in line for line in lines)


def test_one_field(specs):
    result = run(str(specs), "web-01", "--field", "spec.disks[0].cache")
    assert result.output.split() == ["spec.disks[0].cache:", "writeback", "#", f"{specs}/vm.yaml:9"]
    result = run(str(specs), "--field", "spec.disks[1]")
    assert "spec.disks[1]:" in result.output and "data.qcow2" in result.output
    unset = run(str(specs), "--field", "spec.disks[0].iotune")
    assert "not set" in unset.output
    # A value inside a mapping the policy set as a whole has that mapping's reason.
    timer = run(str(specs), "--field", "spec.clock.timers.hpet.present")
    assert timer.output.startswith("spec.clock.timers.hpet.present: false")
    assert "# policy: HPET emulation costs CPU" in timer.output


def test_a_host_read_with_c_counts(specs):
    # The test driver's host is no VM: the default stays host-model.
    result = run(str(specs), "-c", "test:///default", "--field", "spec.clock.offset")
    assert result.output.splitlines()[0] == "# host test:///default: not a VM"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("spec.disks[0].cache", ("spec", "disks", 0, "cache")),
        ("spec.clock.timers.rtc", ("spec", "clock", "timers", "rtc")),
        ("metadata", ("metadata",)),
    ],
)
def test_field_paths_are_read_as_the_errors_write_them(text, path):
    assert parse_field(text) == path


@pytest.mark.parametrize("text", ["spec..cache", "spec.disks[x]", "spec.disks0]", "[0]spec"])
def test_a_malformed_field_path_is_refused(specs, text):
    with pytest.raises(ValueError, match="is not a field path"):
        parse_field(text)
    assert run(str(specs), "--field", text).exit_code == 1


def test_a_name_is_needed_among_several_vms(specs):
    write(specs, "other.yaml", machine("db-01", "profiles: [base]"))
    result = CliRunner().invoke(main, ["explain", str(specs)])
    assert result.exit_code == 1
    assert "name one of: db-01, web-01" in result.stderr
    assert run(str(specs), "db-01").exit_code == 0
    assert "no VM named 'nope'" in CliRunner().invoke(main, ["explain", str(specs), "nope"]).stderr
    typo = CliRunner().invoke(main, ["explain", str(specs), "web01"])
    assert typo.stderr.endswith("; did you mean 'web-01'?\n")


def test_a_broken_profile_is_reported_not_explained(specs):
    write(specs, "profiles-base.yaml", BASE.replace("vcpus: 2", "vcpus: two"))
    result = CliRunner().invoke(main, ["explain", str(specs)])
    assert result.exit_code == 1
    assert "profiles-base.yaml:8:10: spec.vcpus" in result.stderr


def test_profiles_of_profiles_are_explained_to_the_one_that_wrote_the_value(tmp_path):
    write(tmp_path, "a.yaml", profile("web", "profiles: [base]\nvcpus: 4\ncpu: null"))
    write(tmp_path, "b.yaml", BASE)
    write(tmp_path, "c.yaml", machine("web-01", "profiles: [web]"))
    origins = the_vm(tmp_path).origins
    assert origins[("spec", "vcpus")] == f"{tmp_path / 'a.yaml'}:7"
    assert origins[("spec", "memory")] == f"{tmp_path / 'b.yaml'}:7"
    assert origins[("spec", "cpu", "mode")] == f"policy: {CPU_MODE_KVM}"


def _explained(tmp_path, spec: str, *, nested_kvm_host: bool = False):
    write(tmp_path, "vm.yaml", machine("web-01", spec))
    return the_vm(tmp_path, nested_kvm_host=nested_kvm_host)


def _default(explanation, path: tuple) -> tuple:
    value = explanation.data
    for part in path:
        value = value[part]
    return value, explanation.origins[path]


DISKS = """
domainType: kvm
memory: 1GiB
vcpus: 1
disks:
  - {target: vda, file: /images/root.qcow2}
  - {target: vdb, file: /images/data.img, bus: scsi}
  - {target: fda, device: floppy, file: /images/boot.img}
  - {target: sda, device: cdrom, bus: sata, volume: {pool: isos, name: debian.iso}}
  - target: vdc
    file: /images/overlay.qcow2
    backingStore: {file: /images/base.qcow2, backingStore: {file: /images/raw-base}}
"""


def test_a_disk_bus_the_spec_leaves_out_is_virtio_and_a_floppy_s_is_fdc(tmp_path):
    explanation = _explained(tmp_path, DISKS)
    assert _default(explanation, ("spec", "disks", 0, "bus")) == ("virtio", f"policy: {BUS_REASON}")
    assert _default(explanation, ("spec", "disks", 2, "bus")) == (
        "fdc",
        f"policy: {FLOPPY_BUS_REASON}",
    )
    # A bus the spec names is the spec's.
    assert explanation.origins[("spec", "disks", 1, "bus")] == f"{tmp_path / 'vm.yaml'}:11"


def test_a_disk_format_follows_its_image_name_down_the_backing_chain(tmp_path):
    explanation = _explained(tmp_path, DISKS)
    disks = ("spec", "disks")
    assert _default(explanation, (*disks, 0, "format")) == ("qcow2", f"policy: {QCOW2_REASON}")
    assert _default(explanation, (*disks, 1, "format")) == ("raw", f"policy: {RAW_REASON}")
    # A volume's name says it as a file's does.
    assert _default(explanation, (*disks, 3, "format")) == ("raw", f"policy: {RAW_REASON}")
    chain = (*disks, 4, "backingStore")
    assert _default(explanation, (*chain, "format")) == ("qcow2", f"policy: {QCOW2_REASON}")
    assert _default(explanation, (*chain, "backingStore", "format")) == (
        "raw",
        f"policy: {RAW_REASON}",
    )


def test_a_cdrom_is_explained_read_only_and_a_disk_a_disk(tmp_path):
    explanation = _explained(tmp_path, DISKS)
    assert _default(explanation, ("spec", "disks", 3, "readonly")) == (
        True,
        f"policy: {CDROM_READONLY_REASON}",
    )
    assert ("spec", "disks", 0, "readonly") not in explanation.origins
    assert _default(explanation, ("spec", "disks", 0, "device"))[0] == "disk"


@pytest.mark.parametrize(("machine_type", "model"), [("q35", "qemu-xhci"), ("pc", "piix3-uhci")])
def test_the_usb_controller_usb_redirection_needs_follows_the_machine(
    tmp_path, machine_type, model
):
    explanation = _explained(
        tmp_path,
        f"domainType: kvm\nmachine: {machine_type}\nmemory: 1GiB\nvcpus: 1\n"
        "graphics: [{type: spice}]\nusbRedirection: 2",
    )
    controller, origin = _default(explanation, ("spec", "controllers", 0))
    assert controller == {"type": "usb", "model": model}
    assert origin == f"policy: {USB_REASON}"
    (domain,) = compile_paths([tmp_path]).resources
    assert f'<controller type="usb" index="0" model="{model}"/>'.encode() in domain.xml


def test_a_usb_controller_the_policy_adds_shows_its_reason_on_its_item(tmp_path):
    write(
        tmp_path,
        "vm.yaml",
        machine(
            "web-01",
            "domainType: kvm\nmachine: q35\nmemory: 1GiB\nvcpus: 1\n"
            "graphics: [{type: spice}]\nusbRedirection: 1\n"
            "controllers: [{type: pci, pcihole64: 1GiB}]",
        ),
    )
    lines = run(str(tmp_path), "--field", "spec.controllers").output.splitlines()
    assert lines[0] == "spec.controllers:"
    assert lines[1].split("#")[0].split() == ["-", "type:", "pci"]
    model = next(line for line in lines if "model: pcie-root" in line)
    assert model.endswith(f"# policy: {PCI_ROOT_REASON}")
    usb = next(index for index, line in enumerate(lines) if "type: usb" in line)
    assert lines[usb].endswith(f"# policy: {USB_REASON}")
    assert lines[usb].split("#")[0].split() == ["-", "type:", "usb"]
    assert lines[usb + 1].split() == ["model:", "qemu-xhci"]


def test_an_input_s_bus_says_why_where_it_is_a_choice(tmp_path):
    explanation = _explained(
        tmp_path,
        "domainType: kvm\nmemory: 1GiB\nvcpus: 1\n"
        "inputs: [{type: keyboard}, {type: passthrough, source: /dev/input/event3}]",
    )
    assert _default(explanation, ("spec", "inputs", 0, "bus")) == (
        "usb",
        f"policy: {INPUT_BUS_REASON}",
    )
    # A passed-through device's bus is no choice: the spec has no word for it.
    assert ("spec", "inputs", 1, "bus") not in explanation.origins


@pytest.mark.parametrize(
    ("os_type", "domain_type", "hyperv"),
    [("windows", "kvm", True), ("windows", "qemu", False), ("linux", "kvm", False)],
)
def test_hyperv_enlightenments_are_explained_for_windows_on_kvm(
    tmp_path, os_type, domain_type, hyperv
):
    explanation = _explained(
        tmp_path, f"domainType: {domain_type}\nosType: {os_type}\nmemory: 4GiB\nvcpus: 2"
    )
    path = ("spec", "features", "hyperv")
    if not hyperv:
        assert path not in explanation.origins
        return
    enlightenments, origin = _default(explanation, path)
    assert origin == f"policy: {HYPERV_REASON}"
    assert enlightenments["relaxed"] is True and enlightenments["spinlocks"] == 8191
    (domain,) = compile_paths([tmp_path]).resources
    assert b'<spinlocks state="on" retries="8191"/>' in domain.xml


def test_hyperv_on_a_host_read_with_c_is_the_policy_s(specs):
    vm = VM.replace("memory: 4GiB", "memory: 4GiB\n  osType: windows")
    write(specs, "vm.yaml", vm)
    result = run(str(specs), "-c", "test:///default", "--field", "spec.features.hyperv")
    lines = result.output.splitlines()
    assert lines[0] == "# host test:///default: not a VM"
    assert lines[1] == f"spec.features.hyperv:{' ' * 21}  # policy: {HYPERV_REASON}"
    assert "  relaxed: true" in lines


def test_a_hyperv_set_the_spec_writes_is_the_spec_s(specs):
    vm = VM.replace("memory: 4GiB", "memory: 4GiB\n  osType: windows\n  features: {hyperv: {}}")
    write(specs, "vm.yaml", vm)
    assert the_vm(specs).origins[("spec", "features", "hyperv")].endswith("vm.yaml:9")


NUMA = """
domainType: kvm
memory: 2GiB
vcpus: 2
numa:
  - {cpus: "0", memory: 1GiB}
  - {cpus: "1", memory: 1GiB}
"""


def test_numatune_s_mode_is_explained_strict_for_all_memory_and_each_cell(tmp_path):
    explanation = _explained(
        tmp_path,
        NUMA + "numatune: {nodeset: '0-1', memnodes: [{cellid: 1, nodeset: '1'}]}",
    )
    assert _default(explanation, ("spec", "numatune", "mode")) == (
        "strict",
        f"policy: {NUMA_MODE_REASON}",
    )
    assert _default(explanation, ("spec", "numatune", "memnodes", 0, "mode"))[0] == "strict"
    assert ("spec", "numatune", "placement") not in explanation.origins


def test_numad_s_memory_placement_follows_the_vcpus(tmp_path):
    explanation = _explained(tmp_path, NUMA + "cpuset: auto")
    assert _default(explanation, ("spec", "numatune", "placement")) == (
        "auto",
        f"policy: {NUMA_PLACEMENT_REASON}",
    )
    assert _default(explanation, ("spec", "numatune", "mode"))[0] == "strict"
    (domain,) = compile_paths([tmp_path]).resources
    assert b'<memory mode="strict" placement="auto"/>' in domain.xml


def test_a_numa_guest_without_numatune_has_no_numatune_default(tmp_path):
    origins = _explained(tmp_path, NUMA).origins
    assert not any(path[:2] == ("spec", "numatune") for path in origins)


@pytest.mark.parametrize(
    ("spec", "path", "value", "reason"),
    [
        (
            "controllers: [{type: scsi, model: virtio-scsi}, {type: scsi, model: virtio-scsi}]",
            ("spec", "controllers", 1, "index"),
            1,
            INDEX_REASON,
        ),
        (
            "hostdevs: [{mdev: {uuid: c2177883-f1bb-47f0-914d-32a22e3a8804}}]",
            ("spec", "hostdevs", 0, "mdev", "model"),
            "vfio-pci",
            MDEV_MODEL_REASON,
        ),
        (
            "hostdevs: [{pci: {address: '0000:03:00.0'}}]",
            ("spec", "hostdevs", 0, "managed"),
            True,
            MANAGED_REASON[True],
        ),
        ("iothreadids: [{id: 4}, {id: 7}]", ("spec", "iothreads"), 2, COUNT_REASON),
        (
            "clock: {offset: variable}",
            ("spec", "clock", "basis"),
            "utc",
            VARIABLE_REASON,
        ),
    ],
)
def test_defaults_no_example_writes_are_explained_too(tmp_path, spec, path, value, reason):
    explanation = _explained(tmp_path, f"domainType: kvm\nmemory: 1GiB\nvcpus: 1\n{spec}")
    assert _default(explanation, path) == (value, f"policy: {reason}")
