"""Profiles (kind: Profile) laid under the VMs that list them: the merge rules, where
errors are located, and what compile and the ownership hash see."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from vmspec.compile import ValidDocuments, compile_paths


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def profile(name: str, spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return f"apiVersion: vmspec/v1\nkind: Profile\nmetadata:\n  name: {name}\nspec:\n{body}\n"


def machine(name: str, spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return (
        f"apiVersion: vmspec/v1\nkind: VirtualMachine\nmetadata:\n  name: {name}\nspec:\n{body}\n"
    )


BASE = profile(
    "base",
    """
    domainType: kvm
    memory: 2GiB
    vcpus: 2
    cpu: {mode: host-model, topology: {sockets: 1, cores: 2, threads: 1}}
    disks:
      - {target: vda, file: /var/lib/libvirt/images/base.qcow2, cache: none}
      - {target: vdb, file: /var/lib/libvirt/images/data.qcow2}
    interfaces:
      - {name: lan, network: default, model: virtio}
      - {bridge: br0}
    boot: [hd, network]
    """,
)


def merged_spec(tmp_path: Path, *texts: str) -> dict:
    paths = [write(tmp_path, f"{index}.yaml", text) for index, text in enumerate(texts)]
    documents = ValidDocuments(paths)
    found = [document.data["spec"] for document in documents]
    assert documents.problems == []
    (spec,) = found
    return spec


def problems(tmp_path: Path, *texts: str) -> list[str]:
    paths = [write(tmp_path, f"{index}.yaml", text) for index, text in enumerate(texts)]
    result = compile_paths(paths)
    return [
        f"{Path(problem.file).name}:{problem.line}:{problem.column}: {problem.message}"
        for problem in result.problems
    ]


def test_mappings_merge_deeply_and_scalars_are_replaced(tmp_path):
    spec = merged_spec(
        tmp_path, BASE, machine("web-01", "profiles: [base]\nvcpus: 4\ncpu: {topology: {cores: 4}}")
    )
    assert spec["cpu"] == {
        "mode": "host-model",
        "topology": {"sockets": 1, "cores": 4, "threads": 1},
    }
    assert spec["memory"] == "2GiB"


def test_disks_merge_by_target_and_new_targets_are_added(tmp_path):
    vm = machine(
        "web-01",
        """
        profiles: [base]
        disks:
          - {target: vdc, file: /var/lib/libvirt/images/logs.qcow2}
          - {target: vda, file: /var/lib/libvirt/images/web-01.qcow2}
        """,
    )
    spec = merged_spec(tmp_path, BASE, vm)
    assert spec["disks"] == [
        {"target": "vda", "file": "/var/lib/libvirt/images/web-01.qcow2", "cache": "none"},
        {"target": "vdb", "file": "/var/lib/libvirt/images/data.qcow2"},
        {"target": "vdc", "file": "/var/lib/libvirt/images/logs.qcow2"},
    ]


def test_interfaces_merge_by_name_and_unnamed_ones_by_position(tmp_path):
    vm = machine(
        "web-01",
        """
        profiles: [base]
        interfaces:
          - {name: lan, model: e1000e}
          - {model: e1000}
        """,
    )
    spec = merged_spec(tmp_path, BASE, vm)
    # The VM's second NIC has no name: it merges with the profile's second one.
    assert spec["interfaces"] == [
        {"name": "lan", "network": "default", "model": "e1000e"},
        {"bridge": "br0", "model": "e1000"},
    ]


def test_other_lists_are_replaced(tmp_path):
    spec = merged_spec(tmp_path, BASE, machine("web-01", "profiles: [base]\nboot: [cdrom]"))
    assert spec["boot"] == ["cdrom"]


def test_null_removes_an_inherited_value(tmp_path):
    vm = machine(
        "web-01",
        """
        profiles: [base]
        boot: null
        disks:
          - {target: vda, cache: null}
        """,
    )
    spec = merged_spec(tmp_path, BASE, vm)
    assert "boot" not in spec
    assert spec["disks"][0] == {"target": "vda", "file": "/var/lib/libvirt/images/base.qcow2"}


def test_a_null_with_nothing_to_remove_keeps_its_meaning(tmp_path):
    # A clock timer's null means "QEMU's own default" when no profile set the timer.
    vm = machine("web-01", "profiles: [base]\nclock: {timers: {hpet: null}}")
    assert merged_spec(tmp_path, BASE, vm)["clock"] == {"timers": {"hpet": None}}


def test_profiles_apply_in_order_then_profiles_of_profiles_then_the_vm(tmp_path):
    web = profile("web", "profiles: [base]\nvcpus: 4\nmemory: 4GiB")
    big = profile("big", "memory: 8GiB")
    vm = machine("web-01", "profiles: [web, big]\nvcpus: 2")
    spec = merged_spec(tmp_path, BASE, web, big, vm)
    assert (spec["memory"], spec["vcpus"], spec["domainType"]) == ("8GiB", 2, "kvm")
    # The VM keeps the list it wrote; a profile's own list is not merged into it.
    assert spec["profiles"] == ["web", "big"]


def test_profiles_are_found_in_files_given_after_the_vm(tmp_path):
    vm = write(tmp_path, "a-vm.yaml", machine("web-01", "profiles: [base]"))
    profiles = write(tmp_path, "profiles-base.yaml", BASE)
    result = compile_paths([tmp_path])
    assert result.problems == []
    assert [resource.name for resource in result.resources] == ["web-01"]
    assert compile_paths([vm, profiles]).resources == result.resources


def test_a_vm_with_profiles_compiles_as_if_it_said_everything_itself(tmp_path):
    (tmp_path / "split").mkdir()
    (tmp_path / "whole").mkdir()
    write(tmp_path / "split", "base.yaml", BASE)
    write(tmp_path / "split", "vm.yaml", machine("web-01", "profiles: [base]\nvcpus: 2"))
    # The same fields, written in the VM itself.
    whole = BASE.replace("kind: Profile", "kind: VirtualMachine").replace("base", "web-01", 1)
    write(tmp_path / "whole", "vm.yaml", whole)
    (split,) = compile_paths([tmp_path / "split"]).resources
    (written_out,) = compile_paths([tmp_path / "whole"]).resources
    assert split.xml == written_out.xml


def test_the_interface_name_never_reaches_the_xml(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "vm.yaml", machine("web-01", "profiles: [base]"))
    (domain,) = compile_paths([tmp_path]).resources
    assert b"lan" not in domain.xml


def test_a_profile_change_changes_the_ownership_hash(tmp_path):
    write(tmp_path, "vm.yaml", machine("web-01", "profiles: [base]"))
    write(tmp_path, "base.yaml", BASE)
    (before,) = compile_paths([tmp_path]).resources
    write(tmp_path, "base.yaml", BASE.replace("cache: none", "cache: writeback"))
    (after,) = compile_paths([tmp_path]).resources
    hash_of = re.compile(rb'hash="(sha256:[0-9a-f]+)"')
    assert hash_of.search(before.xml)[1] != hash_of.search(after.xml)[1]


def test_profiles_compile_to_nothing(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    result = compile_paths([tmp_path])
    assert (result.resources, result.problems, result.documents) == ([], [], 1)


def test_an_error_in_a_profiles_value_is_located_in_the_profiles_file(tmp_path):
    bad = BASE.replace("cache: none", "cache: nonee")
    found = problems(tmp_path, bad, machine("web-01", "profiles: [base]"))
    assert found == [
        "0.yaml:11:70: 'nonee' is not one of: none, writethrough, writeback, directsync, "
        "unsafe; did you mean 'none'?"
    ]


def test_a_semantic_error_across_layers_is_located_where_each_value_was_written(tmp_path):
    # The profile's vda reads a file; the VM's vda adds a volume: two sources.
    vm = machine(
        "web-01",
        """
        profiles: [base]
        disks:
          - target: vda
            volume: {pool: default, name: web-01.qcow2}
        """,
    )
    found = problems(tmp_path, BASE, vm)
    assert found == ["1.yaml:9:15: a disk has exactly one source, but sets both file and volume"]


def test_a_field_missing_after_the_merge_is_located_in_the_vm(tmp_path):
    found = problems(tmp_path, BASE, machine("web-01", "profiles: [base]\nmemory: null"))
    assert found == ["1.yaml:5:1: missing required field 'memory' in this mapping"]


def test_a_profile_may_leave_out_nested_required_fields(tmp_path):
    # An interface type is required of a NIC, but a VM may give it: a profile need not.
    nic = profile("nic", "interfaces: [{name: lan, model: virtio}]")
    vm = machine("web-01", "profiles: [base, nic]\ninterfaces: [{name: lan, network: default}]")
    assert merged_spec(tmp_path, BASE, nic, vm)["interfaces"][0] == {
        "name": "lan",
        "network": "default",
        "model": "virtio",
    }


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ("[bsae]", "1.yaml:6:14: unknown profile 'bsae'; did you mean 'base'?"),
        ("[xyz]", "1.yaml:6:14: unknown profile 'xyz'; profiles given: base"),
    ],
)
def test_an_unknown_profile_is_located_with_a_suggestion(tmp_path, listed, message):
    assert problems(tmp_path, BASE, machine("web-01", f"profiles: {listed}")) == [message]


def test_a_cycle_is_one_problem_however_many_vms_meet_it(tmp_path):
    one = profile("one", "profiles: [two]")
    two = profile("two", "profiles: [one]")
    vms = [machine(f"vm-{index}", "profiles: [one]") for index in range(3)]
    found = problems(tmp_path, one, two, *vms)
    assert found == ["1.yaml:6:14: profile 'one' includes itself: one → two → one"]


def test_a_cycle_in_a_profile_no_vm_uses_is_reported(tmp_path):
    assert problems(tmp_path, profile("solo", "profiles: [solo]")) == [
        "0.yaml:6:14: profile 'solo' includes itself: solo → solo"
    ]
