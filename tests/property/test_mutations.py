"""Mutants of the example specs (benchmarks/fuzz_mutations.py) through the real CLI:
no traceback, exit 0 or 1, and every accepted mutant's XML valid for libvirt."""

from __future__ import annotations

from benchmarks.fuzz_mutations import KINDS, example_files, fuzz, make_mutant
from tests.property.test_generated_specs import known_bug

SEED = 20240611
COUNT = 300


def test_mutants_of_the_examples_never_crash_and_accepted_ones_are_valid_libvirt_xml():
    report = fuzz(SEED, COUNT, known_bug=known_bug)
    failures = "\n\n".join(
        f"{failure.what}: mutant {failure.index} of {failure.file}\n"
        + "\n".join(failure.mutations)
        + f"\n{failure.detail}"
        for failure in report.failures
    )
    assert report.failures == [], failures
    assert report.tracebacks == 0
    # The fuzzer must reach both outcomes, or it tests one side only.
    assert report.accepted >= COUNT // 20, report.to_json()
    assert report.xml_files >= report.accepted
    # Refusals are located: FILE:LINE:COL with a line, and nothing else on stderr.
    assert report.anomalies == []


def test_every_kind_of_mutation_is_drawn():
    files = example_files()
    drawn = {kind for index in range(100) for kind in make_mutant(SEED, index, files, []).kinds}
    assert drawn >= set(KINDS)


def test_a_mutant_is_the_same_on_every_run():
    files = example_files()
    assert make_mutant(SEED, 7, files, []) == make_mutant(SEED, 7, files, [])
