"""The whole pipeline for files and directories: load → validate → lower → emit.

Pure: no libvirt connection, no look at the host. Problems of every file are
collected before anything is returned, so one run reports them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vmspec.emit import domain_xml
from vmspec.load import SourceDocument, load_paths
from vmspec.lower import lower_virtual_machine
from vmspec.problems import Finding, Problem
from vmspec.schema import validate_document


@dataclass(frozen=True, slots=True)
class CompiledDomain:
    """One VM's compiled XML; the tree is not kept, only the bytes that must be written."""

    name: str
    source: SourceDocument
    xml: bytes


@dataclass(frozen=True, slots=True)
class CompileResult:
    domains: list[CompiledDomain]
    problems: list[Problem]
    documents: int


def compile_paths(paths: Iterable[Path]) -> CompileResult:
    documents, problems = load_paths(paths)
    compiled: list[CompiledDomain] = []
    first_by_name: dict[str, SourceDocument] = {}
    for document in documents:
        found = validate_document(document)
        if found:
            problems.extend(found)
            continue
        name = document.data["metadata"]["name"]
        earlier = first_by_name.setdefault(name, document)
        if earlier is not document:
            line, _ = earlier.locate(("metadata", "name"))
            message = f"the VM name {name!r} is already used in {earlier.file}:{line}"
            problems.append(document.problem(Finding(("metadata", "name"), message)))
            continue
        domain = lower_virtual_machine(document.data)
        compiled.append(CompiledDomain(name, document, domain_xml(domain)))
    return CompileResult(compiled, problems, len(documents))
