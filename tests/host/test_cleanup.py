"""The real libvirtd's cleanup between tests: a run removes its own objects only, so two
test runs on one libvirtd at once do not remove each other's guests mid-test."""

from __future__ import annotations

import contextlib

from tests.host.conftest import (
    TEST_PREFIX,
    TEST_PREFIX_FAMILY,
    TEST_RUN,
    libvirt,
    remove_test_domains,
    remove_test_pools_and_networks,
)

# Another run's prefix: same family, another run id.
OTHER_PREFIX = f"{TEST_PREFIX_FAMILY}{int(TEST_RUN, 16) ^ 0xFFFFFF:06x}-"


def domain_xml(name: str) -> str:
    return (
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )


def network_xml(name: str) -> str:
    return f"<network><name>{name}</name></network>"


def pool_xml(name: str) -> str:
    return f"<pool type='dir'><name>{name}</name><target><path>/nonexistent/{name}</path></target></pool>"


def names_on(connection) -> set[str]:
    return {
        resource.name()
        for resource in [
            *connection.listAllDomains(),
            *connection.listAllNetworks(),
            *connection.listAllStoragePools(),
        ]
    }


def test_cleanup_removes_this_runs_objects_and_leaves_another_runs(system):
    assert OTHER_PREFIX != TEST_PREFIX and len(OTHER_PREFIX) == len(TEST_PREFIX)
    ours = {f"{TEST_PREFIX}mine-vm", f"{TEST_PREFIX}mine-net", f"{TEST_PREFIX}mine-pool"}
    theirs = {f"{OTHER_PREFIX}other-vm", f"{OTHER_PREFIX}other-net", f"{OTHER_PREFIX}other-pool"}
    for prefix, role in ((TEST_PREFIX, "mine"), (OTHER_PREFIX, "other")):
        system.defineXML(domain_xml(f"{prefix}{role}-vm"))
        system.networkDefineXML(network_xml(f"{prefix}{role}-net"))
        system.storagePoolDefineXML(pool_xml(f"{prefix}{role}-pool"), 0)
    try:
        assert ours | theirs <= names_on(system)
        remove_test_domains(system)
        remove_test_pools_and_networks(system)
        left = names_on(system)
        assert not ours & left
        assert theirs <= left
    finally:
        remove_other_runs_objects(system)


def remove_other_runs_objects(connection) -> None:
    """The other run is made up here, so nobody else would remove its objects; the ones a
    faulty cleanup removed already are skipped, so that the test's own failure shows."""
    removals = [
        lambda: connection.lookupByName(f"{OTHER_PREFIX}other-vm").undefineFlags(
            libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
        ),
        lambda: connection.networkLookupByName(f"{OTHER_PREFIX}other-net").undefine(),
        lambda: connection.storagePoolLookupByName(f"{OTHER_PREFIX}other-pool").undefine(),
    ]
    for remove in removals:
        with contextlib.suppress(libvirt.libvirtError):
            remove()
