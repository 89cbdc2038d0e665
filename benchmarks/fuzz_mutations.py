"""Mutation fuzzing of the example specs through the real CLI: no traceback, ever.

Each mutant is one file of specs/examples/ with one to three mutations applied to one
of its documents (drop a key, swap a value's type, out-of-range numbers, hostile
unicode, 100 kB strings, wrong nesting, duplicate list entries, renamed keys, raw edits
of the YAML text). It goes through `vmspec validate FILE` and `vmspec compile FILE -o
DIR` in-process (click's CliRunner), and must end in one of two ways:

- accepted (exit 0): every XML file written passes libvirt's RelaxNG schema for its
  kind (domain, storagepool, network, storagevol), and, where libvirt-python is
  installed, libvirt's test:///default driver defines it;
- refused (exit 1): with problems located at FILE:LINE:COL.

Anything else is a failure: an exception other than SystemExit (a traceback), another
exit code, validate and compile disagreeing, or XML that libvirt rejects. Mutant N of
seed S is the same on every run (its own random.Random), so `--show N` replays it.

    .venv/bin/python benchmarks/fuzz_mutations.py [--seed 1] [--count 2000] [--json] [--show N]

Exit status: 0 when no mutant failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result
from lxml import etree

from vmspec.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "specs" / "examples"
SCHEMAS = Path("/usr/share/libvirt/schemas")
# The folder `compile -o` writes each kind to, and libvirt's schema for that kind.
RNG_BY_FOLDER = {
    "": "domain.rng",
    "pools": "storagepool.rng",
    "networks": "network.rng",
    "volumes": "storagevol.rng",
}
LONG = 100_000  # characters in a "very long string"
SHOWN = 4_000  # characters of a failing mutant's YAML kept in the report

Path_ = tuple[str | int, ...]  # a path into a document: keys and list indexes


# --- the documents and paths into them --------------------------------------------------


def example_files(folder: Path = EXAMPLES) -> list[tuple[str, list[Any]]]:
    """(file name, its documents) for every example file, read with PyYAML."""
    files = []
    for path in sorted(folder.glob("*.yaml")):
        with path.open(encoding="utf-8") as stream:
            files.append((path.name, [doc for doc in yaml.safe_load_all(stream) if doc]))
    return files


def nodes(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every value of a document with its path, the document itself first."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*path, index))


def get(document: Any, path: Path_) -> Any:
    for part in path:
        document = document[part]
    return document


def put(document: Any, path: Path_, value: Any) -> Any:
    """Set the value at ``path``; an empty path replaces the whole document."""
    if not path:
        return value
    get(document, path[:-1])[path[-1]] = value
    return document


def show_path(path: Path_) -> str:
    """``("spec", "disks", 0, "target")`` → ``spec.disks[0].target`` (odd keys in repr)."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            plain = isinstance(part, str) and re.fullmatch(r"[A-Za-z0-9_-]+", part)
            text += "." + (part if plain else repr(part)[:40])
    return text.lstrip(".") or "<document>"


# --- mutations: each returns (new document, description), or None where it cannot apply ---

TYPE_SAMPLES: dict[str, list[Any]] = {
    "str": ["text", "", "no", "0", "null", "4GiB", "/dev/sda"],
    "int": [0, 1, 7, -3],
    "float": [2.5, 0.0, -0.5],
    "bool": [True, False],
    "list": [[], ["a", 1], [{"key": "value"}]],
    "dict": [{}, {"key": "value"}, {"a": [1, 2]}],
    "null": [None],
}
NUMBERS = [0, -1, 2**63, 2**64, -(2**63) - 1, 10**100, 1e308, -1e308, math.inf, -math.inf]
NUMBERS += [math.nan, 0.5, 4097, 65536, 5899, 1.0]
SIZES = ["0GiB", "0.0000001KiB", "99999999999999999999TiB", "1e308GiB", "-1GiB", "15MiB"]
SIZES += ["16TiB", "16.000001TiB", "1.5GiB", "4 GiB", "4gib", "\uff14GiB", "4\u00a0GiB"]
UNICODE = [
    "\u202eevil\u202c",  # right-to-left override
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic (RTL) text
    "\U0001f9e8\U0001f4a5\U0001f468\u200d\U0001f469\u200d\U0001f467",  # emoji, with ZWJ
    "e\u0301\u0302\u0303\u0304\u0305",  # a stack of combining marks
    "\u0301leading-combining",
    "\x00",
    "\x01\x02",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u2028\u2029",
    "\ufeff",
    "\ud800",  # a lone surrogate
    "\ufffe\uffff",
    "\U0010ffff",
    "\u0130\u00df\ufb01",  # characters whose case mapping changes their length
    "\uff11\uff12\uff18",  # full-width digits
    "\u00a0\u3000",  # non-breaking and ideographic spaces
    "\t",
    "\r\n",
]


