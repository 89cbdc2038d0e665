"""``<sysinfo>`` and ``<os><smbios>``: what the guest reads as its hardware's identity
(the SMBIOS tables dmidecode shows: BIOS, system, base boards, chassis, OEM strings),
and QEMU's firmware configuration entries (fw_cfg, such as an Ignition config).

formatdomain "SMBIOS System Information". Two families, one module: the SMBIOS tables
reach the guest only with ``<smbios mode='sysinfo'/>``, the policy below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from vmspec.config.xmlmap import attr, child, children, config_class, discriminator, text
from vmspec.families.family import Family, Identity, Place, Spec
from vmspec.problems import Finding


@config_class
class SysinfoEntry:
    TAG: ClassVar[str] = "entry"
    name: str | None = attr("name")
    file: str | None = attr("file")  # fw_cfg: the entry's content is this host file's
    value: str | None = text()


@config_class
class SmbiosTable:
    """``<bios>``, ``<system>``, ``<baseBoard>`` or ``<chassis>``: the tag is the field's."""

    TAG: ClassVar[str] = "table"
    entries: tuple[SysinfoEntry, ...] = children("entry")


@config_class
class SmbiosSysinfo:
    TAG: ClassVar[str] = "sysinfo"
    type: str = discriminator("type", "smbios")
    bios: SmbiosTable | None = child("bios")
    system: SmbiosTable | None = child("system")
    base_boards: tuple[SmbiosTable, ...] = children("baseBoard")
    chassis: SmbiosTable | None = child("chassis")
    oem_strings: SmbiosTable | None = child("oemStrings")


@config_class
class FwcfgSysinfo:
    TAG: ClassVar[str] = "sysinfo"
    type: str = discriminator("type", "fwcfg")
    entries: tuple[SysinfoEntry, ...] = children("entry")


Sysinfo = SmbiosSysinfo | FwcfgSysinfo


@config_class
class Smbios:
    TAG: ClassVar[str] = "smbios"
    mode: str | None = attr("mode")


# --- the spec's words: libvirt 9.0's entry names, table by table ---------------------------

# (spec key, config field, libvirt's entry names)
_TABLES = (
    ("bios", "bios", ("vendor", "version", "date", "release")),
    ("system", "system", ("manufacturer", "product", "version", "serial", "uuid", "sku", "family")),
    ("chassis", "chassis", ("manufacturer", "version", "serial", "asset", "sku")),
)
_BASE_BOARD = ("manufacturer", "product", "version", "serial", "asset", "location")
_SMBIOS_KEYS = ("bios", "system", "baseBoards", "chassis", "oemStrings")


# libvirt refuses another form of the BIOS date ("Invalid BIOS 'date' format"): a two-digit
# year means 19yy, a four-digit one must be 1900 or later.
_BIOS_DATE = {
    "type": "string",
    "pattern": r"^(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/([0-9]{2}|(19|[2-9][0-9])[0-9]{2})$",
    "description": "the BIOS release date as mm/dd/yyyy, such as 06/30/2021",
    "examples": ["06/30/2021"],
}


# What each SMBIOS entry is, as dmidecode names it, and a value it may have.
_ENTRIES = {
    "vendor": ("the vendor", "Example BIOS Inc."),
    "version": ("the version", "1.4.2"),
    "release": ("the BIOS's major and minor release, such as 1.2", "1.2"),
    "manufacturer": ("the manufacturer", "Example Corp"),
    "product": ("the product name", "web tier"),
    "serial": ("the serial number", "W-0001"),
    "uuid": (
        "the UUID, which must be the domain's own uuid where given",
        "c7a5fdbd-edaf-9455-926a-d65c16db1809",
    ),
    "sku": ("the SKU number", "SKU-1234"),
    "family": ("the product family", "Virtual Servers"),
    "asset": ("the asset tag", "A-0001"),
    "location": ("the location in the chassis", "slot 1"),
}


def _table_schema(names: tuple[str, ...], what: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": what,
        "properties": {
            name: _BIOS_DATE
            if name == "date"
            else {
                "type": "string",
                "minLength": 1,
                "description": f"{_ENTRIES[name][0]} the guest reads in this SMBIOS table",
                "examples": [_ENTRIES[name][1]],
            }
            for name in names
        },
        "additionalProperties": False,
        "minProperties": 1,
    }


