"""Deterministic identities, so that two compiles of the same spec are byte-identical.

A UUID or MAC drawn at random would change the XML on every compile and make
golden files and plans useless; deriving them from the name keeps them stable
for the life of the spec.
"""

from __future__ import annotations

import functools
import hashlib
import uuid

from vmspec.scope import DEFAULT_SCOPE

# uuid5(NAMESPACE_URL, "https://vmspec.dev/domain"): never change it, or every VM gets a new identity.
DOMAIN_UUID_NAMESPACE = uuid.UUID("26826c54-103d-5c2f-9480-36866b2849fd")
# QEMU's locally administered OUI; libvirt uses it for the MACs it generates too.
QEMU_MAC_PREFIX = "52:54:00"


# Pools and networks have no <metadata> in libvirt 9.0: the uuid vmspec derives from the
# name is their ownership marker (a pool made by hand has a random one).
POOL_UUID_NAMESPACE = uuid.uuid5(DOMAIN_UUID_NAMESPACE, "StoragePool")
NETWORK_UUID_NAMESPACE = uuid.uuid5(DOMAIN_UUID_NAMESPACE, "Network")


# Why a spec without uuid or mac gets these (vmspec explain shows them).
UUID_REASON = (
    "derived from the name (uuid5): two compiles of the same spec are byte-identical and "
    "the VM keeps its identity for the life of the spec"
)
MAC_REASON = (
    "derived from the VM's uuid and the NIC's place (QEMU's 52:54:00 prefix): stable for "
    "the life of the spec, where libvirt would draw one at random"
)


# Asked for by the semantic checks, the duplicate check and lowering, for each VM in turn.
@functools.lru_cache(maxsize=64)
def domain_uuid(name: str) -> str:
    return str(uuid.uuid5(DOMAIN_UUID_NAMESPACE, name))


def pool_uuid(name: str, scope: str = DEFAULT_SCOPE) -> str:
    return str(uuid.uuid5(POOL_UUID_NAMESPACE, _scoped(name, scope)))


def network_uuid(name: str, scope: str = DEFAULT_SCOPE) -> str:
    return str(uuid.uuid5(NETWORK_UUID_NAMESPACE, _scoped(name, scope)))


def _scoped(name: str, scope: str) -> str:
    # The default scope keeps the uuids of before scopes existed; names hold no '/'.
    return name if scope == DEFAULT_SCOPE else f"{scope}/{name}"


def network_mac(network_uuid: str) -> str:
    """The bridge's MAC; libvirt would otherwise draw a random one at every define."""
    return _derived_mac(network_uuid, 0, 0)


def network_bridge(name: str) -> str:
    """A bridge name that fits Linux' 15 characters and stays the same for the name."""
    candidate = f"vs-{name}"
    if len(candidate) <= 15 and all(c.isalnum() or c in "-_." for c in candidate):
        return candidate
    return "vs-" + hashlib.sha256(name.encode()).hexdigest()[:12]


def interface_macs(domain_uuid: str, explicit: list[str | None]) -> list[str]:
    """One MAC per NIC: the explicit ones as given (lower case), the others derived from
    the VM's UUID and the NIC's index, stepping past any collision within the VM."""
    taken = {mac.lower() for mac in explicit if mac is not None}
    macs = []
    for index, mac in enumerate(explicit):
        if mac is not None:
            macs.append(mac.lower())
            continue
        attempt = 0
        while True:
            derived = _derived_mac(domain_uuid, index, attempt)
            if derived not in taken:
                break
            attempt += 1
        taken.add(derived)
        macs.append(derived)
    return macs


def _derived_mac(domain_uuid: str, index: int, attempt: int) -> str:
    digest = hashlib.sha256(f"{domain_uuid}/nic/{index}/{attempt}".encode()).digest()
    return QEMU_MAC_PREFIX + "".join(f":{byte:02x}" for byte in digest[:3])
