"""The cpu and clock families: how strictly libvirt checks a CPU (check) and whether a
model may fall back are said on import; what libvirt writes itself (the check of a
mode, QEMU's default model around a topology) is no loss; the <cpu> is lowered before
the NUMA cells that go inside it."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import MINIMAL_SPEC
from vmspec.families import clock
from vmspec.families.clock import Clock
from vmspec.families.cpu import Cpu, CpuTopology
from vmspec.lift.sources import lift_xml
from vmspec.lower import lower_virtual_machine


def domain(cpu: str, *, kind: str = "kvm", vcpus: int = 2) -> str:
    return (
        f"<domain type='{kind}'><name>cpu</name><memory unit='MiB'>128</memory>"
        f"<vcpu>{vcpus}</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
        f"{cpu}</domain>"
    )


@pytest.mark.parametrize(
    ("cpu", "spec"),
    [
        # libvirt 9.0's test suite: a TCG guest's custom model is checked none.
        (
            "<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>core2duo</model></cpu>",
            {"model": "core2duo", "check": "none"},
        ),
        (
            "<cpu mode='custom' match='exact' check='full'><model fallback='allow'>core2duo</model></cpu>",
            {"model": "core2duo", "fallback": "allow", "check": "full"},
        ),
        # libvirt writes check partial for host-model and none for host-passthrough.
        ("<cpu mode='host-model' check='partial'/>", None),
        ("<cpu mode='host-passthrough' check='none'/>", {"mode": "host-passthrough"}),
        ("<cpu mode='host-model' check='full'/>", {"check": "full"}),
        # A topology alone, as libvirt stores it: QEMU's default model written around it.
        (
            "<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model>"
            "<topology sockets='1' dies='1' cores='2' threads='1'/></cpu>",
            {"mode": "none", "topology": {"sockets": 1, "cores": 2, "threads": 1}},
        ),
    ],
)
def test_what_the_domain_says_of_its_cpu_imports_without_loss(cpu, spec):
    lifted = lift_xml(domain(cpu), "cpu")
    assert lifted.dropped == ()
    assert lifted.document["spec"].get("cpu") == spec


def test_a_model_without_check_or_fallback_takes_the_policys_and_says_so():
    lifted = lift_xml(domain("<cpu mode='custom'><model>core2duo</model></cpu>"), "cpu")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["cpu"] == {"model": "core2duo"}
    assert any("check" in added for added in lifted.added), lifted.added


def lowered(extra: str = "", **replacements: str):
    text = MINIMAL_SPEC
    for old, new in replacements.items():
        text = text.replace(old, new)
    return lower_virtual_machine(yaml.safe_load(text + extra))


def test_a_check_the_mode_has_anyway_is_not_written():
    kvm = {"domainType: qemu": "domainType: kvm"}
    assert lowered("  cpu: {mode: host-model, check: partial}\n", **kvm).cpu.check is None
    assert lowered("  cpu: {mode: host-model, check: full}\n", **kvm).cpu.check == "full"


def test_numa_cells_go_inside_the_cpu_lowered_before_them():
    cells = "  numa: [{cpus: '0', memory: 128MiB}]\n"
    topology = "  cpu: {mode: none, topology: {sockets: 1, cores: 1, threads: 1}}\n"
    cpu = lowered(cells + topology).cpu
    assert cpu.topology == CpuTopology(sockets=1, dies=1, cores=1, threads=1)
    assert [cell.cpus for cell in cpu.numa.cells] == ["0"]
    assert cpu.mode is None and cpu.model is None
    assert lowered(cells).cpu == Cpu(numa=cpu.numa)


@pytest.mark.parametrize(
    ("cpu", "spec"),
    [
        # libvirt writes migratable on where QEMU knows the property, off where not:
        # either is the default, so only a domain's own off is said.
        (
            "<cpu mode='host-passthrough' check='none' migratable='on'/>",
            {"mode": "host-passthrough"},
        ),
        (
            "<cpu mode='host-passthrough' check='none' migratable='off'/>",
            {"mode": "host-passthrough", "migratable": False},
        ),
        (
            "<cpu mode='host-passthrough' check='none'><cache mode='passthrough'/>"
            "<maxphysaddr mode='passthrough'/></cpu>",
            {"mode": "host-passthrough", "cache": "passthrough", "maxphysaddr": "passthrough"},
        ),
        (
            "<cpu mode='host-model' check='partial'><cache level='3' mode='emulate'/>"
            "<maxphysaddr mode='emulate' bits='42'/></cpu>",
            {"cache": "emulate", "maxphysaddr": 42},
        ),
    ],
)
def test_the_host_cpus_own_settings_import_without_loss(cpu, spec):
    lifted = lift_xml(domain(cpu), "cpu")
    assert lifted.dropped == ()
    assert lifted.document["spec"].get("cpu") == spec


@pytest.mark.parametrize(
    ("clock", "spec"),
    [
        # libvirt writes a variable clock's adjustment and basis where none are given.
        ("<clock offset='variable' adjustment='0' basis='utc'/>", {"offset": "variable"}),
        (
            "<clock offset='variable' adjustment='-60' basis='localtime'/>",
            {"offset": "variable", "adjustment": -60, "basis": "localtime"},
        ),
        ("<clock offset='utc' adjustment='reset'/>", {"adjustment": "reset"}),
        (
            "<clock offset='absolute' start='253402300799'/>",
            {"offset": "absolute", "start": 253402300799},
        ),
        (
            "<clock offset='utc'><timer name='rtc' tickpolicy='catchup' track='realtime'>"
            "<catchup slew='4636'/></timer></clock>",
            {"rtc": {"tickpolicy": "catchup", "track": "realtime", "catchup": {"slew": 4636}}},
        ),
    ],
)
def test_what_the_domain_says_of_its_clock_imports_without_loss(clock, spec):
    lifted = lift_xml(domain(clock), "clock")
    assert lifted.dropped == ()
    said = lifted.document["spec"]["clock"]
    if "rtc" in spec:  # the timer, among the policy's timers the domain lacks (null)
        assert said["timers"]["rtc"] == spec["rtc"]
    else:
        assert {key: said[key] for key in spec} == spec


def test_a_variable_clock_the_guest_moved_is_no_change_while_it_runs():
    wanted = Clock(offset="variable", adjustment="0", basis="utc")
    running = Clock(offset="variable", adjustment="3600", basis="utc")
    assert clock.as_started(running, wanted) == wanted


def test_a_power_host_model_in_an_older_generations_mode_imports_without_loss():
    xml = (
        "<domain type='kvm'><name>compat</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>"
        "<os><type arch='ppc64' machine='pseries'>hvm</type></os>"
        "<cpu mode='host-model' check='partial'><model fallback='allow'>power9</model></cpu>"
        "</domain>"
    )
    lifted = lift_xml(xml, "compat")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["cpu"] == {"mode": "host-model", "model": "power9"}


def test_a_host_models_bare_fallback_and_an_empty_cpu_are_libvirts_defaults():
    hand_written = "<cpu mode='host-model'><model fallback='allow'/></cpu>"
    assert lift_xml(domain(hand_written), "cpu").dropped == ()
    assert lift_xml(domain("<cpu/>", kind="qemu"), "cpu").dropped == ()


def test_emulated_address_bits_without_a_number_are_reported_not_guessed():
    cpu = "<cpu mode='host-passthrough'><maxphysaddr mode='emulate'/></cpu>"
    dropped = lift_xml(domain(cpu), "cpu").dropped
    assert any(item.startswith("/domain/cpu/maxphysaddr: emulate without bits") for item in dropped)


def test_an_adjustment_that_is_no_number_is_reported_not_a_traceback():
    lifted = lift_xml(domain("<clock offset='variable' adjustment='soon' basis='utc'/>"), "clock")
    assert any("spec.clock.adjustment" in item for item in lifted.dropped), lifted.dropped
