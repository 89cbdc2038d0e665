"""Shared fixtures: the example specs, libvirt's RelaxNG schema, and the embedded test driver."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from lxml import etree

from vmspec.compile import VIRTUAL_MACHINE, CompiledResource, ValidDocuments, compile_paths

# The caches of every vmspec the tests run (the compile cache, the plan cache, the plan
# memo) in a folder of this run, never the user's ~/.cache: what one test compiled is
# found again by the next, as it would be for a user, but nothing outlives the run.
# Tests about a cache itself point XDG_CACHE_HOME at their own folder.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="vmspec-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "specs" / "examples"
GOLDEN = REPO / "golden"
DOMAIN_RNG = Path("/usr/share/libvirt/schemas/domain.rng")


def compile_examples() -> list[CompiledResource]:
    result = compile_paths([EXAMPLES])
    assert result.problems == []
    return result.resources


# Every compiled example (VMs, pools, networks, volumes), and the VMs alone.
EXAMPLE_RESOURCES = compile_examples()
EXAMPLE_DOMAINS = [resource for resource in EXAMPLE_RESOURCES if resource.kind == VIRTUAL_MACHINE]
# The spec data of each example VM, by name (its profiles laid in), for tests that
# lower it themselves.
EXAMPLE_SPECS = {
    document.data["metadata"]["name"]: document.data
    for document in ValidDocuments([EXAMPLES])
    if document.data["kind"] == VIRTUAL_MACHINE
}


@pytest.fixture(scope="session")
def domain_rng() -> etree.RelaxNG:
    # libvirt's own schema, shipped by Debian's libvirt0 (installed by scripts/install).
    return etree.RelaxNG(etree.parse(str(DOMAIN_RNG)))


@pytest.fixture(scope="session")
def test_driver():
    """libvirt's embedded test:///default driver: real libvirt parsing, no daemon needed."""
    libvirt = pytest.importorskip(
        "libvirt", reason="libvirt-python is the optional 'libvirt' extra"
    )
    connection = libvirt.open("test:///default")
    yield connection
    connection.close()


def vmspec(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process, as a user or a CI job runs it."""
    return subprocess.run(
        [sys.executable, "-m", "vmspec", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def write_spec(directory: Path, text: str, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL_SPEC = """\
apiVersion: vmspec/v1
kind: VirtualMachine
metadata:
  name: tiny
spec:
  domainType: qemu
  memory: 128MiB
  vcpus: 1
"""
