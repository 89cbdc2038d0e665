"""The whole pipeline for files and directories: load → validate → lower → emit.

Pure: no libvirt connection, no look at the host. Problems of every file are
collected before anything is returned, so one run reports them all. Files are
compiled one at a time and only the XML bytes are kept, so memory grows with
the output and not with the node trees of every spec read.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from vmspec.load import SourceDocument
from vmspec.load.profiles import ProfileError, Profiles, is_profile, listed_profiles
from vmspec.load.yaml_loader import load_file, spec_files
from vmspec.lower.identity import domain_uuid, interface_macs
from vmspec.lower.storage import WantedVolume, wanted_volumes
from vmspec.problems import Finding, Problem
from vmspec.scope import DEFAULT_SCOPE

if TYPE_CHECKING:
    from vmspec.compile_cache import CompileCache


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
    from_cache: int = 0  # resources whose XML the compile cache held


class ValidDocuments:
    """Iterates over the valid documents under ``paths``, one file at a time, and
    collects the problems of the others, including those across documents: names and
    uuids used twice, a volume created by two VMs, a MAC address on two NICs. Every
    command that reads specs (validate, compile, plan, apply, destroy) reads them here,
    so they all refuse the same specs."""

    def __init__(self, paths: Iterable[Path], cache: CompileCache | None = None) -> None:
        """``cache``: documents compiled before without a problem are not validated again."""
        self.paths = list(paths)
        self.cache = cache
        self.problems: list[Problem] = []
        self.count = 0
        self._volume_creators: dict[tuple[str, str], str] = {}
        self._mac_users: dict[str, str] = {}

    def __iter__(self) -> Iterator[SourceDocument]:
        first_place: dict[tuple[str, ...], str] = {}
        profiles = Profiles()
        files = list(spec_files(self.paths))
        # Files read ahead for their profiles (profiles-*.yaml sorts after most VMs).
        read_ahead: dict[Path, tuple[list[SourceDocument], list[Problem]]] = {}
        looked_ahead = False
        for position, path in enumerate(files):
            was_read_ahead = path in read_ahead
            loaded, load_problems = read_ahead.pop(path, None) or load_file(path)
            self.problems.extend(load_problems)
            self.count += len(loaded)
            for document in loaded:
                if is_profile(document):
                    if not was_read_ahead:
                        self._add_profile(document, profiles)
                    continue
                if (
                    not looked_ahead
                    and listed_profiles(document.data)
                    and not profiles.knows_all(document)
                ):
                    looked_ahead = True  # once: every later file is looked at then
                    for later in files[position + 1 :]:
                        if _may_hold_a_profile(later):
                            read_ahead[later] = load_file(later)
                            for found in filter(is_profile, read_ahead[later][0]):
                                self._add_profile(found, profiles)
                yield from self._checked(document, profiles, first_place)
        self.problems.extend(profiles.problems())
        # A problem in a profile shows once, not once per VM that lists the profile.
        self.problems = list(dict.fromkeys(self.problems))

    def _add_profile(self, document: SourceDocument, profiles: Profiles) -> None:
        cache = self.cache
        if cache is None or cache.compiled(document.data) is None:
            found = _compiler().validate_document(document)
            self.problems.extend(found)
            if cache is not None and not found:
                cache.remember(document.data, b"")  # valid; a profile compiles to nothing
        self.problems.extend(profiles.add(document))

    def _checked(
        self,
        document: SourceDocument,
        profiles: Profiles,
        first_place: dict[tuple[str, ...], str],
    ) -> Iterator[SourceDocument]:
        """``document`` with its profiles laid under it, if it is valid and unique."""
        try:
            document = profiles.apply(document)
        except ProfileError as error:
            self.problems.append(error.problem)
            return
        if self.cache is not None and self.cache.compiled(document.data) is not None:
            found = []  # it compiled before, without a finding: it is valid
        else:
            found = _compiler().validate_document(document)
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
        if kind == VIRTUAL_MACHINE:
            findings = [*self._shared_volumes(document), *self._shared_macs(document, identities)]
            self.problems.extend(document.problem(finding) for finding in findings)
            return not findings
        return True

    def _shared_volumes(self, document: SourceDocument) -> Iterator[Finding]:
        """Two VMs that create one volume would both write to it."""
        name = document.data["metadata"]["name"]
        for path, volume in wanted_volumes(document.data):
            owner = self._volume_creators.setdefault((volume.pool, volume.name), name)
            if owner != name:
                yield Finding(
                    path,
                    f"the volume {volume.pool}/{volume.name} is already created by the VM {owner!r}",
                )

    def _shared_macs(
        self, document: SourceDocument, identities: list[tuple[str, str]]
    ) -> Iterator[Finding]:
        """Two NICs with one MAC on a network confuse every switch and DHCP server on it."""
        interfaces = document.data["spec"].get("interfaces", [])
        explicit = [interface.get("mac") for interface in interfaces]
        name, uuid = identities[0][1], identities[1][1]
        for index, mac in enumerate(interface_macs(uuid, explicit)):
            owner = self._mac_users.setdefault(mac, name)
            if owner == name:
                continue
            if explicit[index] is not None:
                yield Finding(
                    ("spec", "interfaces", index, "mac"),
                    f"the MAC address {mac} is already used by the VM {owner!r}",
                )
            else:
                yield Finding(
                    ("spec", "interfaces", index),
                    f"the MAC address {mac} derived for this NIC is already used by the VM "
                    f"{owner!r}: set mac to choose another",
                )


def _may_hold_a_profile(path: Path) -> bool:
    """A cheap look before parsing: a file without the word cannot hold a Profile."""
    try:
        return b"Profile" in path.read_bytes()
    except OSError:
        return False  # load_file reports it when its turn comes


def compile_paths(
    paths: Iterable[Path],
    scope: str = DEFAULT_SCOPE,
    progress: Callable[[str], None] | None = None,
    cache: CompileCache | None = None,
) -> CompileResult:
    """``progress``, when given, is called with each valid document's file as its turn
    comes (the CLI's progress bar). ``cache``: where documents compiled before are
    found and those compiled now are kept (vmspec/compile_cache.py); the caller saves it."""
    documents = ValidDocuments(paths, cache)
    resources: list[CompiledResource] = []
    pool_paths: dict[str, str] = {}
    volumes: dict[tuple[str, str], tuple[SourceDocument, WantedVolume]] = {}
    from_cache = 0
    for document in documents:
        if progress is not None:
            progress(document.file)
        data, kind = document.data, document.data["kind"]
        name = data["metadata"]["name"]
        if kind == VIRTUAL_MACHINE:
            volumes.update(
                ((volume.pool, volume.name), (document, volume))
                for _, volume in wanted_volumes(data)
            )
        elif kind == STORAGE_POOL:
            from vmspec.lower.policy import pool_path

            pool_paths[name] = pool_path(data["spec"])  # what lower_storage_pool's target says
        elif kind != NETWORK:
            continue  # an Inventory says where specs go, not what libvirt defines
        xml = cache.compiled(data) if cache is not None else None
        if xml is not None:
            from_cache += 1
        else:
            xml = _compiled(data, scope)
            if cache is not None:
                cache.remember(data, xml)
        resources.append(CompiledResource(kind, name, document.file, xml))
    for (pool, name), (document, volume) in sorted(volumes.items()):
        # A volume's XML names its backing volume's path, which only a declared pool knows.
        if pool in pool_paths:
            backing = (
                f"{pool_paths[pool]}/{volume.backing_volume}" if volume.backing_volume else None
            )
            xml = _compiler().resource_xml(volume.config(backing))
            resources.append(CompiledResource(VOLUME, f"{pool}/{name}", document.file, xml))
    return CompileResult(resources, documents.problems, documents.count, from_cache)


def _compiled(data: dict, scope: str) -> bytes:
    """One valid document's XML: lowered to config objects, then emitted."""
    compiler = _compiler()
    kind = data["kind"]
    if kind == VIRTUAL_MACHINE:
        return compiler.domain_xml(compiler.lower_virtual_machine(data, scope=scope))
    # Pools and networks are imported here, when a file holds one: their config
    # classes (14 dataclasses) would add ~8 ms to every `vmspec compile ONE.yaml`.
    if kind == STORAGE_POOL:
        from vmspec.lower.pool import lower_storage_pool

        return compiler.resource_xml(lower_storage_pool(data, scope))
    from vmspec.lower.network import lower_network

    return compiler.resource_xml(lower_network(data, scope))


@functools.cache
def _compiler() -> SimpleNamespace:
    """The schema, lowering and emitting, imported when a document first needs them: they
    import the families, jsonschema and lxml (~90 ms), which a compile whose every
    document is in the compile cache does without.

    What these imports make (classes, the schema, the policy tables) lives as long as the
    process: it is frozen, so that no garbage collection walks it again while thousands
    of specs are compiled (a third of the time of 1,000 specs, where it was not)."""
    from vmspec.emit import domain_xml, resource_xml
    from vmspec.lower import lower_virtual_machine
    from vmspec.schema import validate_document

    gc.freeze()
    return SimpleNamespace(
        validate_document=validate_document,
        lower_virtual_machine=lower_virtual_machine,
        domain_xml=domain_xml,
        resource_xml=resource_xml,
    )
