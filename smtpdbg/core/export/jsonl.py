"""JSON Lines export: one JSON object per event, with a versioned schema.

The schema is ``smtpdbg/core/export/schema.json`` (JSON Schema 2020-12,
documented in docs/jsonl-schema.md). Version 2 records: ``header``,
``command``, ``command_end``, ``wire``, ``reply``, ``body``, ``info``,
``tls``, ``unanswered``, ``error`` and a final ``summary``. A wire line's bytes are in
``text`` when they are valid UTF-8, else in ``b64``; a reader rebuilds the
exact bytes either way. New optional fields may appear within a version;
removing or changing a field bumps :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import stat
from importlib import resources
from typing import Any

from smtpdbg.core.events import Body, CommandEnd, CommandStart, Error, Event, Info, InfoKind, Unanswered, Wire
from smtpdbg.core.export.dialogue import Reply
from smtpdbg.core.export.summary import recipient_records, transaction_records
from smtpdbg.core.state import TlsInfo

SCHEMA_NAME = "smtpdbg-transcript"
SCHEMA_VERSION = 2


def load_schema() -> dict:
    """The JSON Schema every line of an export of this version validates against."""
    return json.loads(resources.files("smtpdbg.core.export").joinpath("schema.json").read_text("utf-8"))


def iso(wall: float) -> str:
    """UTC ISO 8601 with milliseconds, e.g. ``2024-05-01T12:00:00.123Z``."""
    moment = _dt.datetime.fromtimestamp(wall, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def encode_bytes(data: bytes) -> dict[str, str]:
    """``{"text": ...}`` when ``data`` is valid UTF-8, else ``{"b64": ...}``."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}


def decode_bytes(record: dict) -> bytes:
    """The exact bytes of a ``wire`` record (inverse of :func:`encode_bytes`)."""
    if "b64" in record:
        return base64.b64decode(record["b64"])
    return record["text"].encode("utf-8")


def tls_record(info: TlsInfo) -> dict[str, Any]:
    return {
        "version": info.version, "cipher": info.cipher, "bits": info.bits, "verified": info.verified,
        "server_name": info.server_name, "implicit": info.implicit, "name_matches": info.name_matches,
        "chain": [{"subject": c.subject, "issuer": c.issuer, "san": list(c.san), "not_before": c.not_before,
                   "not_after": c.not_after, "days_left": c.days_left, "serial": c.serial,
                   "fingerprint_sha256": c.fingerprint_sha256, "key": c.key} for c in info.chain],
    }


def reply_record(reply: Reply, base: dict) -> dict[str, Any]:
    record = dict(base, type="reply", code=reply.code, enhanced=reply.enhanced, text=reply.text,
                  lines=len(reply.lines), answers=reply.answers, argument=reply.argument,
                  unsolicited=reply.unsolicited, tls=reply.tls,
                  latency=round(reply.latency, 6) if reply.latency is not None else None)
    event = reply.event
    if event is not None:
        record.update(exchange=event.exchange, reply_class=event.reply_class.value, verdict=event.verdict.value,
                      violation=event.violation, recipient=event.recipient, late=event.late, stage=event.stage)
    extensions = reply.extensions()
    if extensions:
        record["extensions"] = extensions
    return record


def event_records(event: Event, start: float, reply_of: dict[int, Reply]) -> list[dict[str, Any]]:
    """The JSONL records for one event (a wire line ending a reply also yields the parsed reply)."""
    base = {"seq": event.seq, "time": iso(event.wall), "t": round(event.mono - start, 6)}
    if isinstance(event, Wire):
        record = dict(base, type="wire", dir=event.direction.value, tls=event.tls, **encode_bytes(event.data),
                      redacted=event.redacted, note=event.note, pipelined=event.pipelined)
        if not event.is_send:
            valid = event.data[:3].isdigit() and len(event.data) >= 3
            record["code"] = int(event.data[:3]) if valid else None
            record["last"] = not (valid and event.data[3:4] == b"-")
        records = [record]
        reply = reply_of.get(event.seq)
        if reply is not None and not event.is_send:
            records.append(reply_record(reply, base))
        return records
    if isinstance(event, Body):
        try:
            head = [l.decode("utf-8") for l in event.head]
            tail = [l.decode("utf-8") for l in event.tail]
            encoding = "utf-8"
        except UnicodeDecodeError:
            head = [base64.b64encode(l).decode() for l in event.head]
            tail = [base64.b64encode(l).decode() for l in event.tail]
            encoding = "base64"
        return [dict(base, type="body", tls=event.tls, size=event.size, line_count=event.line_count, head=head,
                     tail=tail, omitted=event.omitted, stuffed=event.stuffed, encoding=encoding)]
    if isinstance(event, CommandStart):
        return [dict(base, type="command", id=event.command_id, text=event.text, call=event.call)]
    if isinstance(event, CommandEnd):
        return [dict(base, type="command_end", id=event.command_id, text=event.text, ok=event.ok,
                     elapsed=round(event.elapsed, 6), code=event.code, reply=event.reply, category=event.category)]
    if isinstance(event, Info):
        if event.kind is InfoKind.TLS and event.tls_info is not None:
            return [dict(base, type="tls", text=event.text, **tls_record(event.tls_info))]
        return [dict(base, type="info", kind=event.kind.value, text=event.text, peer=event.peer, local=event.local,
                     rule=event.rule)]
    if isinstance(event, Unanswered):
        return [dict(base, type="unanswered", exchange=event.exchange, answers=event.command, argument=event.argument,
                     cause=event.cause)]
    if isinstance(event, Error):
        return [dict(base, type="error", category=event.category, message=event.message, exception=event.exception,
                     connected=event.connected, code=event.code)]
    return []


