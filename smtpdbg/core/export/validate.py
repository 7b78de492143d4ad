"""A small JSON Schema checker for the JSONL schema (no third-party dependency).

It implements the keywords ``schema.json`` uses: ``type`` (one or a list),
``const``, ``enum``, ``properties``, ``required``, ``additionalProperties``
(false or a schema), ``items``, ``minimum``, ``pattern``, ``oneOf`` and local
``$ref``. Good enough to check smtpdbg's own exports (tests, ``smtpdbg
diff``); not a general validator.
"""

from __future__ import annotations

import re
from typing import Any

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def errors(value: Any, schema: dict, root: dict | None = None, path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty when it validates)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, not {ref}")
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        return errors(value, target, root, path)
    found: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return [f"{path}: expected {' or '.join(types)}, got {type(value).__name__}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: expected {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and isinstance(value, (int, float)) and value < schema["minimum"]:
        found.append(f"{path}: {value} is less than {schema['minimum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        found.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                found.append(f"{path}: missing {name!r}")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                found += errors(item, properties[name], root, f"{path}.{name}")
            elif extra is False:
                found.append(f"{path}: unexpected property {name!r}")
            elif isinstance(extra, dict):
                found += errors(item, extra, root, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += errors(item, schema["items"], root, f"{path}[{index}]")
    if "oneOf" in schema:
        matches = [not errors(value, option, root, path) for option in schema["oneOf"]]
        if matches.count(True) != 1:
            kind = value.get("type") if isinstance(value, dict) else None
            detail = ""
            if kind is not None:  # explain against the branch named by "type"
                for option in schema["oneOf"]:
                    if option.get("$ref", "").endswith("/" + str(kind)):
                        detail = "; ".join(errors(value, option, root, path))
            found.append(f"{path}: matches {matches.count(True)} of the allowed shapes" + (f" ({detail})" if detail else ""))
    return found


def validate_records(records: list[dict], schema: dict) -> list[str]:
    """Errors for a whole export, each prefixed with its line number."""
    out = []
    for number, record in enumerate(records, 1):
        out += [f"line {number}: {e}" for e in errors(record, schema)]
    return out