SYSINFO_SCHEMA = {
    "type": "object",
    "description": "the hardware identity the guest reads (SMBIOS tables, as dmidecode shows them) and QEMU fw_cfg entries, as in libvirt's <sysinfo>",
    "properties": {
        **{
            key: _table_schema(names, f"SMBIOS {key} information (libvirt's <{field}>)")
            for key, field, names in _TABLES
        },
        "baseBoards": {
            "type": "array",
            "items": _table_schema(_BASE_BOARD, "one base board (SMBIOS type 2)"),
            "minItems": 1,
            "description": "SMBIOS base board information (libvirt's <baseBoard>), one entry per board",
        },
        "oemStrings": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "description": "OEM strings (SMBIOS type 11), which guest agents read for settings",
        },
        "fwcfg": {
            "type": "array",
            "description": "QEMU firmware configuration entries, each a value or a host file's content",
            "items": {
                "type": "object",
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^opt/[^ ]+$",
                        "description": "opt/ and a name (QEMU reserves the rest)",
                    },
                    "value": {
                        "type": "string",
                        "description": "the entry's content, as text; or file",
                    },
                    "file": {
                        "$ref": "#/$defs/absolutePath",
                        "description": "a host file whose content is the entry's; or value",
                        "examples": ["/etc/vmspec/fwcfg/web-01-config.json"],
                    },
                },
                "required": ["name"],
                "additionalProperties": False,
            },
            "minItems": 1,
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
    "examples": [
        {
            "system": {"manufacturer": "Example Corp", "product": "web tier", "serial": "W-0001"},
            "baseBoards": [{"manufacturer": "Example Corp", "asset": "A-0001"}],
            "oemStrings": ["role=web"],
        },
        {"fwcfg": [{"name": "opt/com.example/config", "value": "tier=web"}]},
    ],
}

SMBIOS_SCHEMA = {
    "enum": ["sysinfo", "host", "emulate"],
    "description": "the SMBIOS tables the guest sees: sysinfo's (the default when sysinfo has tables), the host's own, or QEMU's (the default otherwise)",
    "examples": ["emulate"],
}


# --- policy --------------------------------------------------------------------------------


def smbios_mode(spec: Spec) -> str | None:
    """The tables a spec states reach the guest only in mode sysinfo; without it libvirt
    keeps them in the definition and QEMU shows its own."""
    if "smbios" in spec:
        return spec["smbios"]
    return "sysinfo" if any(key in spec.get("sysinfo", {}) for key in _SMBIOS_KEYS) else None


# --- checks --------------------------------------------------------------------------------


def _tables_need_mode_sysinfo(spec: Spec) -> Iterator[Finding]:
    if spec.get("smbios") not in (None, "sysinfo") and any(
        key in spec.get("sysinfo", {}) for key in _SMBIOS_KEYS
    ):
        yield Finding(
            ("spec", "smbios"),
            f"with smbios {spec['smbios']} the guest never sees sysinfo's tables: "
            "leave smbios out, or the tables",
        )


def _fwcfg_value_or_file(spec: Spec) -> Iterator[Finding]:
    for index, entry in enumerate(spec.get("sysinfo", {}).get("fwcfg", ())):
        if ("value" in entry) == ("file" in entry):
            yield Finding(
                ("spec", "sysinfo", "fwcfg", index),
                "an fw_cfg entry has a value or a file (whose content it is), one of the two",
            )


def system_uuid_findings(document: dict[str, Any], domain_uuid: str) -> Iterator[Finding]:
    """libvirt refuses a system uuid other than the domain's ("UUID mismatch between
    <uuid> and <sysinfo>"): said at compile, with the uuid it must be."""
    system = document["spec"].get("sysinfo", {}).get("system", {})
    if "uuid" in system and system["uuid"].lower() != domain_uuid:
        yield Finding(
            ("spec", "sysinfo", "system", "uuid"),
            f"the SMBIOS system uuid must be the domain's, {domain_uuid} (or left out: "
            "QEMU gives the guest the domain's uuid anyway)",
        )


# --- lowering and lifting ------------------------------------------------------------------


