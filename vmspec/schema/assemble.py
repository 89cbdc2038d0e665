"""The committed JSON Schema, assembled: ``core.schema.json`` (what no family module
declares yet) plus each registered family's fragment under the VirtualMachine spec.

``vmspec.schema.json`` is the assembly, committed so that editors and the validator
read one plain file; tests/schema fails when the two differ. After changing a family's
schema: ``python -m vmspec.schema.assemble``.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

from vmspec.families import FAMILIES
from vmspec.schema.examples import add_derived_examples
from vmspec.schema.titles import add_titles

CORE_FILE = "core.schema.json"
ASSEMBLED_FILE = "vmspec.schema.json"


def assembled_schema() -> dict[str, Any]:
    core = json.loads(resources.files("vmspec.schema").joinpath(CORE_FILE).read_text("utf-8"))
    properties = core["$defs"]["machineSpec"]["properties"]
    for family in FAMILIES:
        for field, schema in {family.spec_field: family.schema, **family.also_says}.items():
            if field in properties:
                raise ValueError(f"{field} is declared in {CORE_FILE} and by its family")
            properties[field] = copy.deepcopy(dict(schema))
    core["$defs"]["profileSpec"] = profile_spec(properties)
    add_titles(core)
    add_derived_examples(core)
    return core


def profile_spec(machine_properties: dict[str, Any]) -> dict[str, Any]:
    """A Profile's spec: the VirtualMachine spec's fields, each by reference (one
    definition, so the two cannot drift), and none of them required. Fields nested in
    a profile need not be complete either: vmspec.schema.validator ignores what a
    profile leaves out, since the VM's own fields or another profile may say it."""
    return {
        "type": "object",
        "description": "a part of a VirtualMachine spec, laid under the spec of every VM that lists this profile in spec.profiles",
        "properties": {
            field: {"$ref": f"#/$defs/machineSpec/properties/{field}"}
            for field in machine_properties
        },
        "additionalProperties": False,
    }


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    target = Path(__file__).with_name(ASSEMBLED_FILE)
    target.write_text(schema_text(assembled_schema()), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