def _pick(rng: random.Random, document: Any, keep: Callable[[Path_, Any], bool]) -> Path_ | None:
    candidates = [path for path, value in nodes(document) if keep(path, value)]
    return rng.choice(candidates) if candidates else None


def drop_key(rng: random.Random, document: Any) -> tuple[Any, str] | None:
    path = _pick(rng, document, lambda _, value: isinstance(value, dict) and bool(value))
    if path is None:
        return None
    key = rng.choice(list(get(document, path)))
    del get(document, path)[key]
    return document, f"drop {show_path((*path, key))}"


def swap_type(rng: random.Random, document: Any) -> tuple[Any, str] | None:
    path = _pick(rng, document, lambda path, _: bool(path))
    if path is None:
        return None
    current = type(get(document, path)).__name__.replace("NoneType", "null")
    kind = rng.choice([name for name in TYPE_SAMPLES if name != current])
    value = copy.deepcopy(rng.choice(TYPE_SAMPLES[kind]))
    return put(document, path, value), f"swap-type {show_path(path)} -> {value!r}"


def out_of_range(rng: random.Random, document: Any) -> tuple[Any, str] | None:
    numbers = _pick(rng, document, lambda path, value: bool(path) and _is_number(value))
    sizes = _pick(rng, document, lambda _, value: isinstance(value, str) and _is_size(value))
    path = numbers if numbers is not None and (sizes is None or rng.random() < 0.6) else sizes
    if path is None:
        return None
    value = rng.choice(NUMBERS if path == numbers else SIZES)
    return put(document, path, value), f"out-of-range {show_path(path)} -> {value!r}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_size(value: str) -> bool:
    return re.fullmatch(r"[0-9.]+ ?[KMGT]i?B?", value) is not None


def unicode_text(rng: random.Random, document: Any) -> tuple[Any, str] | None:
    path = _pick(rng, document, lambda path, value: bool(path) and isinstance(value, str))
    if path is None:
        return None
    text, sample = get(document, path), rng.choice(UNICODE)
    where = rng.choice(["prepend", "append", "insert", "replace"])
    at = rng.randrange(len(text) + 1)
    value = {
        "prepend": sample + text,
        "append": text + sample,
        "insert": text[:at] + sample + text[at:],
        "replace": sample,
    }[where]
    return put(document, path, value), f"unicode {show_path(path)} {where} {sample!r}"


def long_string(rng: random.Random, document: Any) -> tuple[Any, str] | None:
    path = _pick(rng, document, lambda path, value: bool(path) and not isinstance(value, dict))
    if path is None:
        return None
    current = get(document, path)
    prefix = current if isinstance(current, str) else ""
    unit = rng.choice(["a", "/", "\u00e9", "\U0001f4a5", "ab-", " "])
    value = (prefix + unit * LONG)[:LONG]
    return put(document, path, value), f"long-string {show_path(path)} <- {unit!r}*{LONG}"


def wrong_nesting(rng: random.Random, document: Any) -> tuple[Any, str] | None:
    path = _pick(rng, document, lambda path, _: bool(path))
    if path is None:
        return None
    value = get(document, path)
    how = rng.choice(["wrap-list", "wrap-dict", "unwrap", "hoist", "sink"])
    if how == "wrap-list":
        return put(document, path, [value]), f"nesting {show_path(path)} wrapped in a list"
    if how == "wrap-dict":
        key = path[-1] if isinstance(path[-1], str) else "value"
        return put(document, path, {key: value}), f"nesting {show_path(path)} wrapped in {{{key}}}"
    if how == "unwrap" and isinstance(value, (dict, list)) and value:
        inner = next(iter(value.values())) if isinstance(value, dict) else value[0]
        return put(document, path, inner), f"nesting {show_path(path)} replaced by its first item"
    parent = get(document, path[:-1])
    if how == "hoist" and len(path) >= 2 and isinstance(get(document, path[:-2]), dict):
        # Move a field one level up: spec.disks[0].file becomes spec.file.
        grandparent = get(document, path[:-2])
        key = path[-1] if isinstance(path[-1], str) else f"item{path[-1]}"
        del parent[path[-1]]
        grandparent[key] = value
        return document, f"nesting {show_path(path)} moved up to {show_path((*path[:-2], key))}"
    if how == "sink" and isinstance(parent, dict):
        # Move a field into a sibling mapping: spec.memory becomes spec.cpu.memory.
        siblings = [key for key, item in parent.items() if isinstance(item, dict) and item]
        siblings = [key for key in siblings if key != path[-1]]
        if siblings:
            sibling = rng.choice(siblings)
            del parent[path[-1]]
            parent[sibling][path[-1]] = value
            return (
                document,
                f"nesting {show_path(path)} moved into {show_path((*path[:-1], sibling))}",
            )
    return None


