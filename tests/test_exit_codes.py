"""One exit-code table for every command: 0 ok, 1 anything wrong (usage errors
included), 2 only from plan with changes pending, so a CI gate reads 2 as changes."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES, MINIMAL_SPEC, vmspec, write_spec

pytest.importorskip("libvirt", reason="plan needs libvirt-python, the optional 'libvirt' extra")


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "/nonexistent/specs"),
        ("plan", "--bogus-option", str(EXAMPLES)),
        ("plan",),
        ("apply", "/nonexistent/specs"),
        ("destroy", "/nonexistent/specs"),
        ("plan", "-c", "test:///default", "--prune", "--target", "web-01", str(EXAMPLES)),
        ("plan", "-c", "test:///default", "--target", "disk/x", str(EXAMPLES)),
        ("compile", "--prune", str(EXAMPLES)),
        ("nosuchcommand",),
    ],
)
def test_usage_errors_exit_1_never_2(args):
    result = vmspec(*args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_plan_exits_2_with_changes_and_0_without(tmp_path):
    spec = write_spec(tmp_path, MINIMAL_SPEC)
    # Each process opens test:///default afresh, so the VM is always still to create.
    assert vmspec("plan", "-c", "test:///default", str(spec)).returncode == 2
    same = vmspec("plan", "-c", "test:///default", "--target", "tiny", str(spec))
    assert same.returncode == 2
    unknown = vmspec("plan", "-c", "test:///default", "--target", "nope", str(spec))
    assert unknown.returncode == 1
    assert "--target domain/nope: no spec describes it" in unknown.stderr


def test_plan_exits_1_when_something_is_refused(tmp_path):
    spec = write_spec(tmp_path, MINIMAL_SPEC + "  interfaces: [{network: nowhere}]\n")
    result = vmspec("plan", "-c", "test:///default", str(spec))
    assert result.returncode == 1
    assert (
        "! tiny: refused: interface 1: the network 'nowhere' is neither in the specs nor on the host"
        in result.stdout
    )


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            "  disks: [{target: vda, volume: {pool: default, name: shared.img, create: {capacity: 1GiB}}}]\n",
            "the volume default/shared.img is already created by the VM 'tiny'",
        ),
        (
            '  interfaces: [{network: default, mac: "52:54:00:aa:bb:cc"}]\n',
            "the MAC address 52:54:00:aa:bb:cc is already used by the VM 'tiny'",
        ),
    ],
)
def test_plan_apply_and_validate_refuse_the_same_cross_spec_conflicts(tmp_path, second, message):
    write_spec(tmp_path, MINIMAL_SPEC + second, "a.yaml")
    write_spec(tmp_path, MINIMAL_SPEC.replace("name: tiny", "name: other") + second, "b.yaml")
    for command in (
        ("validate",),
        ("plan", "-c", "test:///default"),
        ("apply", "-c", "test:///default"),
    ):
        result = vmspec(*command, str(tmp_path))
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert message in result.stderr, (command, result.stderr)
