"""The whole pipeline for files and directories: load → validate → lower → emit.

Pure: no libvirt connection, no look at the host. Problems of every file are
collected before anything is returned, so one run reports them all. Files are
compiled one at a time and only the XML bytes are kept, so memory grows with
the output and not with the node trees of every spec read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vmspec.emit import domain_xml
from vmspec.load.yaml_loader import load_file, spec_files
from vmspec.lower import lower_virtual_machine
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


def compile_paths(paths: Iterable[Path]) -> CompileResult:
    compiled: list[CompiledDomain] = []
    problems: list[Problem] = []
    documents = 0
    first_place_of_name: dict[str, str] = {}
    first_place_of_uuid: dict[str, str] = {}
    for path in spec_files(paths):
        loaded, load_problems = load_file(path)
        problems.extend(load_problems)
        documents += len(loaded)
        for document in loaded:
            found = validate_document(document)
            if found:
                problems.extend(found)
                continue
            name = document.data["metadata"]["name"]
            line, _ = document.locate(("metadata", "name"))
            earlier = first_place_of_name.setdefault(name, f"{document.file}:{line}")
            if earlier != f"{document.file}:{line}":
                message = f"the VM name {name!r} is already used in {earlier}"
                problems.append(document.problem(Finding(("metadata", "name"), message)))
                continue
            domain = lower_virtual_machine(document.data)
            # libvirt refuses a second domain with the same uuid, whether given or derived.
            uuid_field = (
                ("metadata", "uuid")
                if "uuid" in document.data["metadata"]
                else ("metadata", "name")
            )
            earlier = first_place_of_uuid.setdefault(
                domain.uuid, f"{document.file}:{line} ({name})"
            )
            if not earlier.startswith(f"{document.file}:{line} "):
                message = f"the uuid {domain.uuid} is already used in {earlier}"
                problems.append(document.problem(Finding(uuid_field, message)))
                continue
            compiled.append(CompiledDomain(name, document.file, domain_xml(domain)))
    return CompileResult(compiled, problems, documents)
