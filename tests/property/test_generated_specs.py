"""Specs generated from vmspec's own JSON Schema: each one compiles to XML that libvirt
accepts, or is refused by a semantic check with a located message; never a traceback.

hypothesis-jsonschema generates VirtualMachine documents from the schema's own
``$defs/machineMetadata`` and ``$defs/machineSpec`` (with every ``$defs`` attached), so
the generator follows the schema as it changes. Nearly all of those documents break a
semantic rule (``0KiB`` of memory, control characters in text, a listen address that is
no IP), so a second test draws from a copy of the schema tightened where the semantic
checks are stricter, to exercise the path to XML as much as the refusals.

KNOWN_BUGS lists the bugs these tests found that are not fixed yet (documents that hit one
are skipped with ``assume``, so everything else stays tested); FIXED_BUGS keeps the ones
fixed, each with its minimal spec, as regression tests.
"""

from __future__ import annotations

import copy
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from lxml import etree

from benchmarks.fuzz_mutations import check_text
from vmspec.cli import main
from vmspec.emit import domain_xml, resource_xml
from vmspec.load import load_text
from vmspec.lower import lower_virtual_machine
from vmspec.lower.storage import wanted_volumes
from vmspec.schema import load_schema, validate_document
from vmspec.schema.semantic import semantic_findings
from vmspec.units import size_in_kib

SCHEMA = load_schema()
SCHEMAS = Path("/usr/share/libvirt/schemas")

# Deterministic (CI runs the same examples every time) and bounded: about 10 s per test.
GENERATED = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- bugs found and not fixed yet ---------------------------------------------------------


def _walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _mappings_under(document: Any, key: str) -> Iterator[dict[str, Any]]:
    """Every mapping that is the value of ``key`` anywhere in ``document``."""
    for path, value in _walk(document):
        if path and path[-1] == key and isinstance(value, dict):
            yield value


def _capacity_kib(create: dict[str, Any]) -> int | None:
    capacity = create.get("capacity")
    try:
        return size_in_kib(capacity) if isinstance(capacity, str) else None
    except ValueError:
        return -1


def _fractional_capacity(document: Any) -> bool:
    return any(_capacity_kib(create) == -1 for create in _mappings_under(document, "create"))


def _huge_capacity(document: Any) -> bool:
    return any(
        (_capacity_kib(create) or 0) * 1024 >= 2**64
        for create in _mappings_under(document, "create")
    )


def _tickpolicy_on_paravirtual_clock(document: Any) -> bool:
    return any(
        isinstance(timers.get(name), dict) and "tickpolicy" in timers[name]
        for timers in _mappings_under(document, "timers")
        for name in ("kvmclock", "hypervclock")
    )


_PATH_FIELDS = {"path", "initrd", "file", "block", "dir", "devices"}


def _path_with_line_break(document: Any) -> bool:
    return any(
        isinstance(value, str)
        and value.startswith("/")
        and ("\n" in value or "\r" in value)
        and any(part in _PATH_FIELDS for part in path[-2:])
        for path, value in _walk(document)
    )


def _rbd_or_gluster_name_without_pool(document: Any) -> bool:
    return any(
        network.get("protocol") in ("rbd", "gluster")
        and isinstance(network.get("name"), str)
        and not re.match(r"[^/]+/.", network["name"])
        for network in _mappings_under(document, "network")
    )


def _several_hosts_for_a_single_host_protocol(document: Any) -> bool:
    return any(
        network.get("protocol") not in ("rbd", "gluster")
        and isinstance(network.get("hosts"), list)
        and len(network["hosts"]) > 1
        for network in _mappings_under(document, "network")
    )


@dataclass(frozen=True)
class KnownBug:
    name: str
    hits: Callable[[Any], bool]
    spec: str  # a minimal spec file that shows it


_VM = """\
apiVersion: vmspec/v1
kind: VirtualMachine
metadata: {name: known-bug}
spec:
  domainType: qemu
  memory: 128MiB
  vcpus: 1
"""
_POOL = """\
---
apiVersion: vmspec/v1
kind: StoragePool
metadata: {name: images}
spec: {type: dir, path: /var/lib/vmspec/images}
"""

