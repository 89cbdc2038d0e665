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

from vmspec.emit import domain_xml
from vmspec.load import SourceDocument
from vmspec.load.yaml_loader import load_file, spec_files
from vmspec.lower import lower_virtual_machine
from vmspec.lower.identity import domain_uuid
from vmspec.problems import Finding, Problem
from vmspec.schema import validate_document


@dataclass(frozen=True, slots=True)
class CompiledDomain:
    name: str
    file: str
    xml: bytes


@dataclass(frozen=True, slots=True)
class CompileResult:
    domains: list[CompiledDomain]
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
        first_place: dict[tuple[str, str], str] = {}
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

    def _unique(self, document: SourceDocument, first_place: dict[tuple[str, str], str]) -> bool:
        metadata = document.data["metadata"]
        line, _ = document.locate(("metadata", "name"))
        here = f"{document.file}:{line}"
        # libvirt refuses a second domain with the same name or uuid, given or derived.
        uuid = metadata.get("uuid", "").lower() or domain_uuid(metadata["name"])
        identities = [("name", metadata["name"]), ("uuid", uuid)]
        for kind, value in identities:
            earlier = first_place.setdefault((kind, value), here)
            if earlier != here:
                field = ("metadata", kind) if kind in metadata else ("metadata", "name")
                message = f"the VM {kind} {value!r} is already used in {earlier}"
                self.problems.append(document.problem(Finding(field, message)))
                return False
        return True


def compile_paths(paths: Iterable[Path]) -> CompileResult:
    documents = ValidDocuments(paths)
    compiled = [
        CompiledDomain(
            document.data["metadata"]["name"],
            document.file,
            domain_xml(lower_virtual_machine(document.data)),
        )
        for document in documents
    ]
    return CompileResult(compiled, documents.problems, documents.count)