def duplicate_entry(rng: random.Random, document: Any) -> tuple[Any, str] | None:
    path = _pick(rng, document, lambda _, value: isinstance(value, list) and bool(value))
    if path is None:
        return None
    items = get(document, path)
    index = rng.randrange(len(items))
    # The same object twice is dumped as a YAML anchor and alias: that path is tested too.
    shared = rng.random() < 0.3
    twin = items[index] if shared else copy.deepcopy(items[index])
    items.insert(rng.randrange(len(items) + 1), twin)
    alias = " (as a YAML alias)" if shared and isinstance(twin, (dict, list)) else ""
    return document, f"duplicate {show_path((*path, index))}{alias}"


def rename_key(rng: random.Random, document: Any) -> tuple[Any, str] | None:
    path = _pick(rng, document, lambda _, value: isinstance(value, dict) and bool(value))
    if path is None:
        return None
    mapping = get(document, path)
    old = rng.choice(list(mapping))
    text = str(old)
    choices: list[Any] = [
        text[:-1],
        text + "s",
        text.upper(),
        text.swapcase(),
        text[1:2] + text[:1] + text[2:],
        "",
        "<<",
        "x" * 300,
        "\u202e" + text,
        text + "\u0301",
        1,
        True,
        None,
        1.5,
    ]
    new = rng.choice(choices)
    # Rebuild the mapping so the renamed key keeps its place.
    items = [(new if key == old else key, value) for key, value in mapping.items()]
    mapping.clear()
    mapping.update(items)
    return document, f"rename {show_path((*path, old))} -> {new!r}"


def edit_text(rng: random.Random, text: str) -> tuple[str, str]:
    """A raw edit of the YAML text, for what no data structure can express."""
    lines = text.split("\n")
    line = rng.randrange(len(lines))
    how = rng.choice(["insert", "truncate", "duplicate-line", "tab-indent", "delete-line"])
    if how == "insert":
        at = rng.randrange(len(text) + 1)
        sample = rng.choice(
            [*UNICODE, ":", "- ", "{", "[", "&a ", "*a", "!!python/none ", "%", "'"]
        )
        return text[:at] + sample + text[at:], f"text insert {sample!r} at offset {at}"
    if how == "truncate":
        at = rng.randrange(len(text) + 1)
        return text[:at], f"text truncated at offset {at}"
    if how == "duplicate-line":
        lines.insert(line, lines[line])
        return "\n".join(lines), f"text line {line + 1} duplicated"
    if how == "tab-indent" and lines[line].startswith(" "):
        lines[line] = "\t" + lines[line][1:]
        return "\n".join(lines), f"text line {line + 1} indented with a tab"
    del lines[line]
    return "\n".join(lines), f"text line {line + 1} deleted"


MUTATIONS: dict[str, Callable[[random.Random, Any], tuple[Any, str] | None]] = {
    "drop-key": drop_key,
    "swap-type": swap_type,
    "out-of-range": out_of_range,
    "unicode": unicode_text,
    "long-string": long_string,
    "wrong-nesting": wrong_nesting,
    "duplicate-entry": duplicate_entry,
    "rename-key": rename_key,
}
TEXT_EDIT = "text-edit"
KINDS = [*MUTATIONS, TEXT_EDIT]


@dataclass
class Mutant:
    index: int
    file: str
    kinds: list[str]
    mutations: list[str]
    text: str


