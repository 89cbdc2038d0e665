"""The real libvirtd (Debian's, started once by scripts/libvirtd) and helpers for specs
that run on it: small TCG guests without disks or networks, named TEST_PREFIX*.

TEST_PREFIX differs per pytest process (vmspec-test-<6 hex>-), and cleanup removes only
objects that carry it: two test runs on the same libvirtd at once leave each other alone.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.conftest import vmspec as run_vmspec
from vmspec.host.connection import Host

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is the optional 'libvirt' extra")

SYSTEM_URI = "qemu:///system"
PEER_USER = "vmspec-peer"  # scripts/peer-libvirtd's default
# Every run's prefix shares this, so a leftover from a killed run is recognisable by eye.
TEST_PREFIX_FAMILY = "vmspec-test-"
# Random rather than the pid: runs in separate containers may share a libvirtd and a pid.
TEST_RUN = secrets.token_hex(3)
TEST_PREFIX = f"{TEST_PREFIX_FAMILY}{TEST_RUN}-"
# Every vmspec command of this run works in a scope of its own: a test's --prune (or
# destroy) then never reaches another run's VMs, nor anyone else's on a shared libvirtd.
TEST_SCOPE = f"{TEST_PREFIX_FAMILY}{TEST_RUN}"
# Linux refuses interface names longer than IFNAMSIZ - 1.
BRIDGE_NAME_LIMIT = 15


def run_bridge_name(suffix: str) -> str:
    """A bridge name of this run: a network's bridge must be unique on the host too."""
    name = f"vst{TEST_RUN}{suffix}"
    assert len(name) <= BRIDGE_NAME_LIMIT, f"bridge name {name!r} is too long for Linux"
    return name


def run_subnet(index: int) -> str:
    """The first three octets of this run's /24 number ``index`` (0 to 7), within
    10.128.0.0/10: libvirt refuses to start a network whose subnet is routed already, such
    as the same test's network in another run (2,048 runs' worth of subnets)."""
    assert 0 <= index < 8
    run = int(TEST_RUN, 16)
    return f"10.{128 + run % 64}.{(run >> 6) % 32 * 8 + index}"


def vmspec(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """The real command in a fresh process, in this run's scope (an ``env`` that sets
    VMSPEC_SCOPE, even to "", wins: a test of the repo's .vmspec.yaml clears it)."""
    return run_vmspec(*args, env={"VMSPEC_SCOPE": TEST_SCOPE, **(env or {})}, timeout=timeout)


@pytest.fixture(scope="session")
def libvirtd() -> str:
    """Starts the project's libvirtd once (a no-op when it already runs)."""
    if os.geteuid() != 0:
        pytest.skip("starting the system libvirtd needs root, and these tests run as a user")
    subprocess.run([str(REPO / "scripts" / "libvirtd")], check=True, timeout=120)
    return SYSTEM_URI


@pytest.fixture(scope="session")
def peer_uri(libvirtd) -> str:
    """A second, separate real libvirt daemon: an unprivileged user's (scripts/peer-libvirtd),
    with its own host UUID, pools and domains; the URI root reaches it by."""
    started = subprocess.run(
        [str(REPO / "scripts" / "peer-libvirtd")],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return started.stdout.strip()


@pytest.fixture
def peer(peer_uri):
    """A connection to the peer daemon; this run's domains, pools and networks there are
    removed before and after."""
    yield from _cleaned_around(peer_uri)


@pytest.fixture
def twin_pools(system, peer):
    """A same-named dir pool on the system daemon and on the peer, each in a folder its
    daemon can write; their volumes and folders are removed afterwards."""
    name = f"{TEST_PREFIX}twin"
    here = Path("/var/lib/libvirt/images") / name
    there = Path(pwd.getpwnam(PEER_USER).pw_dir) / name
    for folder in (here, there):
        shutil.rmtree(folder, ignore_errors=True)
    here.mkdir(parents=True)
    subprocess.run(["su", "-", PEER_USER, "-c", f"mkdir -p {there}"], check=True)
    pools = []
    for connection, folder in ((system, here), (peer, there)):
        pool = connection.storagePoolDefineXML(
            f"<pool type='dir'><name>{name}</name><target><path>{folder}</path></target></pool>"
        )
        pool.create(0)
        pools.append(pool)
    yield pools[0], pools[1]
    for connection in (system, peer):
        for volume in connection.storagePoolLookupByName(name).listAllVolumes():
            volume.delete(0)
    for folder in (here, there):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def system(libvirtd):
    """A connection to the real libvirtd; this run's domains, pools and networks are
    removed before and after."""
    yield from _cleaned_around(libvirtd)


def _cleaned_around(uri: str):
    connection = libvirt.open(uri)
    remove_test_domains(connection)
    remove_test_pools_and_networks(connection)
    yield connection
    remove_test_domains(connection)
    remove_test_pools_and_networks(connection)
    connection.close()


def remove_test_pools_and_networks(connection) -> None:
    """Stops and undefines this run's pools (their files stay; tests own their folders)
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
    vcpus: int = 1,
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
          vcpus: {vcpus}
          state: {state}
        """
    ) + textwrap.indent(textwrap.dedent(extra), "  ")


def qcow2(path: Path, size: str = "1G", backing: Path | None = None) -> Path:
    """A qcow2 image made with qemu-img (an overlay of ``backing`` when given)."""
    chain = ["-F", "qcow2", "-b", str(backing)] if backing else []
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *chain, str(path), size], check=True)
    return path


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


__all__ = [
    "SYSTEM_URI",
    "TEST_PREFIX",
    "TEST_RUN",
    "TEST_SCOPE",
    "guest_spec",
    "libvirt",
    "run_bridge_name",
    "run_subnet",
    "vmspec",
    "write",
]


