"""The defaults that come from experience, in one place, each with the failure it prevents.

Lowering asks these functions whenever a spec leaves something out; nothing else
in vmspec decides a default. Read top to bottom, this is the whole policy.
"""

from __future__ import annotations

from typing import Any

from vmspec.arches import X86_ARCHES
from vmspec.config.clock import Clock, Timer
from vmspec.config.features import Hyperv, HypervFeature


def cpu_mode(spec: dict[str, Any], *, nested_kvm_host: bool = False) -> str | None:
    """The CPU mode to emit, or None for no ``<cpu>`` element at all."""
    cpu = spec.get("cpu", {})
    if "mode" in cpu:
        return None if cpu["mode"] == "none" else cpu["mode"]
    if "model" in cpu:
        return "custom"
    if spec["domainType"] == "kvm" and nested_kvm_host:
        # Inside a VM, host-model and host-passthrough fail to start ("failed to set MSR").
        return None
    if spec["domainType"] == "kvm":
        # host-model gives the guest the host's features yet stays migratable between alike hosts.
        return "host-model"
    # TCG emulates its own default CPU; asking for the host's would be meaningless.
    return None


def chose_no_cpu_for_nested_kvm(spec: dict[str, Any], *, nested_kvm_host: bool) -> bool:
    """Whether the nested-KVM rule above decided the CPU (the plan says so, and why)."""
    cpu = spec.get("cpu", {})
    return (
        nested_kvm_host and spec["domainType"] == "kvm" and "mode" not in cpu and "model" not in cpu
    )


def clock(spec: dict[str, Any]) -> Clock:
    """Clock offset and timer policies, with the spec's own ``clock`` laid over them."""
    windows = spec.get("osType", "linux") == "windows"
    # Windows keeps the RTC in local time; everyone else expects UTC.
    offset = "localtime" if windows else "utc"
    # In the order virt-install writes them, so that adopting the VMs people made with it
    # leaves their definitions as they were.
    timers: dict[str, Timer] = {
        # Missed RTC ticks are caught up, which keeps Windows' and Linux' wall clock right after a pause.
        "rtc": Timer(name="rtc", tickpolicy="catchup"),
        # A late PIT tick is delivered late rather than dropped, so guest time does not fall behind.
        "pit": Timer(name="pit", tickpolicy="delay"),
        # HPET emulation costs CPU and makes guests pick a worse clocksource than kvmclock.
        "hpet": Timer(name="hpet", present=False),
    }
    if windows and spec["domainType"] == "kvm":
        # Hyper-V's reference clock is Windows' cheapest stable time source (KVM only).
        timers["hypervclock"] = Timer(name="hypervclock", present=True)
    override = spec.get("clock", {})
    for name, setting in override.get("timers", {}).items():
        if setting is None:  # the spec wants no such timer at all: QEMU's default
            timers.pop(name, None)
            continue
        timers[name] = Timer(
            name=name, tickpolicy=setting.get("tickpolicy"), present=setting.get("present")
        )
    return Clock(offset=override.get("offset", offset), timers=tuple(timers.values()))


def hyperv(spec: dict[str, Any]) -> Hyperv | None:
    """Hyper-V enlightenments for Windows on KVM: without them Windows spins on locks and
    burns host CPU while idle. TCG implements none of them, so it gets none."""
    if spec.get("osType", "linux") != "windows" or spec["domainType"] != "kvm":
        return None
    on = HypervFeature(state=True)
    return Hyperv(
        mode="custom",
        relaxed=on,
        vapic=on,
        # 8191 is the retry count Microsoft recommends before a vCPU yields on a spinlock.
        spinlocks=HypervFeature(state=True, retries=8191),
        vpindex=on,
        runtime=on,
        synic=on,
        stimer=on,
        reset=on,
        frequencies=on,
    )


def acpi_and_apic(spec: dict[str, Any]) -> tuple[bool, bool]:
    """x86 guests get ACPI (graceful shutdown from the host) and APIC (SMP) unless turned off."""
    features = spec.get("features", {})
    x86 = spec.get("arch", "x86_64") in X86_ARCHES
    return features.get("acpi", x86), features.get("apic", x86)


def video_model(spec: dict[str, Any]) -> str | None:
    """A display needs a video device; virtio-vga also drives a plain VGA console."""
    if "video" in spec:
        return spec["video"].get("model", "virtio")
    return "virtio" if spec.get("graphics") else None


def wants_tablet(spec: dict[str, Any]) -> bool:
    # An absolute-pointing USB tablet keeps the VNC/SPICE pointer where the mouse is.
    return bool(spec.get("graphics"))


def boot_devices(spec: dict[str, Any]) -> list[str]:
    # libvirt boots from the first disk when nothing is said; saying so keeps the XML stable.
    if "boot" in spec:
        return list(spec["boot"])
    # A disk's own boot order excludes <os><boot> (libvirt refuses both); the disk family
    # holds that rule (a NIC's boot order would join it here).
    if "kernel" in spec or any("boot" in disk for disk in spec.get("disks", [])):
        return []
    return ["hd"]


def pool_path(spec: dict[str, Any]) -> str:
    # A logical pool's volumes appear under /dev/VG; libvirt expects that as its target.
    if spec["type"] == "logical" and "path" not in spec:
        return f"/dev/{spec['source']['name']}"
    return spec["path"]


def seed_volume_name(vm_name: str) -> str:
    return f"{vm_name}-cidata.iso"


def seed_pool(spec: dict[str, Any]) -> str | None:
    """Where the cloud-init seed lives: the spec's choice, else the first volume disk's pool."""
    cloud_init = spec.get("cloudInit", {})
    if "pool" in cloud_init:
        return cloud_init["pool"]
    return next(
        (disk["volume"]["pool"] for disk in spec.get("disks", []) if "volume" in disk), None
    )


def seed_target(spec: dict[str, Any]) -> str:
    """The seed cdrom sits on SATA (every x86 machine type takes it) at the first free sdX."""
    taken = {disk["target"] for disk in spec.get("disks", [])}
    return next(
        f"sd{letter}" for letter in "abcdefghijklmnopqrstuvwxyz" if f"sd{letter}" not in taken
    )


def lifecycle(spec: dict[str, Any]) -> tuple[str, str, str]:
    # libvirt's own defaults, written out so that a normalized definition compares equal.
    actions = spec.get("lifecycle", {})
    return (
        actions.get("onPoweroff", "destroy"),
        actions.get("onReboot", "restart"),
        actions.get("onCrash", "destroy"),
    )
