"""The tpm family: what libvirt 9.0 fills in on define is no difference, so a TPM as
virt-install writes it (no version) or as it is written by hand (no model) imports
without loss; what the spec has no word for (an external swtpm) is reported dropped."""

from __future__ import annotations

import pytest

from vmspec.arches import X86_ARCHES
from vmspec.lift.sources import lift_xml


def domain(tpm: str, arch: str = "x86_64") -> str:
    return (
        "<domain type='qemu'><name>tpm</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        f"<os><type arch='{arch}' machine='{'q35' if arch in X86_ARCHES else 'virt'}'>hvm</type></os>"
        f"<devices>{tpm}</devices></domain>"
    )


@pytest.mark.parametrize(
    ("tpm", "spec"),
    [
        # virt-install --tpm emulator: libvirt makes it version 2.0, the policy's TPM.
        ("<tpm model='tpm-crb'><backend type='emulator'/></tpm>", {}),
        # No model: libvirt picks tpm-tis, and TPM 1.2 for it.
        ("<tpm><backend type='emulator'/></tpm>", {"model": "tpm-tis", "version": "1.2"}),
        # libvirt drops persistent_state='no', its default.
        ("<tpm model='tpm-crb'><backend type='emulator' persistent_state='no'/></tpm>", {}),
        (
            "<tpm model='tpm-tis'><backend type='passthrough'/></tpm>",
            {"model": "tpm-tis", "backend": "passthrough", "device": "/dev/tpm0"},
        ),
    ],
)
def test_what_libvirt_fills_in_imports_without_loss(tpm, spec):
    lifted = lift_xml(domain(tpm), "tpm")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["tpm"] == spec


def test_an_aarch64_tpm_is_tis_by_policy():
    tpm = "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>"
    lifted = lift_xml(domain(tpm, arch="aarch64"), "tpm")
    assert lifted.dropped == ()
    assert lifted.document["spec"]["tpm"] == {}


def test_an_external_tpm_is_reported_as_dropped():
    tpm = (
        "<tpm model='tpm-tis'><backend type='external'>"
        "<source type='unix' mode='connect' path='/run/swtpm.sock'/></backend></tpm>"
    )
    lifted = lift_xml(domain(tpm), "tpm")
    assert any("tpm" in dropped for dropped in lifted.dropped), lifted.dropped