# libvirt's embedded test driver on a node file of each test's own: a private host
# holding one running domain, "test", that vmspec did not create, and the network
# "default", as test:///default does.
NODE = """\
<node>
  <domain type="test">
    <name>test</name>
    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
    <memory>8388608</memory>
    <vcpu>2</vcpu>
    <os><type arch="x86_64">hvm</type></os>
  </domain>
  <network>
    <name>default</name>
    <bridge name="virbr0"/>
    <forward/>
    <ip address="192.168.122.1" netmask="255.255.255.0"/>
  </network>
</node>
"""


@pytest.fixture
def host(tmp_path):
    """A private host on the test driver (its own node file): state lasts for the test."""
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    connection = libvirt.open(f"test://{node}")
    yield Host(f"test://{node}", connection=connection)
    connection.close()


# qemu-system-NAME for the arches whose binary is not named after them.
_QEMU_SYSTEM_NAMES = {"i686": "i386", "ppc64le": "ppc64", "armv7l": "arm"}


def _qemu_installed_for(arch: str) -> bool:
    import shutil

    return shutil.which(f"qemu-system-{_QEMU_SYSTEM_NAMES.get(arch, arch)}") is not None


def _lacks_host_paths(document) -> bool:
    """Whether the VM still names something of its machine's that this one lacks after the
    rewrite (a GPU's render node, a host NIC, an option ROM): plan refuses such a VM (the
    MISSING_HERE cases of test_families_libvirtd.py), so it cannot take part in an apply here."""
    from vmspec.host.references import _family_paths
    from vmspec.lower import lower_virtual_machine

    paths = _family_paths(lower_virtual_machine(document))
    return any(not Path(path).exists() for _, path in paths)


@pytest.fixture
def examples_runnable_here(system):
    """The example VMs, renamed to this run, rewritten so that everything they refer to
    exists here (plan refuses a reference to nothing): disk files become empty files in a
    folder of the run's, shared folders folders of the run's, networks and host bridges
    this run's isolated network (declared with them); a TPM passed through from the
    host becomes an emulated one where this machine has none, and host devices (named
    for the machine the spec is written for) are left out. Those on storage pools or with cloud-init seeds are left out: they are
    tested with their pools; so are those of an arch this machine has no QEMU for (Arm,
    POWER), which libvirt would not define. Yields the documents; the folder goes afterwards."""
    import copy
    import shutil

    from vmspec.compile import ValidDocuments

    folder = Path(f"/var/lib/libvirt/images/{TEST_PREFIX}examples")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    network = f"{TEST_PREFIX}examples"
    documents = [
        {
            "apiVersion": "vmspec/v1",
            "kind": "Network",
            "metadata": {"name": network},
            "spec": {"forward": "isolated", "ip": {"address": f"{run_subnet(7)}.1", "prefix": 24}},
        }
    ]
    # Each VM with its profiles laid in (a copy: it is rewritten below, and profiles'
    # values are shared between the VMs that list them).
    examples = [
        copy.deepcopy(document.data) for document in ValidDocuments([REPO / "specs" / "examples"])
    ]
    for document in examples:
        vm = document["spec"] if document["kind"] == "VirtualMachine" else None
        if vm is None or "cloudInit" in vm or any("volume" in d for d in vm.get("disks", [])):
            continue
        # Persistent memory backed by the spec's machine's devices (an nvdimm on
        # /dev/dax0.0) cannot be left out: the guest's memory counts it.
        if any(
            "path" in device and not Path(device["path"]).exists()
            for device in vm.get("memoryDevices", [])
        ):
            continue
        if not _qemu_installed_for(vm.get("arch", "x86_64")):
            continue  # libvirt refuses to define a guest of an arch it has no QEMU for
        name = TEST_PREFIX + document["metadata"]["name"]
        document["metadata"]["name"] = name
        vm["state"] = "stopped"
        for disk in vm.get("disks", []):
            if "file" in disk or "block" in disk:
                disk.pop("block", None)
                disk["file"] = str(folder / f"{name}-{disk['target']}.img")
                Path(disk["file"]).touch()
        for interface in vm.get("interfaces", []):
            if "network" in interface or "bridge" in interface or "direct" in interface:
                interface.pop("bridge", None)
                interface.pop("direct", None)  # a macvtap on the host's NIC (eth1)
                interface["network"] = network
        for share in vm.get("filesystems", []):
            share["source"] = str(folder / f"{name}-{share['target']}")
            Path(share["source"]).mkdir(exist_ok=True)
        vm.pop("hostdevs", None)
        # Block devices a blkiotune names are the spec's machine's, like its hostdevs.
        vm.get("blkiotune", {}).pop("devices", None)
        # Files QEMU reads at start (plan refuses a reference to nothing): the run's own.
        for entry in vm.get("sysinfo", {}).get("fwcfg", []):
            if "file" in entry:
                entry["file"] = str(folder / f"{name}-fwcfg-{Path(entry['file']).name}")
                Path(entry["file"]).touch()
        for kind in vm.get("acpiTables", {}):
            vm["acpiTables"][kind] = str(folder / f"{name}-{kind}.bin")
            Path(vm["acpiTables"][kind]).touch()
        tpm = vm.get("tpm", {})
        if "device" in tpm and not Path(tpm["device"]).exists():
            vm["tpm"] = {"model": tpm.get("model", "tpm-crb")}
        if _lacks_host_paths(document):
            continue
        vm.pop("profiles", None)  # laid in already
        documents.append(document)
    yield documents
    shutil.rmtree(folder, ignore_errors=True)
