"""The spec's JSON Schema (a data file, draft 2020-12) and the checks it cannot express."""

from vmspec.schema.validator import SCHEMA_FILE, load_schema, validate_document

__all__ = ["SCHEMA_FILE", "load_schema", "validate_document"]
