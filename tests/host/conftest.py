"""The real libvirtd (Debian's, started once by scripts/libvirtd) and helpers for specs
that run on it: small TCG guests without disks or networks, named vmspec-test-*."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, vmspec

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is the optional 'libvirt' extra")

SYSTEM_URI = "qemu:///system"
TEST_PREFIX = "vmspec-test-"


@pytest.fixture(scope="session")
def libvirtd() -> str:
    """Starts the project's libvirtd once (a no-op when it already runs)."""
    if os.geteuid() != 0:
        pytest.skip("starting the system libvirtd needs root, and these tests run as a user")
    subprocess.run([str(REPO / "scripts" / "libvirtd")], check=True, timeout=120)
    return SYSTEM_URI


@pytest.fixture
def system(libvirtd):
    """A connection to the real libvirtd; every vmspec-test-* domain is removed before and after."""
    connection = libvirt.open(libvirtd)
    remove_test_domains(connection)
    remove_test_pools_and_networks(connection)
    yield connection
    remove_test_domains(connection)
    remove_test_pools_and_networks(connection)
    connection.close()


def remove_test_pools_and_networks(connection) -> None:
    """Stops and undefines vmspec-test-* pools (their files stay; tests own their folders)
    and networks."""
    for resource in [*connection.listAllStoragePools(), *connection.listAllNetworks()]:
        if not resource.name().startswith(TEST_PREFIX):
            continue
        if resource.isActive():
            resource.destroy()
        resource.undefine()


def remove_test_domains(connection) -> None:
    for domain in connection.listAllDomains():
        if not domain.name().startswith(TEST_PREFIX):
            continue
        try:
            if domain.isActive():
                domain.destroy()
            if domain.isPersistent():
                domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        except libvirt.libvirtError as error:
            # Gone already (a test deleted it, or a guest stopped meanwhile): nothing to clean.
            if error.get_error_code() not in (
                libvirt.VIR_ERR_NO_DOMAIN,
                libvirt.VIR_ERR_OPERATION_INVALID,
            ):
                raise


def guest_spec(
    name: str,
    extra: str = "",
    *,
    domain_type: str = "qemu",
    memory: str = "64MiB",
    state: str = "running",
) -> str:
    """A guest that starts anywhere: TCG (or KVM), no disk, no network; SeaBIOS just waits."""
    return textwrap.dedent(
        f"""\
        apiVersion: vmspec/v1
        kind: VirtualMachine
        metadata:
          name: {TEST_PREFIX}{name}
        spec:
          domainType: {domain_type}
          memory: {memory}
          vcpus: 1
          state: {state}
        """
    ) + textwrap.indent(textwrap.dedent(extra), "  ")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


__all__ = ["SYSTEM_URI", "TEST_PREFIX", "guest_spec", "libvirt", "vmspec", "write"]
