"""The whole pipeline for files and directories: load → validate → lower → emit.

Pure: no libvirt connection, no look at the host. Problems of every file are
collected before anything is returned, so one run reports them all. Files are
compiled one at a time and only the XML bytes are kept, so memory grows with
the output and not with the node trees of every spec read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vmspec.emit import domain_xml, resource_xml
from vmspec.load import SourceDocument
from vmspec.load.yaml_loader import load_file, spec_files
from vmspec.lower import lower_virtual_machine
from vmspec.lower.identity import domain_uuid
from vmspec.lower.network import lower_network
from vmspec.lower.storage import WantedVolume, lower_storage_pool, wanted_volumes
from vmspec.problems import Finding, Problem
from vmspec.schema import validate_document

VIRTUAL_MACHINE, STORAGE_POOL, NETWORK, VOLUME = (
    "VirtualMachine",
    "StoragePool",
    "Network",
    "Volume",
)


@dataclass(frozen=True, slots=True)
class CompiledResource:
    kind: str
    name: str
    file: str
    xml: bytes

    @property
    def output_path(self) -> str:
        """Where ``compile -o DIR`` writes it: VMs at the top, the rest in a folder per kind."""
        folder = {STORAGE_POOL: "pools/", NETWORK: "networks/", VOLUME: "volumes/"}.get(
            self.kind, ""
        )
        return f"{folder}{self.name}.xml"


@dataclass(frozen=True, slots=True)
class CompileResult:
    resources: list[CompiledResource]
    problems: list[Problem]
    documents: int


class ValidDocuments:
    """Iterates over the valid documents under ``paths``, one file at a time, and
    collects the problems of the others (including names and uuids used twice)."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = list(paths)
        self.problems: list[Problem] = []
        self.count = 0

    def __iter__(self) -> Iterator[SourceDocument]:
        first_place: dict[tuple[str, ...], str] = {}
        for path in spec_files(self.paths):
            loaded, load_problems = load_file(path)
            self.problems.extend(load_problems)
            self.count += len(loaded)
            for document in loaded:
                found = validate_document(document)
                if found:
                    self.problems.extend(found)
                elif self._unique(document, first_place):
                    yield document

    def _unique(self, document: SourceDocument, first_place: dict[tuple[str, ...], str]) -> bool:
        kind = document.data["kind"]
        metadata = document.data["metadata"]
        line, _ = document.locate(("metadata", "name"))
        here = f"{document.file}:{line}"
        # libvirt refuses a second domain (pool, network) with the same name, or domain uuid.
        identities = [("name", metadata["name"])]
        if kind == VIRTUAL_MACHINE:
            identities.append(
                ("uuid", metadata.get("uuid", "").lower() or domain_uuid(metadata["name"]))
            )
        for field, value in identities:
            earlier = first_place.setdefault((kind, field, value), here)
            if earlier != here:
                where = ("metadata", field) if field in metadata else ("metadata", "name")
                noun = {VIRTUAL_MACHINE: "VM", STORAGE_POOL: "pool", NETWORK: "network"}[kind]
                message = f"the {noun} {field} {value!r} is already used in {earlier}"
                self.problems.append(document.problem(Finding(where, message)))
                return False
        return True


def compile_paths(paths: Iterable[Path]) -> CompileResult:
    documents = ValidDocuments(paths)
    resources: list[CompiledResource] = []
    pool_paths: dict[str, str] = {}
    volumes: dict[tuple[str, str], tuple[SourceDocument, WantedVolume]] = {}
    for document in documents:
        data, kind = document.data, document.data["kind"]
        name = data["metadata"]["name"]
        if kind == VIRTUAL_MACHINE:
            xml = domain_xml(lower_virtual_machine(data))
            _collect_volumes(document, volumes, documents.problems)
        elif kind == STORAGE_POOL:
            pool = lower_storage_pool(data)
            pool_paths[name] = pool.target.path
            xml = resource_xml(pool)
        else:
            xml = resource_xml(lower_network(data))
        resources.append(CompiledResource(kind, name, document.file, xml))
    for (pool, name), (document, volume) in sorted(volumes.items()):
        # A volume's XML names its backing volume's path, which only a declared pool knows.
        if pool in pool_paths:
            backing = (
                f"{pool_paths[pool]}/{volume.backing_volume}" if volume.backing_volume else None
            )
            xml = resource_xml(volume.config(backing))
            resources.append(CompiledResource(VOLUME, f"{pool}/{name}", document.file, xml))
    return CompileResult(resources, documents.problems, documents.count)


def _collect_volumes(
    document: SourceDocument,
    volumes: dict[tuple[str, str], tuple[SourceDocument, WantedVolume]],
    problems: list[Problem],
) -> None:
    for path, volume in wanted_volumes(document.data):
        key = (volume.pool, volume.name)
        earlier = volumes.setdefault(key, (document, volume))
        if earlier[0] is not document or earlier[1] is not volume:
            owner = earlier[0].data["metadata"]["name"]
            message = (
                f"the volume {volume.pool}/{volume.name} is already created by the VM {owner!r}"
            )
            problems.append(document.problem(Finding(path, message)))
