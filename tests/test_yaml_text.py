"""The YAML vmspec writes (``vmspec import``) reads back as the same data, also for the
characters YAML counts as line breaks besides \\n: U+0085 (NEL), U+2028 and U+2029."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import vmspec
from vmspec.emit import domain_xml
from vmspec.load import load_text
from vmspec.lower import lower_virtual_machine
from vmspec.yaml_text import YAML_ONLY_LINE_BREAKS, dump_spec_yaml

LINE_BREAKS = [*YAML_ONLY_LINE_BREAKS, "\n", "\r", "\r\n"]


def test_the_yaml_only_line_breaks_are_the_three_yaml_1_1_names():
    # NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR: YAML 1.1's b-char besides \n and \r.
    assert set(YAML_ONLY_LINE_BREAKS) == {"\x85", "\u2028", "\u2029"}


@pytest.mark.parametrize("line_break", LINE_BREAKS, ids=[f"U+{ord(c[0]):04X}" for c in LINE_BREAKS])
def test_text_with_a_line_break_reads_back_exactly(line_break):
    document = {
        "metadata": {
            "description": f"first{line_break}second",
            "labels": {f"key{line_break}": line_break, "tail": f"end{line_break}"},
        },
        "long": "word " * 30 + line_break + "word " * 30,  # the emitter folds long lines
    }
    text = dump_spec_yaml(document)
    assert yaml.safe_load(text) == document
    documents, problems = load_text(text, "imported.yaml")
    assert problems == []
    assert documents[0].data == document


def test_the_yaml_only_line_breaks_are_escaped_and_other_text_stays_readable():
    text = dump_spec_yaml({"description": "José\x85naïve\u2028end\u2029", "name": "web-01"})
    assert text == 'description: "José\\Nnaïve\\Lend\\P"\nname: web-01\n'


def test_a_description_and_a_label_with_nel_round_trip_through_import(tmp_path):
    metadata = {
        "name": "nel-01",
        "labels": {"role": "web\x85db", "note": "a\u2028b"},
        "description": "first line\x85second line\u2029third",
    }
    document = {
        "apiVersion": "vmspec/v1",
        "kind": "VirtualMachine",
        "metadata": metadata,
        "spec": {"domainType": "kvm", "memory": "1GiB", "vcpus": 1},
    }
    xml = domain_xml(lower_virtual_machine(document))
    (tmp_path / "nel-01.xml").write_bytes(xml)

    imported = vmspec("import", "--xml", str(tmp_path / "nel-01.xml"))
    assert imported.returncode == 0, imported.stderr
    documents, problems = load_text(imported.stdout, "nel-01.yaml")
    assert problems == []
    assert documents[0].data["metadata"] == metadata
    assert domain_xml(lower_virtual_machine(documents[0].data)) == xml


def test_a_cloud_init_user_data_mapping_keeps_a_nel_for_cloud_init():
    from vmspec.seed.nocloud import render_user_data

    text = render_user_data({"write_files": [{"content": "one\x85two", "path": "/etc/motd"}]})
    assert text.startswith("#cloud-config\n")
    assert yaml.safe_load(text)["write_files"][0]["content"] == "one\x85two"


def test_a_hex_number_is_written_in_hex_and_reads_back_as_the_same_number():
    from vmspec.yaml_text import HexInt

    text = dump_spec_yaml({"vendor": HexInt(0x0529), "bus": 1})
    assert text == "vendor: 0x0529\nbus: 1\n"
    assert yaml.safe_load(text) == {"vendor": 0x0529, "bus": 1}