def make_mutant(
    seed: int, index: int, files: list[tuple[str, list[Any]]], pools: list[Any]
) -> Mutant:
    """Mutant ``index`` of ``seed``: the same on every run and every machine."""
    rng = random.Random(f"vmspec-fuzz:{seed}:{index}")
    name, documents = rng.choice(files)
    documents = copy.deepcopy(documents)
    target = rng.randrange(len(documents))
    kinds, mutations = [], []
    for _ in range(rng.choice([1, 1, 1, 1, 2, 2, 3])):
        kind = rng.choice(KINDS)
        if kind == TEXT_EDIT:
            kinds.append(kind)  # applied to the text once it is written, below
            continue
        outcome = MUTATIONS[kind](rng, documents[target])
        if outcome is not None:
            documents[target], description = outcome
            kinds.append(kind)
            mutations.append(f"document {target + 1}: {description}")
    if any(document_uses_volumes(document) for document in documents):
        # With the pools declared, compile writes the volumes' XML too.
        documents += copy.deepcopy(pools)
    text = yaml.safe_dump_all(
        documents,
        allow_unicode=rng.random() < 0.5,
        sort_keys=False,
        default_flow_style=rng.choice([False, None]),
    )
    for _ in range(kinds.count(TEXT_EDIT)):
        text, description = edit_text(rng, text)
        mutations.append(description)
    if not kinds:
        kinds.append("none")
    return Mutant(index, name, kinds, mutations, text)


def document_uses_volumes(document: Any) -> bool:
    return any(path and path[-1] == "volume" for path, _ in nodes(document))


# --- running a mutant ------------------------------------------------------------------


@dataclass
class Failure:
    index: int
    file: str
    what: str  # traceback, exit-code, disagree, rng-invalid, define-rejected
    mutations: list[str]
    detail: str
    yaml: str


@dataclass
class Report:
    seed: int
    count: int
    accepted: int = 0
    refused: int = 0
    tracebacks: int = 0
    failures: list[Failure] = field(default_factory=list)
    # Failures that ``known_bug`` (given to fuzz) attributes to a bug already reported.
    known: Counter[str] = field(default_factory=Counter)
    known_bug: Callable[[Any], str | None] | None = None
    # Not failures, but worth a look: refusals at line 0, stderr lines that are no problem.
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    xml_files: int = 0
    defined: int = 0
    seconds: float = 0.0
    durations: list[tuple[float, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        durations = sorted(seconds for seconds, _ in self.durations)
        slowest = max(self.durations, default=(0.0, -1))
        return {
            "seed": self.seed,
            "mutants": self.count,
            "accepted": self.accepted,
            "refused": self.refused,
            "tracebacks": self.tracebacks,
            "failures": [asdict(failure) for failure in self.failures],
            "knownBugs": dict(self.known),
            "anomalies": self.anomalies,
            "byMutation": {kind: dict(counts) for kind, counts in self.by_kind.items()},
            "xmlFiles": self.xml_files,
            "definedOnTestDriver": self.defined,
            "seconds": round(self.seconds, 3),
            "perMutantMs": {
                "median": round(1000 * _quantile(durations, 0.5), 2),
                "p99": round(1000 * _quantile(durations, 0.99), 2),
                "max": round(1000 * slowest[0], 2),
                "slowestMutant": slowest[1],
            },
        }


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


@cache
def relaxng(name: str) -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / name)))


def test_driver() -> Any:
    """libvirt's embedded test:///default driver, or None without libvirt-python."""
    try:
        import libvirt
    except ImportError:
        return None
    return libvirt.open("test:///default")


def invoke(arguments: list[str]) -> Result:
    return CliRunner().invoke(main, arguments, catch_exceptions=True)


def crashed(result: Result) -> str | None:
    """The last lines of the traceback, if the command raised anything but SystemExit."""
    if result.exception is None or isinstance(result.exception, SystemExit):
        return None
    lines = traceback.format_exception(*result.exc_info)
    return "".join(lines[-4:]).rstrip()


_PROBLEM_LINE = re.compile(r"^(?P<line>\d+):(?P<column>\d+): ")