def records(recording) -> list[dict[str, Any]]:
    """Every record of the export, header first and summary last."""
    dialogue = recording.dialogue
    start = dialogue.first_mono
    out: list[dict[str, Any]] = [{
        "type": "header", "schema": SCHEMA_NAME, "version": SCHEMA_VERSION, "generator": recording.generator,
        "created": iso(recording.created), "target": recording.target, "transport": recording.transport,
        "redacted": True,
    }]
    for event in recording.events:
        out.extend(event_records(event, start, dialogue.reply_of))
    commands = dialogue.commands
    out.append({
        "type": "summary",
        "commands": len(commands),
        "failed": len(dialogue.failed()),
        "connections": len(dialogue.connections),
        "transactions": transaction_records(dialogue),
        "recipients": recipient_records(dialogue),
    })
    return out


def render_jsonl(recording) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records(recording))


def read_jsonl(text: str) -> list[dict[str, Any]]:
    """Parse an export; raises ``ValueError`` naming the line for anything that is not one.

    Records end at ``\\n`` only (JSON Lines): ``str.splitlines()`` would also cut at
    U+0085, U+2028 and the like, which a server's reply may hold inside a string.
    """
    return _records(enumerate(text.split("\n"), 1))


MAX_RECORD = 16 << 20
"""Most bytes one line of an export may hold when it is read from a file (an export's lines are far shorter)."""
MAX_STREAM = 256 << 20
"""Most bytes read from something that is not a regular file (a pipe, a device)."""


def read_jsonl_file(path: str) -> list[dict[str, Any]]:
    """Parse the export at ``path`` a line at a time: binary data, a device (``/dev/zero``) or an endless
    line is refused at once, with the line, not read into memory.

    Raises:
        OSError: it cannot be read.
        ValueError: it is not an smtpdbg JSONL export.
    """
    with open(path, "rb") as handle:
        regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
        return _records(_file_lines(handle, regular))


def _file_lines(handle, regular: bool):
    number = total = 0
    while raw := handle.readline(MAX_RECORD + 1):
        number += 1
        total += len(raw)
        if b"\0" in raw:
            raise ValueError(f"line {number}: holds a NUL byte: binary data, not an smtpdbg JSONL export")
        if len(raw) > MAX_RECORD:
            raise ValueError(f"line {number}: longer than {MAX_RECORD:,} bytes: not an smtpdbg JSONL export")
        if not regular and total > MAX_STREAM:
            raise ValueError(f"more than {MAX_STREAM:,} bytes from a pipe or device: not an smtpdbg JSONL export")
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"line {number}: not UTF-8 text: not an smtpdbg JSONL export") from None


def _records(lines) -> list[dict[str, Any]]:
    out = []
    for number, line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or "type" not in record:
            raise ValueError(f"line {number}: not an smtpdbg record (no \"type\")")
        out.append(record)
    if not out or out[0].get("type") != "header" or out[0].get("schema") != SCHEMA_NAME:
        raise ValueError("not an smtpdbg JSONL export (the first line must be its header)")
    if out[0].get("version") != SCHEMA_VERSION:
        raise ValueError(f"schema version {out[0].get('version')} is not supported (this smtpdbg reads {SCHEMA_VERSION})")
    return out
