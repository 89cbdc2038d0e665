"""The defaults that come from experience, in one place, each with the failure it prevents.

Lowering asks these functions whenever a spec leaves something out. The families in
vmspec/families keep their own defaults, each in its module's policy section (the CPU
mode and the clock's timers: families/cpu.py and families/clock.py).
"""

from __future__ import annotations

from typing import Any

# Why each default below is what it is (vmspec explain shows them).
BOOT_REASON = (
    "libvirt boots from the first disk when nothing is said; saying so keeps the XML stable"
)
LIFECYCLE_REASON = (
    "libvirt's own default, written out so that a normalized definition compares equal"
)


def boot_devices(spec: dict[str, Any]) -> list[str]:
    # BOOT_REASON
    if "boot" in spec:
        return list(spec["boot"])
    return [] if "kernel" in spec or devices_with_boot_order(spec) else ["hd"]


def devices_with_boot_order(spec: dict[str, Any]) -> bool:
    # A device's own <boot order> excludes <os><boot>: libvirt refuses both together.
    fields = ("disks", "interfaces", "hostdevs")
    return any("boot" in item for field in fields for item in spec.get(field, []))


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
    # LIFECYCLE_REASON
    actions = spec.get("lifecycle", {})
    return (
        actions.get("onPoweroff", "destroy"),
        actions.get("onReboot", "restart"),
        actions.get("onCrash", "destroy"),
    )