def lower_sysinfo(spec: Spec, identity: Identity) -> tuple[Sysinfo, ...]:
    wanted = spec.get("sysinfo", {})
    found: list[Sysinfo] = []
    if any(key in wanted for key in _SMBIOS_KEYS):
        found.append(
            SmbiosSysinfo(
                **{field: _table(wanted.get(key), names) for key, field, names in _TABLES},
                base_boards=tuple(
                    _table(board, _BASE_BOARD) for board in wanted.get("baseBoards", ())
                ),
                oem_strings=SmbiosTable(
                    entries=tuple(SysinfoEntry(value=text) for text in wanted["oemStrings"])
                )
                if "oemStrings" in wanted
                else None,
            )
        )
    if "fwcfg" in wanted:
        found.append(
            FwcfgSysinfo(
                entries=tuple(
                    SysinfoEntry(
                        name=entry["name"], file=entry.get("file"), value=entry.get("value")
                    )
                    for entry in wanted["fwcfg"]
                )
            )
        )
    return tuple(found)


def _table(entries: dict[str, str] | None, names: tuple[str, ...]) -> SmbiosTable | None:
    """In the order libvirt writes a table's entries, whatever the spec's order."""
    if not entries:
        return None
    return SmbiosTable(
        entries=tuple(
            SysinfoEntry(name=name, value=entries[name]) for name in names if name in entries
        )
    )


def lift_sysinfo(sysinfos: tuple[Sysinfo, ...], spec: Spec, identity: Identity) -> Any:
    lifted: dict[str, Any] = {}
    for sysinfo in sysinfos:
        # libvirt takes one <sysinfo> of each type.
        if isinstance(sysinfo, SmbiosSysinfo):
            for key, field, _ in _TABLES:
                table = getattr(sysinfo, field)
                if table is not None and table.entries:
                    lifted[key] = _lift_table(table)
            if sysinfo.base_boards:
                lifted["baseBoards"] = [_lift_table(board) for board in sysinfo.base_boards]
            if sysinfo.oem_strings and sysinfo.oem_strings.entries:
                lifted["oemStrings"] = [entry.value or "" for entry in sysinfo.oem_strings.entries]
        elif isinstance(sysinfo, FwcfgSysinfo) and sysinfo.entries:
            lifted["fwcfg"] = [_lift_fwcfg(entry) for entry in sysinfo.entries]
    return lifted or None


def _lift_table(table: SmbiosTable) -> dict[str, str]:
    return {entry.name or "": entry.value or "" for entry in table.entries}


def _lift_fwcfg(entry: SysinfoEntry) -> dict[str, str]:
    content = {"file": entry.file} if entry.file is not None else {"value": entry.value or ""}
    return {"name": entry.name or "", **content}


def lower_smbios(spec: Spec, identity: Identity) -> Smbios | None:
    mode = smbios_mode(spec)
    return Smbios(mode=mode) if mode else None


def lift_smbios(smbios: Smbios | None, spec: Spec, identity: Identity) -> str | None:
    mode = smbios.mode if smbios else None
    # The sysinfo family lifts first (see FAMILIES): its tables make sysinfo the default.
    return mode if mode != smbios_mode({"sysinfo": spec.get("sysinfo", {})}) else None


def _fwcfg_files(sysinfos: tuple[Sysinfo, ...]) -> Iterator[tuple[str, str]]:
    # QEMU reads the file when the guest starts: a missing one fails the start, not define.
    for sysinfo in sysinfos:
        if isinstance(sysinfo, FwcfgSysinfo):
            yield from ((f"fw_cfg {e.name}", e.file) for e in sysinfo.entries if e.file)


SYSINFO = Family(
    spec_field="sysinfo",
    schema=SYSINFO_SCHEMA,
    place=Place.DOMAIN,
    config_field="sysinfos",
    lower=lower_sysinfo,
    lift=lift_sysinfo,
    checks=(_tables_need_mode_sysinfo, _fwcfg_value_or_file),
    host_paths=_fwcfg_files,
)
SMBIOS = Family(
    spec_field="smbios",
    schema=SMBIOS_SCHEMA,
    place=Place.OS,
    config_field="smbios",
    lower=lower_smbios,
    lift=lift_smbios,
)
FAMILIES = (SYSINFO, SMBIOS)