# Bugs these tests found, each with its minimal spec; all fixed, kept as regressions.
FIXED_BUGS = [
    # `vmspec validate` raises ValueError from units.size_in_kib via compile._collect_volumes:
    # volume.create.capacity has no semantic check (spec.memory has one).
    KnownBug(
        "volume-capacity-fraction-of-kib-traceback",
        _fractional_capacity,
        _VM + "  disks: [{target: vda, volume: {pool: images, name: a.qcow2,"
        " create: {capacity: 0.5KiB}}}]\n",
    ),
    # Accepted; the volume XML's <capacity> exceeds storagevol.rng's unsignedLong.
    KnownBug(
        "volume-capacity-beyond-2**64-bytes",
        _huge_capacity,
        _VM + "  disks: [{target: vda, volume: {pool: images, name: a.qcow2,"
        " create: {capacity: 99999999999TiB}}}]\n" + _POOL,
    ),
    # Accepted; libvirt's schema and its test driver refuse tickpolicy on these two timers
    # ("timer kvmclock doesn't support setting of timer tickpolicy").
    KnownBug(
        "tickpolicy-on-kvmclock-or-hypervclock",
        _tickpolicy_on_paravirtual_clock,
        _VM + "  clock: {timers: {kvmclock: {tickpolicy: delay}}}\n",
    ),
    # Accepted; libvirt's absFilePath pattern is (/|[a-zA-Z]:\\).+ and "." matches no line
    # break: kernel, initrd, disk file/block, backingStore file, pool path and source.dir.
    KnownBug(
        "absolute-path-with-a-line-break",
        _path_with_line_break,
        _VM + '  disks: [{target: vda, file: "/var/lib/a\\nb.img"}]\n',
    ),
    # Accepted and RNG-valid; defineXML refuses it: "can't split path 'img' into pool name
    # and image name" (rbd and gluster names are POOL/IMAGE, VOLUME/PATH).
    KnownBug(
        "rbd-or-gluster-name-without-a-pool",
        _rbd_or_gluster_name_without_pool,
        _VM + "  disks: [{target: vda, network: {protocol: rbd, name: img,"
        " hosts: [{name: ceph1}]}}]\n",
    ),
    # Accepted; libvirt's schema takes several <host> only for rbd and gluster, one for
    # nbd, iscsi, http, https and sheepdog (the schema allows up to 16 for every protocol).
    KnownBug(
        "several-hosts-for-a-single-host-protocol",
        _several_hosts_for_a_single_host_protocol,
        _VM + "  disks: [{target: vda, network: {protocol: nbd, name: export,"
        " hosts: [{name: nbd1}, {name: nbd2}]}}]\n",
    ),
]


# Bugs found and not fixed yet (documents that hit one are skipped with ``assume``): none.
KNOWN_BUGS: list[KnownBug] = []


def known_bug(document: Any, bugs: list[KnownBug] = KNOWN_BUGS) -> str | None:
    """The name of the first bug in ``bugs`` that ``document`` hits, if any."""
    return next((bug.name for bug in bugs if bug.hits(document)), None)


@pytest.mark.parametrize("bug", FIXED_BUGS, ids=[bug.name for bug in FIXED_BUGS])
def test_each_bug_spec_is_one_its_predicate_recognises(bug):
    assert known_bug(next(yaml.safe_load_all(bug.spec)), FIXED_BUGS) == bug.name


@pytest.mark.parametrize("bug", FIXED_BUGS, ids=[bug.name for bug in FIXED_BUGS])
def test_a_fixed_bug_spec_compiles_to_valid_xml_or_is_refused(bug):
    report = check_text(bug.spec)
    assert report.failures == []


# --- generating specs -----------------------------------------------------------------------


def virtual_machine_schema(definitions: dict[str, Any]) -> dict[str, Any]:
    """The schema's envelope for kind VirtualMachine alone, with ``definitions`` as $defs.

    (hypothesis-jsonschema also handles the whole schema, its if/then per kind
    included, but by filtering: most of what it draws is then a pool or a network.)
    """
    return {
        "$defs": definitions,
        "type": "object",
        "properties": {
            "apiVersion": SCHEMA["properties"]["apiVersion"],
            "kind": {"const": "VirtualMachine"},
            "metadata": {"$ref": "#/$defs/machineMetadata"},
            "spec": {"$ref": "#/$defs/machineSpec"},
        },
        "required": SCHEMA["required"],
        "additionalProperties": False,
    }


