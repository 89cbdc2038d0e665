"""Lowering of StoragePool documents.

Apart from the volumes VMs ask for (lower/storage.py), which every compile needs: a pool's
config classes load only when a file holds a pool (compile.py)."""

from __future__ import annotations

from typing import Any

from vmspec.config.pool import (
    PoolSource,
    PoolSourceDevice,
    PoolSourceDir,
    PoolSourceFormat,
    PoolSourceHost,
    PoolTarget,
    StoragePool,
)
from vmspec.lower import policy
from vmspec.lower.identity import pool_uuid
from vmspec.scope import DEFAULT_SCOPE


def lower_storage_pool(document: dict[str, Any], scope: str = DEFAULT_SCOPE) -> StoragePool:
    name = document["metadata"]["name"]
    spec = document["spec"]
    return StoragePool(
        type=spec["type"],
        name=name,
        uuid=pool_uuid(name, scope),
        source=_pool_source(spec),
        target=PoolTarget(path=policy.pool_path(spec)),
    )


def _pool_source(spec: dict[str, Any]) -> PoolSource | None:
    source = spec.get("source")
    if spec["type"] == "dir" or not source:
        return None
    if spec["type"] == "logical":
        return PoolSource(
            devices=tuple(PoolSourceDevice(path=device) for device in source.get("devices", [])),
            name=source["name"],
            format=PoolSourceFormat(type="lvm2"),
        )
    return PoolSource(  # netfs
        host=PoolSourceHost(name=source["host"]),
        dir=PoolSourceDir(path=source["dir"]),
        format=PoolSourceFormat(type=source.get("format", "nfs")),
    )