def run_mutant(mutant: Mutant, folder: Path, connection: Any, report: Report) -> None:
    spec = folder / "mutant.yaml"
    spec.write_bytes(mutant.text.encode("utf-8", "surrogatepass"))
    output = folder / "out"
    shutil.rmtree(output, ignore_errors=True)
    # The example VMs' profiles are in files of their own: a mutant is checked with them
    # (all but the one it is a mutant of), as the repo's specs are.
    profiles = [
        str(path) for path in sorted(EXAMPLES.glob("profiles-*.yaml")) if path.name != mutant.file
    ]
    validate = invoke(["validate", str(spec), *profiles])
    compiled = invoke(["compile", str(spec), *profiles, "-o", str(output)])

    def fail(what: str, detail: str) -> None:
        bug = _known_bug(report.known_bug, mutant.text)
        if bug is not None:
            report.known[bug] += 1
            return
        if what == "traceback":
            report.tracebacks += 1
            for count in counts:
                count["tracebacks"] += 1
        report.failures.append(
            Failure(mutant.index, mutant.file, what, mutant.mutations, detail, mutant.text[:SHOWN])
        )

    counts = [report.by_kind.setdefault(kind, Counter()) for kind in dict.fromkeys(mutant.kinds)]
    for count in counts:
        count["mutants"] += 1
    for command, result in (("validate", validate), ("compile", compiled)):
        trace = crashed(result)
        if trace is not None:
            return fail("traceback", f"vmspec {command}:\n{trace}")
        if result.exit_code not in (0, 1):
            return fail("exit-code", f"vmspec {command} exited {result.exit_code}: {result.stderr}")
    if validate.exit_code != compiled.exit_code:
        detail = f"validate exited {validate.exit_code}, compile {compiled.exit_code}"
        return fail("disagree", f"{detail}\n{validate.stderr}{compiled.stderr}")
    if compiled.exit_code == 1:
        report.refused += 1
        for count in counts:
            count["refused"] += 1
        _check_located(mutant, [str(spec), *profiles], compiled.stderr, report)
        return
    report.accepted += 1
    for count in counts:
        count["accepted"] += 1
    for xml_file in sorted(output.rglob("*.xml")):
        relative = xml_file.relative_to(output)
        folder_name = relative.parts[0] if len(relative.parts) > 1 else ""
        tree = etree.parse(str(xml_file))
        report.xml_files += 1
        schema = relaxng(RNG_BY_FOLDER[folder_name])
        if not schema.validate(tree):
            return fail("rng-invalid", f"{relative}: {schema.error_log.last_error}")
        problem = define(connection, folder_name, tree, xml_file.read_text(encoding="utf-8"))
        if problem:
            return fail("define-rejected", f"{relative}: {problem}")
        report.defined += connection is not None and folder_name != "volumes"


def _known_bug(known_bug: Callable[[Any], str | None] | None, text: str) -> str | None:
    """The known bug one of the mutant's documents hits, if any (as PyYAML reads them)."""
    if known_bug is None:
        return None
    try:
        documents = list(yaml.safe_load_all(text))
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    return next(filter(None, (known_bug(document) for document in documents)), None)


def _check_located(mutant: Mutant, files: list[str], stderr: str, report: Report) -> None:
    for line in stderr.splitlines():
        if line.startswith("vmspec: "):
            continue  # the summary
        # A value a profile wrote is located in the profile's file.
        spec = next((file for file in files if line.startswith(f"{file}:")), None)
        match = _PROBLEM_LINE.match(line.removeprefix(f"{spec}:")) if spec else None
        if match is None:
            what = "stderr line that is not FILE:LINE:COL: problem"
        elif match["line"] == "0":
            what = "problem without a line"
        else:
            continue
        report.anomalies.append(
            {"index": mutant.index, "what": what, "line": line[:300], "mutations": mutant.mutations}
        )


def define(connection: Any, folder: str, tree: Any, xml: str) -> str | None:
    """Define and undefine on the test driver; libvirt's message if it refuses."""
    if connection is None or folder == "volumes":
        return None  # a volume needs its pool started; the schema check covers it
    import libvirt

    listing, create = {
        "": (connection.listAllDomains, connection.defineXML),
        "pools": (connection.listAllStoragePools, connection.storagePoolDefineXML),
        "networks": (connection.listAllNetworks, connection.networkDefineXML),
    }[folder]
    if tree.findtext("name") in {existing.name() for existing in listing()}:
        return None  # a name the test driver already has ("test", "default"): leave it be
    try:
        create(xml).undefine()
    except libvirt.libvirtError as error:
        return str(error)
    return None


