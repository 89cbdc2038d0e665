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
from vmspec.families.cpu import CPU_MODE_KVM, CPU_MODE_NESTED_KVM, CPU_MODE_TCG

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
