"""The guest architectures whose rules differ (ACPI, USB, TPM defaults, serial types)."""

X86_ARCHES = ("x86_64", "i686")
