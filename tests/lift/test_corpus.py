"""lift against libvirt's own test suite: every domain XML in qemuxml2xmloutdata/ and
qemuxml2argvdata/ (Debian's libvirt source, fetched by scripts/fetch-libvirt-tests).

Each file is imported or refused with what the vocabulary lacks, never a traceback. A
file lift calls lossless must really round-trip: its spec, written as ``vmspec import``
writes it, is a valid spec; it compiles to XML libvirt's schema accepts; lifting that XML
is lossless again and gives the same spec; and every attribute and text of the original
that the mapping covers comes back equal, apart from the few values libvirt fills in
itself (``LIBVIRT_FILL_INS``); nor may a setting the domain chose itself be passed over
as one libvirt allocates (``hidden``). benchmarks/corpus_report.py prints the same walk
as tables for the README.
"""

from __future__ import annotations

import re
import subprocess
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from vmspec.arches import QEMU_DEFAULT_CPU_MODELS, default_serial_target_type
from vmspec.config.domain import Domain
from vmspec.config.xmlmap import XmlMappingError, from_element, to_element
from vmspec.emit import domain_xml
from vmspec.families import cputune
from vmspec.families.audio import default_backend
from vmspec.families.controller import Controller, is_libvirts_own
from vmspec.families.panic import LIBVIRTS_OWN_MODELS as LIBVIRTS_OWN_PANICS
from vmspec.families.video import LIBVIRT_MEMORY as LIBVIRT_VIDEO_MEMORY
from vmspec.lift import Lifted
from vmspec.lift.sources import lift_xml
from vmspec.load import load_text
from vmspec.lower import lower_virtual_machine
from vmspec.problems import format_field_path
from vmspec.schema import validate_document
from vmspec.units import libvirt_size_in_kib
from vmspec.yaml_text import dump_spec_yaml

REPO = Path(__file__).resolve().parents[2]
FETCH = REPO / "scripts" / "fetch-libvirt-tests"
CORPUS = REPO / ".cache" / "libvirt-tests"
FOLDERS = ("qemuxml2xmloutdata", "qemuxml2argvdata")
# libvirt 9.0's test suite has 620 and 1,070 files; fewer means a broken fetch.
AT_LEAST = {"qemuxml2xmloutdata": 600, "qemuxml2argvdata": 1000}
DOMAIN_RNG = Path("/usr/share/libvirt/schemas/domain.rng")
# The share of distinct files that round-trip (every check below), measured with libvirt
# 9.0.0 (Debian 12): 1,144 of 1,543 = 74.1%. A little under it, so a regression fails.
ROUND_TRIP_FLOOR = 0.72


# --- the corpus ---------------------------------------------------------------------------


class CorpusUnavailable(Exception):
    pass


