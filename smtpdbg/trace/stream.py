"""Transcript events as JSON objects and back, for the stream from a traced program to ``smtpdbg trace``.

One object a line: ``{"session": N, "type": "Wire", "seq": ..., ...}`` with the
event's fields; bytes as ``text`` (UTF-8) or ``b64`` (:func:`smtpdbg.core.export.jsonl.encode_bytes`),
enums by value. Events that carry live objects (ledger and state changes) and
TLS certificate details are not streamed: the text notation does not show them.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from smtpdbg.core import events
from smtpdbg.core.export.jsonl import decode_bytes, encode_bytes
from smtpdbg.core.verdict import ReplyClass, Verdict

STREAMED = {cls.__name__: cls for cls in (events.Wire, events.Body, events.Info, events.Error, events.CommandStart,
                                          events.CommandEnd, events.Reply, events.Unanswered)}
_ENUMS = {"direction": events.Direction, "kind": events.InfoKind, "reply_class": ReplyClass, "verdict": Verdict}
_SKIPPED = {"tls_info"}


def encode(session: int, event: events.Event) -> dict[str, Any] | None:
    """The JSON object for ``event`` of session ``session``; None for an event that is not streamed."""
    name = type(event).__name__
    if name not in STREAMED:
        return None
    record: dict[str, Any] = {"session": session, "type": name}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if field.name in _SKIPPED:
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, bytes):
            value = encode_bytes(value)
        elif isinstance(value, tuple) and all(isinstance(item, bytes) for item in value):
            value = [encode_bytes(item) for item in value]
        record[field.name] = value
    return record


def decode(record: dict[str, Any]) -> tuple[int, events.Event]:
    """``(session, event)`` from a streamed object.

    Raises:
        KeyError, TypeError, ValueError: not an object :func:`encode` writes.
    """
    cls = STREAMED[record["type"]]
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name not in record:
            continue
        value = record[field.name]
        if field.name in _ENUMS:
            value = _ENUMS[field.name](value)
        elif isinstance(value, dict):
            value = decode_bytes(value)
        elif isinstance(value, list):
            value = tuple(decode_bytes(item) for item in value)
        values[field.name] = value
    return int(record["session"]), cls(**values)
