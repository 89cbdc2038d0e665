"""The guest architectures whose rules differ (ACPI, USB, TPM defaults, serial types), and
what libvirt and QEMU pick by arch where a definition says nothing."""

from __future__ import annotations

DEFAULT_ARCH = "x86_64"
ARCH_REASON = (
    "x86_64, written out so that the spec means the same guest on any host (libvirt would "
    "take the host's own arch)"
)
X86_ARCHES = ("x86_64", "i686")
PPC64_ARCHES = ("ppc64", "ppc64le")
S390_ARCHES = ("s390x",)


def spec_arch(spec: dict) -> str:
    """The guest arch a VM spec means: its ``arch``, else the default lowering writes."""
    return spec.get("arch", DEFAULT_ARCH)


# The machine type families that exist for one arch only: a spec naming one of them for
# another arch is refused by libvirt's qemu driver ("unsupported configuration: Emulator
# ... does not support machine type"), so the semantic checks refuse it first.
MACHINE_PREFIXES = {
    "pc": X86_ARCHES,  # pc, pc-i440fx-7.2, pc-q35-7.2
    "q35": X86_ARCHES,
    "isapc": X86_ARCHES,
    "microvm": X86_ARCHES,
    "pseries": PPC64_ARCHES,
    "s390-ccw-virtio": S390_ARCHES,
}

# The CPU model QEMU runs where a domain names none; libvirt writes it out as
# <cpu mode='custom' match='exact' check='none'> (as qemu64 on x86), so a definition
# without <cpu> comes back with it. libvirt's test suite shows these for QEMU 7.x.
QEMU_DEFAULT_CPU_MODELS = {
    "x86_64": ("qemu64", "qemu32"),
    "i686": ("qemu64", "qemu32"),
    "aarch64": ("cortex-a15",),
    "armv7l": ("cortex-a15",),
    "ppc64": ("POWER9",),
    "ppc64le": ("POWER9",),
    "s390x": ("qemu",),
    "riscv64": ("rv64",),
}


def is_pseries(arch: str, machine: str | None) -> bool:
    # pseries is the default (and the only paravirtual) machine type of qemu-system-ppc64.
    return arch in PPC64_ARCHES and (machine is None or machine.startswith("pseries"))


def default_serial_target_type(arch: str, machine: str | None) -> str | None:
    """The serial target type libvirt's qemu driver writes for a ``<serial>`` that names
    none (qemuDomainChrDefPostParse): the UART each machine type has built in."""
    if arch in X86_ARCHES:
        return "isa-serial"
    if is_pseries(arch, machine):
        return "spapr-vio-serial"
    if arch in S390_ARCHES:
        return "sclp-serial"
    if arch in ("aarch64", "armv7l", "riscv64") and (machine is None or machine.startswith("virt")):
        return "system-serial"
    return None


def machine_arches(machine: str) -> tuple[str, ...] | None:
    """The arches a machine type exists for, where vmspec knows it is one arch's own."""
    for prefix, arches in MACHINE_PREFIXES.items():
        if machine == prefix or machine.startswith(f"{prefix}-"):
            return arches
    return None