def corpus_dir() -> Path:
    """The unpacked test files, fetched first when this checkout has none yet."""
    if (CORPUS / ".complete").is_file():
        return CORPUS
    try:
        result = subprocess.run(
            [str(FETCH)], capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CorpusUnavailable(f"{FETCH.name} could not run: {error}") from error
    if result.returncode != 0:
        raise CorpusUnavailable(
            f"{FETCH.name} failed (exit {result.returncode}): libvirt's test XML comes from "
            "Debian's libvirt source package through apt, so the package mirrors must be "
            "reachable. Its last words:\n" + "\n".join(result.stderr.strip().splitlines()[-8:])
        )
    return Path(result.stdout.strip().splitlines()[-1])


def corpus_files(root: Path) -> list[Path]:
    return [path for folder in FOLDERS for path in sorted((root / folder).glob("*.xml"))]


@dataclass
class Outcome:
    """One file: what lift made of it, and for a lossless lift what the round trip found."""

    path: Path
    lifted: Lifted | None = None
    error: str | None = None  # lift_xml raised: the traceback
    problems: list[str] = field(default_factory=list)  # the round trip's, lossless files only

    @property
    def folder(self) -> str:
        return self.path.parent.name

    @property
    def round_trips(self) -> bool:
        return self.lifted is not None and self.lifted.lossless and not self.problems


def examine(path: Path, schema: etree.RelaxNG) -> Outcome:
    original = path.read_bytes()
    outcome = Outcome(path)
    try:
        outcome.lifted = lift_xml(original, path.name)
    except Exception:
        outcome.error = traceback.format_exc()
        return outcome
    if outcome.lifted.lossless:
        outcome.problems = round_trip_problems(original, outcome.lifted, schema)
    return outcome


@cache
def domain_schema() -> etree.RelaxNG:
    # libvirt's own schema, shipped by Debian's libvirt0 (installed by scripts/install).
    return etree.RelaxNG(etree.parse(str(DOMAIN_RNG)))


# --- the round trip -----------------------------------------------------------------------


def round_trip_problems(original: bytes, lifted: Lifted, schema: etree.RelaxNG) -> list[str]:
    # As `vmspec import` writes it and `vmspec compile` reads it back.
    text = dump_spec_yaml(lifted.document)
    documents, problems = load_text(text, "imported.yaml")
    problems = problems or [p for document in documents for p in validate_document(document)]
    if problems:
        return [f"not a valid spec: {format_field_path(p.path)}: {p.message}" for p in problems]
    compiled = domain_xml(lower_virtual_machine(documents[0].data))
    found = []
    if not schema.validate(etree.fromstring(compiled)):
        found.append(f"compiled XML fails domain.rng: {schema.error_log.last_error}")
    again = lift_xml(compiled, "compiled")
    if again.dropped:
        found.append(f"lifting the compiled XML drops {list(again.dropped)}")
    elif again.document != lifted.document:
        found.append(f"lifting the compiled XML gives another spec: {again.document}")
    found += [
        f"{xpath}: {before!r} comes back as {after!r}"
        for xpath, before, after in covered_differences(original, compiled)
    ]
    found += [f"{xpath}: set by hand, yet passed over as libvirt's" for xpath in hidden(original)]
    return found


def covered_differences(original: bytes, compiled: bytes) -> list[tuple[str, str, str | None]]:
    """Each attribute and text of ``original`` that the config mapping covers and that
    ``compiled`` does not give back equal, libvirt's fill-ins aside: (xpath, was, is)."""
    original_root, compiled_root = etree.fromstring(original), etree.fromstring(compiled)
    # Fill-ins first, so that the XPaths of what remains count as the comparison does.
    _remove_fill_ins(original_root, compiled_root)
    uncovered: list[str] = []
    from_element(Domain, original_root, uncovered)
    wanted, got = dict(_values(original_root)), dict(_values(compiled_root))
    return [
        (xpath, value, got.get(xpath))
        for xpath, value in wanted.items()
        if got.get(xpath) != value and not _under(xpath, uncovered)
    ]


# What libvirt writes into a definition where the spec (rightly) says nothing; each is the
# same guest as without it (formatdomain, and the qemu driver's defaults).
LIBVIRT_FILL_INS = (
    "devices/emulator",  # the QEMU binary for the arch, libvirt's to pick
    "devices/input[@bus='ps2']",  # implicit on x86: every PC has a PS/2 mouse and keyboard
    # a display with no listen address listens where qemu.conf says; libvirt writes that so
    "devices/graphics/listen[@type='address'][count(@*)=1][not(*)]",
    # not libvirt's but virt-install's: a unix channel that binds where libvirt picks the
    # socket, the same channel as one without a source (vmspec.host.normalize says so too)
    "devices/channel[@type='unix']/source[@mode='bind'][count(@*)=1][not(*)]",
    # output only (domaincommon.rng): what a security driver labels files with, and the
    # label a dynamic one picks at start
    "seclabel/imagelabel",
    "seclabel[not(@type) or @type='dynamic']/label",
)
# The check libvirt 9.0 records for a mode whose definition names none (qemuDomainDefCPUPostParse).
_DEFAULT_CPU_CHECKS = {"host-model": "partial", "host-passthrough": "none", "maximum": "none"}
_SIZES_IN_KIB = "|".join(
    f"{path}[@unit][string(number(text())) != 'NaN']"
    for path in ("memory", "currentMemory", "maxMemory", "memtune/*")
)


# What libvirt allocates (vmspec/config/allocation.py): the mapping covers it, so that apply
# can carry it over, and import writes none of it (vmspec.compare.normalize says so), but
# the interface's user alias, which the spec names for NIC teaming.
LIBVIRT_ALLOCATIONS = (
    "devices/*/address",
    "devices/*[not(self::interface)]/alias",
    "devices/interface/alias[not(starts-with(@name, 'ua-'))]",
)


def _remove_fill_ins(original: etree._Element, compiled: etree._Element) -> None:
    for xpath in (*LIBVIRT_FILL_INS, *LIBVIRT_ALLOCATIONS):
        for element in original.xpath(xpath):
            element.getparent().remove(element)
    if compiled.find("devices/audio") is None:
        # The audio backend QEMU 7 needs, which libvirt adds to a domain without one
        # (vmspec.families.audio.default_backend): none, or SPICE's own channel.
        types = [element.get("type") for element in original.iterfind("devices/graphics")]
        backend = default_backend(types)
        default = backend.type if backend else "-"
        for audio in original.xpath(
            f"devices/audio[@id='1'][@type='{default}'][count(@*)=2][not(*)]"
        ):
            audio.getparent().remove(audio)
    # The controllers libvirt adds by itself (vmspec/compare/normalize.py decides which),
    # where the compiled domain names none of their type.
    machine = original.xpath("string(os/type/@machine)") or None
    named = {element.get("type") for element in compiled.iterfind("devices/controller")}
    for element in original.findall("devices/controller"):
        controller = from_element(Controller, element, [])
        # Where the compiled domain names the PCI root (its pcihole64), the rest of the
        # PCI topology is still libvirt's.
        pci_topology = element.get("type") == "pci" and element.get("index") != "0"
        if (element.get("type") not in named or pci_topology) and is_libvirts_own(
            controller, machine
        ):
            element.getparent().remove(element)
    if original.find("devices/smartcard") is not None and "ccid" not in named:
        # The CCID controller libvirt adds for a smartcard reader (vmspec.families.smartcard).
        for element in original.xpath("devices/controller[@type='ccid'][@index='0'][not(@ports)]"):
            element.getparent().remove(element)
    # A closed tray is libvirt's default, which it drops on define (vmspec.families.disk).
    for target in original.xpath("devices/disk/target[@tray='closed']"):
        del target.attrib["tray"]
    arch = original.xpath("string(os/type/@arch)") or "x86_64"
    for graphics in original.xpath(
        "devices/graphics[@type='spice'][@autoport='no'][not(@port)][not(@tlsPort)][not(listen)]"
    ):
        # libvirt reads this as SPICE listening nowhere: <listen type='none'/>
        # (vmspec.families.graphics.as_libvirt_reads_it).
        del graphics.attrib["autoport"]
    for graphics in original.xpath("devices/graphics[@autoport='yes'][@port]"):
        # With autoport the port is libvirt's to pick at start; it stores port='-1'.
        graphics.set("port", "-1")
    videos = original.findall("devices/video")
    primaries = [video for video in videos if video.find("model[@primary='yes']") is not None]
    if len(primaries) == 1 and videos[0] is not primaries[0]:
        # libvirt stores the primary card first (vmspec.families.video.primary_first).
        videos[0].addprevious(primaries[0])
    for model in original.xpath("devices/video/model[@primary='no']"):
        del model.attrib["primary"]
    for index, model in enumerate(original.xpath("devices/video/model")):
        # libvirt writes each model's default video memory (vmspec.families.video).
        compiled_model = compiled.xpath(f"devices/video[{index + 1}]/model")
        defaults = LIBVIRT_VIDEO_MEMORY.get(model.get("type"), {})
        for name, default in defaults.items():
            stated = compiled_model and compiled_model[0].get(name) is not None
            if model.get(name) == str(default) and not stated:
                del model.attrib[name]
    # The panic notifier libvirt gives every pseries and s390 guest (vmspec.families.panic).
    compiled_panics = {element.get("model") for element in compiled.iterfind("devices/panic")}
    for element in original.findall("devices/panic"):
        model = element.get("model")
        # An address is libvirt's to allocate (normalize's rule), for its own panic too.
        only_address = all(child.tag == "address" for child in element)
        if model in LIBVIRTS_OWN_PANICS and model not in compiled_panics and only_address:
            element.getparent().remove(element)
    cpu, compiled_cpu = original.find("cpu"), compiled.find("cpu")
    if cpu is not None and compiled_cpu is None and _is_default_cpu(cpu, arch):
        original.remove(cpu)
    elif (
        cpu is not None
        and compiled_cpu is not None
        and compiled_cpu.get("mode") is None
        and compiled_cpu.find("model") is None
        and _names_default_model(cpu, arch)
    ):
        # A <cpu> of topology or NUMA cells alone: libvirt writes QEMU's default model
        # into it (seen with libvirt 9.0: define, dumpxml --inactive).
        for name in ("mode", "match", "check"):
            cpu.attrib.pop(name, None)
        cpu.remove(cpu.find("model"))
    elif (
        cpu is not None
        and cpu.get("check") is not None
        and cpu.get("check") == _DEFAULT_CPU_CHECKS.get(cpu.get("mode"))
        and (compiled_cpu is None or compiled_cpu.get("check") is None)
    ):
        del cpu.attrib["check"]
    model, compiled_model = original.find("cpu/model"), compiled.find("cpu/model")
    if (
        cpu is not None
        and cpu.get("mode") == "host-model"
        and model is not None
        and model.get("fallback") == "allow"
        and compiled_model is not None
        and compiled_model.get("fallback") is None
    ):
        # A POWER compatibility model: libvirt writes fallback='allow' into it.
        del model.attrib["fallback"]
    if (
        cpu is not None
        and cpu.get("mode") == "host-model"
        and model is not None
        and not (model.text or "").strip()
        and dict(model.attrib) == {"fallback": "allow"}
        and compiled_model is None
    ):
        # libvirt drops a host-model's bare <model fallback='allow'/>, its default
        # (qemuxml2xmloutdata/cpu-host-model-features.xml).
        cpu.remove(model)
    for hole in original.findall("devices/controller/pcihole64"):
        # libvirt stores a PCI root's hole in KiB (qemuxml2xmloutdata/pcihole64-gib.xml).
        kib = libvirt_size_in_kib(int(hole.text or 0), hole.get("unit"))
        hole.set("unit", "KiB")
        hole.text = str(kib)
    genid, compiled_genid = original.find("genid"), compiled.find("genid")
    if genid is not None and compiled_genid is not None and not compiled_genid.text:
        # <genid/> asks libvirt for a value, which it writes in (vmspec/families/genid.py).
        genid.text = None
    for disk in original.findall("devices/disk"):
        # <auth> and <encryption> in <disk>, their place before libvirt 3.9 and 4.5, are
        # the same as in <source>, where vmspec writes them (vmspec.compare.normalize).
        source = disk.find("source")
        for tag in ("auth", "encryption"):
            element = disk.find(tag)
            if element is not None and source is not None and source.find(tag) is None:
                source.append(element)
        encryption = disk.find("source/encryption")
        if encryption is not None and encryption.get("engine") is None:
            encryption.set("engine", "qemu")
    # Sizes libvirt keeps in KiB (SMM's in MiB), whatever the unit they were written in
    # (vmspec.families.features and pseries say so too).
    for xpath, unit in (
        ("features/hpt/maxpagesize | features/tcg/tb-cache", "KiB"),
        ("features/smm/tseg", "MiB"),
    ):
        for size in original.xpath(xpath):
            kib = libvirt_size_in_kib(int(size.text), size.get("unit") or unit)
            if kib is not None and kib % libvirt_size_in_kib(1, unit) == 0:
                size.set("unit", unit)
                size.text = str(kib // libvirt_size_in_kib(1, unit))
    default_serial = default_serial_target_type(arch, machine)
    for target in original.findall("devices/serial/target"):
        if default_serial and target.get("type") == default_serial:
            del target.attrib["type"]
    # libvirt keeps I/O thread pins in the guest's order of its threads and one scheduler
    # setting per thread (vcpus='0-1' is two): the cputune family says how.
    tune, compiled_tune = original.find("cputune"), compiled.find("cputune")
    if tune is not None and compiled_tune is not None:
        stored = cputune.as_libvirt_stores_it(
            from_element(cputune.Cputune, tune, []),
            from_element(cputune.Cputune, compiled_tune, []),
        )
        tune[:] = list(to_element(stored))
    # libvirt keeps NUMA cells in id order (0, 2, 1 is stored 0, 1, 2).
    numa = original.find("cpu/numa")
    cells = numa.findall("cell") if numa is not None else []
    if all((cell.get("id") or "").isdigit() for cell in cells):
        for cell in sorted(cells, key=lambda cell: int(cell.get("id"))):
            numa.append(cell)  # moves it to the end, in id order
    # libvirt stores every memory size in KiB (214 MiB as 219136 KiB; 'bytes' and 'KB'
    # rounded up to whole KiB), which is what vmspec writes.
    for element in original.xpath(_SIZES_IN_KIB):
        kib = libvirt_size_in_kib(int(element.text), element.get("unit"))
        if kib is not None:
            element.set("unit", "KiB")
            element.text = str(kib)


def _is_default_cpu(cpu: etree._Element, arch: str) -> bool:
    model = cpu.find("model")
    return (
        cpu.get("mode") == "custom"
        and cpu.get("check") == "none"
        and model is not None
        # no <cpu> is written as QEMU's default model for the arch (qemu64 on x86)
        and (model.text or "").strip() in QEMU_DEFAULT_CPU_MODELS.get(arch, ())
        and len(cpu) == 1
    )


def _names_default_model(cpu: etree._Element, arch: str) -> bool:
    model = cpu.find("model")
    return (
        cpu.get("mode") == "custom"
        and cpu.get("match") in (None, "exact")
        and cpu.get("check") == "none"
        and model is not None
        and (model.text or "").strip() in QEMU_DEFAULT_CPU_MODELS.get(arch, ())
        and cpu.find("feature") is None
    )


def hidden(original: bytes) -> list[str]:
    """Settings the mapping leaves to libvirt (vmspec.compare.normalize.unexplained), where this
    domain chose them itself: an import that passes over them changes the guest."""
    # None left: a loader and its NVRAM are mapped (vmspec.families.firmware leaves only
    # what the spec leaves unsaid to libvirt), and so is audio (vmspec.families.audio);
    # covered_differences sees any of them that does not come back.
    del original
    return []


# libvirt applies CPU features and clock timers by name, in any order (vmspec sorts the
# features, and writes its policy's timers first).
_NAMED_SETS = ("feature", "timer")


def _values(element: etree._Element, xpath: str = "") -> Iterator[tuple[str, str]]:
    """(xpath, value) of every attribute and text below ``element``, indexed as the config
    mapping indexes its uncovered XPaths: ``disk[2]`` only where there are several."""
    xpath = xpath or f"/{_tag(element)}"
    for name, value in element.attrib.items():
        yield f"{xpath}/@{name}", value
    if element.text and element.text.strip():
        yield f"{xpath}/text()", element.text.strip()
    children = [item for item in element if isinstance(item.tag, str)]
    for item in children:
        same = [other for other in children if other.tag == item.tag]
        if item.tag in _NAMED_SETS:
            step = f"[@name='{item.get('name')}']"
        else:
            step = f"[{same.index(item) + 1}]" if len(same) > 1 else ""
        yield from _values(item, f"{xpath}/{_tag(item)}{step}")


def _tag(element: etree._Element) -> str:
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _under(xpath: str, uncovered: list[str]) -> bool:
    """Is ``xpath`` one of the uncovered XPaths, or inside one? (Those are libvirt's own,
    or the file would not be lossless: see vmspec.compare.normalize.unexplained.)"""
    return any(xpath == path or xpath.startswith(f"{path}/") for path in uncovered)


# --- the tests ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    assert DOMAIN_RNG.is_file(), f"{DOMAIN_RNG} is missing: scripts/install installs libvirt"
    try:
        root = corpus_dir()
    except CorpusUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    schema = domain_schema()
    return [examine(path, schema) for path in corpus_files(root)]


def _listing(lines: list[str], limit: int = 15) -> str:
    shown = "\n".join(f"  {line}" for line in lines[:limit])
    more = f"\n  ... and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"{shown}{more}"


def test_the_corpus_has_libvirts_test_files(outcomes):
    counts = {folder: sum(o.folder == folder for o in outcomes) for folder in FOLDERS}
    assert all(counts[folder] >= AT_LEAST[folder] for folder in FOLDERS), counts


def test_lift_never_raises(outcomes):
    raised = [o for o in outcomes if o.error is not None]
    lines = [f"{o.folder}/{o.path.name}: {o.error.strip().splitlines()[-1]}" for o in raised]
    assert len(raised) == 0, f"lift_xml raised on {len(raised)} files:\n{_listing(lines)}"


def test_every_file_is_imported_or_refused_with_what_the_vocabulary_lacks(outcomes):
    lifted = [o.lifted for o in outcomes if o.lifted is not None]
    unexplained = [
        item.name
        for item in lifted
        if not item.lossless and not all(isinstance(d, str) and d.strip() for d in item.dropped)
    ]
    empty = [item.name for item in lifted if item.lossless and not item.document.get("spec")]
    assert not unexplained, f"refused without saying why: {unexplained}"
    assert not empty, f"lossless, yet no spec: {empty}"


def test_every_lossless_file_round_trips(outcomes):
    failing = [o for o in outcomes if o.lifted and o.lifted.lossless and o.problems]
    lines = [f"{o.folder}/{o.path.name}: {o.problems[0]}" for o in failing]
    lossless = sum(bool(o.lifted and o.lifted.lossless) for o in outcomes)
    assert len(failing) == 0, (
        f"{len(failing)} of {lossless} files lift calls lossless do not round-trip:\n"
        f"{_listing(lines)}"
    )


def test_the_share_that_round_trips_stays_above_the_floor(outcomes):
    # A symlink in qemuxml2xmloutdata names a file of qemuxml2argvdata: count it once.
    distinct = {o.path.resolve(): o for o in outcomes}.values()
    share = sum(o.round_trips for o in distinct) / len(distinct)
    assert share >= ROUND_TRIP_FLOOR, f"{share:.1%} of the corpus round-trips"


def test_corpus_is_fetched_by_the_script_not_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", str(CORPUS)], cwd=REPO, check=False)
    assert ignored.returncode == 0, ".cache/ must stay out of git"


# --- the comparison itself, on two small domains ---------------------------------------------

_COMPILED = (
    b"<domain type='kvm'><name>a</name><os><type arch='x86_64'>hvm</type></os><devices>"
    b"<disk type='file'><driver name='qemu' type='raw' cache='none'/><source file='/a.img'/>"
    b"<target dev='vda' bus='virtio'/></disk></devices></domain>"
)


def test_the_comparison_sees_a_covered_value_that_does_not_come_back():
    original = _COMPILED.replace(b"cache='none'", b"cache='writeback'")
    assert covered_differences(original, _COMPILED) == [
        ("/domain/devices/disk/driver/@cache", "writeback", "none")
    ]


def test_the_comparison_leaves_libvirts_fill_ins_and_allocations_aside():
    original = _COMPILED.replace(
        b"<devices>",
        b"<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
        b"<controller type='usb' index='0'/><input type='mouse' bus='ps2'/>",
    ).replace(b"</disk>", b"<address type='pci' bus='0x00' slot='0x04'/></disk>")
    assert covered_differences(original, _COMPILED) == []


def test_a_loader_of_its_own_that_does_not_come_back_is_seen():
    # Without firmware='efi' nothing selects a firmware: this loader (OVMF) is the domain's
    # own, and without it the guest would boot SeaBIOS.
    loader = b"<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
    original = _COMPILED.replace(b"</type>", b"</type>" + loader)
    assert ("/domain/os/loader/@type", "pflash", None) in covered_differences(original, _COMPILED)


def test_every_controller_and_device_address_of_the_corpus_is_covered():
    """Apply carries libvirt's own controllers and each device's address over as config
    objects (vmspec/host/preserve.py): what the mapping left out of one would be dropped
    by the redefine. So every one of libvirt's test files must parse them whole."""
    try:
        root = corpus_dir()
    except CorpusUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    allocation = re.compile(r"^/domain/devices/(?:controller(?:\[\d+\])?/|[^/]+/address)")
    left_out = set()
    for path in corpus_files(root):
        uncovered: list[str] = []
        try:
            from_element(Domain, etree.parse(str(path)).getroot(), uncovered)
        except XmlMappingError:
            continue  # a value the mapping cannot read: lift refuses the file
        left_out.update(f"{path.name}: {xpath}" for xpath in uncovered if allocation.match(xpath))
    assert sorted(left_out) == []
