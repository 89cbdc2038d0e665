"""``<os><acpi>``: ACPI tables the firmware hands the guest from a host file
(formatdomain "BIOS bootloader"). libvirt 9.0 takes one kind, SLIC: the table Windows
reads for an OEM activation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from vmspec.config.xmlmap import attr, children, config_class, text
from vmspec.families.family import Family, Identity, Place, Spec


@config_class
class AcpiTable:
    TAG: ClassVar[str] = "table"
    type: str | None = attr("type")
    path: str | None = text()


@config_class
class AcpiTables:
    TAG: ClassVar[str] = "acpi"
    tables: tuple[AcpiTable, ...] = children()


SCHEMA = {
    "type": "object",
    "description": "ACPI tables from host files, by kind (libvirt 9.0 has slic only)",
    "properties": {
        "slic": {
            "$ref": "#/$defs/absolutePath",
            "description": "the SLIC table (Windows' OEM activation), such as a dump of the host's",
        }
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [{"slic": "/sys/firmware/acpi/tables/SLIC"}],
}


def lower(spec: Spec, identity: Identity) -> AcpiTables | None:
    tables = spec.get("acpiTables")
    if not tables:
        return None
    return AcpiTables(
        tables=tuple(AcpiTable(type=kind, path=path) for kind, path in tables.items())
    )


def lift(tables: AcpiTables | None, spec: Spec, identity: Identity) -> dict[str, str] | None:
    if tables is None:
        return None
    lifted = {table.type: table.path for table in tables.tables if table.type and table.path}
    return lifted or None


def _table_files(tables: AcpiTables | None) -> Iterable[tuple[str, str]]:
    # QEMU reads the file when the guest starts: a missing one fails the start, not define.
    for table in tables.tables if tables else ():
        if table.path:
            yield (f"ACPI {table.type} table", table.path)


FAMILY = Family(
    spec_field="acpiTables",
    schema=SCHEMA,
    place=Place.OS,
    config_field="acpi",
    lower=lower,
    lift=lift,
    host_paths=_table_files,
)