def fuzz(
    seed: int,
    count: int,
    *,
    define_on_test_driver: bool = True,
    known_bug: Callable[[Any], str | None] | None = None,
) -> Report:
    """Run mutants 0..count-1 of ``seed``. ``known_bug(document)`` may name a bug already
    reported that a failing mutant's document hits: it is then counted, not failed."""
    files = example_files()
    pools = [doc for _, documents in files for doc in documents if doc.get("kind") == "StoragePool"]
    connection = test_driver() if define_on_test_driver else None
    report = Report(seed, count, known_bug=known_bug)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="vmspec-fuzz-") as temporary:
            for index in range(count):
                mutant = make_mutant(seed, index, files, pools)
                before = time.perf_counter()
                run_mutant(mutant, Path(temporary), connection, report)
                report.durations.append((time.perf_counter() - before, index))
    finally:
        if connection is not None:
            connection.close()
    report.seconds = time.perf_counter() - started
    return report


def check_text(text: str, *, define_on_test_driver: bool = True) -> Report:
    """The same checks as for a mutant, on one spec file's text."""
    connection = test_driver() if define_on_test_driver else None
    report = Report(seed=0, count=1)
    try:
        with tempfile.TemporaryDirectory(prefix="vmspec-fuzz-") as temporary:
            run_mutant(Mutant(0, "<text>", [], [], text), Path(temporary), connection, report)
    finally:
        if connection is not None:
            connection.close()
    return report


# --- the command -------------------------------------------------------------------------


def summary_table(report: Report) -> str:
    header = ["mutation", "mutants", "accepted", "refused", "tracebacks"]
    rows = [
        [kind, *(report.by_kind.get(kind, Counter())[column] for column in header[1:])]
        for kind in [*KINDS, "none"]
        if kind in report.by_kind
    ]
    total = ["all", report.count, report.accepted, report.refused, report.tracebacks]
    lines = [header, *rows, total]
    widths = [max(len(str(row[column])) for row in lines) for column in range(len(header))]
    text = [
        "  ".join(
            str(cell).ljust(width) if column == 0 else str(cell).rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    text.insert(-1, text[1])
    return "\n".join(text)


def print_report(report: Report) -> None:
    data = report.to_json()
    print(f"seed {report.seed}: {report.count} mutants of {EXAMPLES.relative_to(REPO)}/*.yaml")
    print("(a mutant with several mutations counts in each of their rows)\n")
    print(summary_table(report))
    timing = data["perMutantMs"]
    print(
        f"\n{report.xml_files} XML files checked against libvirt's schemas, "
        f"{report.defined} defined on test:///default"
    )
    print(
        f"{report.seconds:.1f} s in all; per mutant (validate + compile -o + checks): "
        f"median {timing['median']} ms, p99 {timing['p99']} ms, "
        f"max {timing['max']} ms (mutant {timing['slowestMutant']})"
    )
    for failure in report.failures:
        print(f"\nFAILURE {failure.what}: mutant {failure.index} of {failure.file}")
        for mutation in failure.mutations:
            print(f"  {mutation[:200]}")
        print("  " + failure.detail.replace("\n", "\n  "))
    for bug, number in sorted(report.known.items()):
        print(f"\n{number} mutants hit the known bug {bug} (not counted as failures)")
    if report.anomalies:
        print(f"\n{len(report.anomalies)} anomalies (not failures):")
        for anomaly in report.anomalies[:20]:
            print(f"  mutant {anomaly['index']}: {anomaly['what']}: {anomaly['line'][:160]!r}")
    print(f"\n{len(report.failures)} failures")


def show(seed: int, index: int) -> None:
    files = example_files()
    pools = [doc for _, documents in files for doc in documents if doc.get("kind") == "StoragePool"]
    mutant = make_mutant(seed, index, files, pools)
    print(f"# mutant {index} of seed {seed}: {mutant.file}")
    for mutation in mutant.mutations:
        print(f"# {mutation[:200]}")
    text = mutant.text if len(mutant.text) <= SHOWN else mutant.text[:SHOWN] + "\n# ...(cut)"
    print(text)


def main_command(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--no-define", action="store_true", help="skip defineXML on test:///default"
    )
    parser.add_argument("--show", type=int, metavar="N", help="print mutant N's YAML and stop")
    arguments = parser.parse_args(argv)
    if arguments.show is not None:
        show(arguments.seed, arguments.show)
        return 0
    report = fuzz(arguments.seed, arguments.count, define_on_test_driver=not arguments.no_define)
    if arguments.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print_report(report)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main_command())
