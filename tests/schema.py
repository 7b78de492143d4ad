"""JSONL exports checked against their published JSON Schema with the jsonschema package."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from smtpdbg.core.export.jsonl import load_schema


def validator() -> Draft202012Validator:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(records: list[dict]) -> list[str]:
    """Every way the records break the schema, each with its line number (empty when they validate)."""
    check = validator()
    return [f"line {number}: {error.json_path}: {error.message}"
            for number, record in enumerate(records, 1) for error in check.iter_errors(record)]
