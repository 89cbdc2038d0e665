"""What import still drops for one element family, across libvirt's test corpus.

    .venv/bin/python benchmarks/family_gaps.py /domain/devices/interface

Each line: how many times a dropped XPath (or change) occurs, in how many files it is
the only gap, and the XPath; so that vocabulary work starts with what unlocks most.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

if not __package__:  # run as a file: make the repository importable, as pytest does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus_report import family
from tests.lift.test_corpus import corpus_dir, corpus_files
from vmspec.lift.sources import lift_xml


def main() -> None:
    wanted = sys.argv[1]
    occurrences: Counter[str] = Counter()
    only: Counter[str] = Counter()
    for path in corpus_files(corpus_dir()):
        lifted = lift_xml(path.read_bytes(), path.name)
        families = {family(dropped) for dropped in lifted.dropped}
        for dropped in lifted.dropped:
            if family(dropped) != wanted:
                continue
            xpath, _, detail = dropped.partition(": ")
            key = re.sub(r"\[\d+\]", "", xpath)
            if "@type" in xpath and detail:
                key += ": " + detail[:50]
            occurrences[key] += 1
            only[key] += families == {wanted}
    for key, count in occurrences.most_common(40):
        print(count, only[key], key)


if __name__ == "__main__":
    main()
