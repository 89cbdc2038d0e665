"""The policy defaults, one behaviour per test."""

from __future__ import annotations

import yaml

from tests.conftest import MINIMAL_SPEC
from vmspec.families.clock import Timer
from vmspec.lower import lower_virtual_machine
from vmspec.lower.identity import domain_uuid, interface_macs


def lowered(extra: str = "", **replacements: str):
    text = MINIMAL_SPEC
    for old, new in replacements.items():
        text = text.replace(old, new)
    return lower_virtual_machine(yaml.safe_load(text + extra))


def test_kvm_without_cpu_gets_host_model():
    assert lowered(**{"domainType: qemu": "domainType: kvm"}).cpu.mode == "host-model"


def test_tcg_without_cpu_gets_no_cpu_element():
    assert lowered().cpu is None


def test_mode_none_emits_no_cpu_even_on_kvm():
    assert lowered("  cpu: {mode: none}\n", **{"domainType: qemu": "domainType: kvm"}).cpu is None


def test_a_model_alone_means_custom_and_forbids_fallback():
    cpu = lowered("  cpu: {model: Westmere, features: {vmx: disable, aes: require}}\n").cpu
    assert (cpu.mode, cpu.match, cpu.model.name, cpu.model.fallback) == (
        "custom",
        "exact",
        "Westmere",
        "forbid",
    )
    assert [(f.name, f.policy) for f in cpu.features] == [("aes", "require"), ("vmx", "disable")]


def test_linux_clock_policy():
    clock = lowered().clock
    assert clock.offset == "utc"
    assert clock.timers == (  # virt-install's order, so adopting its VMs changes nothing
        Timer(name="rtc", tickpolicy="catchup"),
        Timer(name="pit", tickpolicy="delay"),
        Timer(name="hpet", present=False),
    )


def test_windows_on_kvm_gets_localtime_hypervclock_and_enlightenments():
    domain = lowered("  osType: windows\n", **{"domainType: qemu": "domainType: kvm"})
    assert domain.clock.offset == "localtime"
    assert Timer(name="hypervclock", present=True) in domain.clock.timers
    assert domain.features.hyperv.relaxed.state is True
    assert domain.features.hyperv.spinlocks.retries == 8191


def test_windows_under_tcg_gets_no_hyperv_features_tcg_lacks():
    domain = lowered("  osType: windows\n")
    assert domain.clock.offset == "localtime"
    assert domain.features.hyperv is None
    assert all(timer.name != "hypervclock" for timer in domain.clock.timers)


def test_clock_override_replaces_only_the_timers_it_names():
    clock = lowered("  clock: {offset: localtime, timers: {hpet: {present: true}}}\n").clock
    assert clock.offset == "localtime"
    assert Timer(name="hpet", present=True) in clock.timers
    assert Timer(name="pit", tickpolicy="delay") in clock.timers


def test_x86_gets_acpi_and_apic_unless_turned_off():
    assert (lowered().features.acpi, lowered().features.apic is not None) == (True, True)
    features = lowered("  features: {acpi: false}\n").features
    assert (features.acpi, features.apic is not None) == (False, True)


def test_graphics_bring_a_tablet_and_a_video_device():
    devices = lowered("  graphics: [{type: vnc}]\n").devices
    assert [(i.type, i.bus) for i in devices.inputs] == [("tablet", "usb")]
    assert devices.videos[0].model.type == "virtio"
    headless = lowered().devices
    assert headless.inputs == () and headless.videos == ()


def test_uuid_is_derived_from_the_name_unless_given():
    assert lowered().uuid == domain_uuid("tiny")
    assert domain_uuid("tiny") != domain_uuid("tiny2")
    given = "4DEA22B3-1D52-D8F3-2516-782E98AB3FA0"
    assert lowered(**{"name: tiny": f"name: tiny\n  uuid: {given}"}).uuid == given.lower()


def test_derived_macs_are_stable_unique_and_skip_explicit_ones():
    uuid = domain_uuid("tiny")
    first = interface_macs(uuid, [None, None, None])
    assert first == interface_macs(uuid, [None, None, None])
    assert len(set(first)) == 3 and all(mac.startswith("52:54:00:") for mac in first)
    # An explicit MAC equal to a derived one pushes the derived NIC to the next candidate.
    with_explicit = interface_macs(uuid, [None, first[0].upper()])
    assert with_explicit[1] == first[0] and with_explicit[0] != first[0]


def test_disk_format_follows_the_file_name_when_not_given():
    extra = "  disks:\n    - {target: vda, file: /a.qcow2}\n    - {target: vdb, file: /b.img}\n"
    disks = lowered(extra).devices.disks
    assert [disk.driver.type for disk in disks] == ["qcow2", "raw"]


def test_a_cdrom_is_always_readonly():
    disk = lowered("  disks:\n    - {target: sda, bus: sata, device: cdrom}\n").devices.disks[0]
    assert disk.readonly and disk.source is None


def test_the_first_serial_is_mirrored_as_console():
    devices = lowered("  serials: [{type: pty}, {type: file, path: /tmp/x.log}]\n").devices
    assert [serial.target.port for serial in devices.serials] == [0, 1]
    assert [(c.type, c.target.type, c.target.port) for c in devices.consoles] == [
        ("pty", "serial", 0)
    ]


def test_memory_is_written_in_kib():
    domain = lowered(**{"memory: 128MiB": "memory: 1.5GiB"})
    assert (domain.memory.unit, domain.memory.value) == ("KiB", 1572864)
    assert domain.current_memory == domain.memory


def test_a_spec_that_names_its_hyperv_set_gets_exactly_that_set():
    windows_on_kvm = {"domainType: qemu": "domainType: kvm"}
    own = lowered(
        "  osType: windows\n  features: {hyperv: {relaxed: true, vapic: false, spinlocks: 8191}}\n",
        **windows_on_kvm,
    ).features.hyperv
    assert own.relaxed.state is True and own.vapic.state is False
    assert (own.spinlocks.state, own.spinlocks.retries) == (True, 8191)
    assert own.synic is None and own.frequencies is None  # not the policy's nine
    none = lowered("  osType: windows\n  features: {hyperv: {}}\n", **windows_on_kvm).features
    assert none.hyperv is None