def plausible_definitions() -> dict[str, Any]:
    """The schema's $defs, tightened where the semantic checks refuse what it allows."""
    definitions = copy.deepcopy(SCHEMA["$defs"])
    # 16 MiB to 99 GiB: the schema takes any number with a unit; the memory check takes these.
    definitions["size"]["pattern"] = "^((1[6-9]|[2-9][0-9]|[1-9][0-9]{2,3})MiB|[1-9][0-9]?GiB)$"
    definitions["graphics"]["properties"]["listen"] = {"enum": ["127.0.0.1", "0.0.0.0", "::1"]}
    # No fractions anywhere (the semantic checks refuse every float, even inside cloud-init).
    flat = {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean"]}}
    cloud_init = definitions["machineSpec"]["properties"]["cloudInit"]["properties"]
    cloud_init["userData"]["anyOf"][1] = flat
    cloud_init["networkConfig"] = flat
    return definitions


# Characters XML 1.0 cannot carry; the semantic checks refuse them in any text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(value: Any) -> Any:
    """``value`` with every non-XML character replaced by '?': same lengths, same patterns."""
    if isinstance(value, str):
        return _NOT_XML.sub("?", value)
    if isinstance(value, dict):
        return {xml_safe(key): xml_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [xml_safe(item) for item in value]
    return value


ANY_VM = from_schema(virtual_machine_schema(SCHEMA["$defs"]))
PLAUSIBLE_VM = from_schema(virtual_machine_schema(plausible_definitions())).map(xml_safe)


def dump(document: Any) -> str:
    """YAML text for ``document``: UTF-8 as people write it, except that PyYAML writes
    U+0085 (NEL) raw into a quoted scalar and reads it back as a space; escaped then."""
    return yaml.safe_dump(document, allow_unicode=not _has_nel(document), sort_keys=False)


def _has_nel(document: Any) -> bool:
    return any(
        "\x85" in text
        for _, value in _walk(document)
        for text in (
            [value] if isinstance(value, str) else value if isinstance(value, dict) else []
        )
        if isinstance(text, str)
    )


def relaxng(name: str) -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / name)))


STORAGEVOL_RNG = relaxng("storagevol.rng")


def compile_generated(
    document: dict[str, Any], domain_rng: etree.RelaxNG, test_driver: Any
) -> tuple[str, bytes | None]:
    """One schema-valid document through the real pipeline: ("accepted", xml) or ("refused", None)."""
    assume(known_bug(document) is None)
    documents, problems = load_text(dump(document), "generated.yaml")
    assert problems == [], problems
    assert [loaded.data for loaded in documents] == [document], "the loader changed the data"

    problems = validate_document(documents[0])
    if problems:
        for problem in problems:
            assert problem.line >= 1 and problem.column >= 1, problem
            assert problem.message.strip(), problem
        # The schema accepted the document, so what refused it must be a semantic check.
        expected = [finding.message for finding in semantic_findings(document)]
        assert [problem.message for problem in problems] == expected
        return "refused", None

    xml = domain_xml(lower_virtual_machine(documents[0].data))
    tree = etree.fromstring(xml)
    assert domain_rng.validate(tree), f"{domain_rng.error_log.last_error}\n{xml.decode()}"
    assert tree.findtext("name") == document["metadata"]["name"]
    existing = {domain.name() for domain in test_driver.listAllDomains()}
    if tree.findtext("name") not in existing:  # the driver's own "test" domain: leave it be
        test_driver.defineXML(xml.decode()).undefine()
    for _, volume in wanted_volumes(documents[0].data):
        # As compile writes it when the spec declares the pool (the backing path is the pool's).
        backing = f"/var/lib/vmspec/{volume.backing_volume}" if volume.backing_volume else None
        volume_xml = etree.fromstring(resource_xml(volume.config(backing)))
        assert STORAGEVOL_RNG.validate(volume_xml), STORAGEVOL_RNG.error_log.last_error
    return "accepted", xml


@GENERATED
@given(document=ANY_VM)
def test_every_schema_valid_spec_compiles_or_is_refused_with_a_located_message(
    document, domain_rng, test_driver
):
    compile_generated(document, domain_rng, test_driver)


def test_plausible_specs_compile_to_xml_that_libvirt_defines(domain_rng, test_driver):
    outcomes: Counter[str] = Counter()

    @GENERATED
    @given(document=PLAUSIBLE_VM)
    def check(document):
        outcomes[compile_generated(document, domain_rng, test_driver)[0]] += 1

    check()
    # Guards the generator: if a schema change made nearly every document a refusal,
    # the XML side would go untested while this test still passed.
    assert outcomes["accepted"] >= outcomes["refused"] / 2, outcomes


# For the CLI: the whole schema (pools and networks too), each kind's XML with its RNG.
RNG_BY_KIND = {
    "VirtualMachine": "domain.rng",
    "StoragePool": "storagepool.rng",
    "Network": "network.rng",
}


@pytest.fixture(scope="module")
def rng_by_kind() -> dict[str, etree.RelaxNG]:
    return {kind: relaxng(name) for kind, name in RNG_BY_KIND.items()}


@settings(GENERATED, max_examples=25)
@given(document=from_schema(SCHEMA).map(xml_safe), command=st.sampled_from(["validate", "compile"]))
def test_the_cli_exits_0_or_1_without_a_traceback(document, command, rng_by_kind):
    assume(known_bug(document) is None)
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "generated.yaml"
        spec.write_text(dump(document), encoding="utf-8")
        result = CliRunner().invoke(main, [command, str(spec)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output + result.stderr
    if result.exit_code == 1:
        assert f"{spec}:" in result.stderr
    elif command == "compile":
        rng = rng_by_kind[document["kind"]]
        assert rng.validate(etree.fromstring(result.stdout_bytes)), rng.error_log.last_error
