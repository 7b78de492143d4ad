"""swaks export: the equivalent swaks command line(s), and what swaks cannot express.

swaks runs one transaction per connection with fixed command spelling, so a
session becomes one ``swaks`` invocation per transaction (or one with
``--quit-after`` for a connection that never reached DATA). Everything else
the session did — raw bytes, ``docmd``, VRFY/EXPN, RSET, MAIL/RCPT
parameters, several transactions on one connection, lower-case verbs — is
listed in a comment at the top, so the reader knows what the command line
does *not* reproduce. Output is a POSIX shell script; the password comes
from ``$SMTP_PASSWORD``, never from the file.

The message is delivered byte for byte as recorded: swaks gets it with
``--no-data-fixup`` exactly as it went on the wire (dot-stuffed, ending with
the final dot), because swaks's own fix-ups would change it (a blank line
before the final dot, ``%DATE%``-style tokens, a literal ``\\n``, a leading
``From`` line). Text goes in a here-document; other bytes as ``printf``
escapes. A message sent in BDAT chunks is joined and dot-stuffed for DATA.
"""

from __future__ import annotations

import re
import shlex
import time

from smtpdbg.core.events import Body, Info, InfoKind
from smtpdbg.core.export.dialogue import Connection, Span
from smtpdbg.core.ledger import Transaction

_INEXPRESSIBLE = {
    "raw": "raw bytes (`raw`)", "docmd": "arbitrary commands (`docmd`)", "pipeline": "a hand-built pipelined group",
    "verify": "VRFY", "expn": "EXPN", "help": "HELP", "noop": "NOOP", "rset": "RSET (swaks never resets)",
    "drain": "reading stray replies (`drain`)", "send_message": "send_message (its headers decide the envelope)",
}


class _Connection:
    def __init__(self, number: int) -> None:
        self.number = number
        self.spans: list[Span] = []
        self.info: Connection | None = None
        self.unix = ""
        self.implicit = False


def _by_connection(dialogue) -> list[_Connection]:
    """Spans grouped by the connection they ran on."""
    groups: list[_Connection] = []
    current: _Connection | None = None
    for span in dialogue.commands:
        opened = [e for e in span.events if isinstance(e, Info) and e.kind is InfoKind.CONNECTED]
        if opened or current is None:
            current = _Connection(len(groups) + 1)
            groups.append(current)
            for event in span.events:
                if isinstance(event, Info) and event.kind is InfoKind.CONNECTING and "unix socket" in event.text:
                    current.unix = event.text.split("unix socket", 1)[1].strip()
                if isinstance(event, Info) and event.kind is InfoKind.TLS and event.tls_info and event.tls_info.implicit:
                    current.implicit = True
        current.spans.append(span)
    for group, info in zip([g for g in groups if any(_connected(s) for s in g.spans)], dialogue.connections):
        group.info = info
    return groups


def _connected(span: Span) -> bool:
    return any(isinstance(e, Info) and e.kind is InfoKind.CONNECTED for e in span.events)


def _wire(parts: list[Body], method: str, note) -> bytes | None:
    """The bytes swaks must send after DATA: dot-stuffed, ending with the final dot (without its CRLF).

    A DATA body is taken as it went on the wire. BDAT chunks are joined and
    dot-stuffed, since swaks can only send DATA.
    """
    if not parts:
        return None
    if any(part.omitted for part in parts):
        note(f"a large message was recorded in part only ({sum(p.omitted for p in parts):,} lines missing); "
             "its recorded lines are sent")
    joined = b"".join(line for part in parts for line in part.head + part.tail)
    if method == "BDAT":
        note("the message went in BDAT chunks; swaks has no CHUNKING, so it sends the same bytes with DATA "
             "(dot-stuffed)")
        if not joined.endswith(b"\r\n"):
            joined += b"\r\n"
            note("the BDAT message did not end with CRLF: DATA needs one before the final dot, so one is added")
        joined = re.sub(rb"(?m)^\.", b"..", joined) + b".\r\n"
    if not joined.endswith(b"\r\n"):
        note("the recorded message did not end with CRLF; swaks adds one")
        return joined
    return joined[:-2]


def _feed(data: bytes) -> tuple[str, str]:
    """Shell text that writes ``data`` exactly to swaks's stdin: ``(before "swaks", after the command)``.

    Text lines go in a here-document (``awk`` turns its line ends back into CRLF
    and leaves the last one off); anything else (bare CR or LF, control
    characters, bytes that are not UTF-8) is spelled out with ``printf`` escapes.
    """
    lines = data.split(b"\r\n")
    try:
        text = [line.decode("utf-8") for line in lines]
    except UnicodeDecodeError:
        text = []
    if text and all(line.replace("\t", " ").isprintable() for line in text):
        delimiter = "SMTPDBG_MESSAGE"
        while delimiter in text:
            delimiter += "_"
        before = f"awk 'NR > 1 {{ printf \"\\r\\n\" }} {{ printf \"%s\", $0 }}' <<'{delimiter}' | "
        return before, "\n" + "\n".join(text) + f"\n{delimiter}"
    ends = [b"\r\n"] * (len(lines) - 1) + [b""]
    calls = [f"  printf '{_printf_escape(line + end)}'" for line, end in zip(lines, ends)]
    return "{\n" + "\n".join(calls) + "\n} | ", ""


def _printf_escape(data: bytes) -> str:
    """A printf format (inside single quotes) that prints exactly ``data``."""
    out = []
    for byte in data:
        char = chr(byte)
        if char == "\\":
            out.append("\\\\")
        elif char == "%":
            out.append("%%")
        elif char == "'":
            out.append("'\\''")
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append({13: "\\r", 10: "\\n", 9: "\\t"}.get(byte, f"\\{byte:03o}"))
    if out and out[0] == "-":
        out[0] = "\\055"  # printf would take a leading '-' for an option
    return "".join(out)


def _printf(text: str) -> str:
    """A shell word that prints ``text`` exactly, written without a byte a terminal would act on.

    ``printf '%b'`` turns ``\\0NNN`` back into the byte: how a value holding control
    characters (an escape sequence in a message) stays in the script yet
    leaves ``cat script.sh`` harmless.
    """
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("'\\''")
        elif ch.isprintable() or ch in " \n\t":
            out.append(ch)
        else:
            out.extend(f"\\0{byte:03o}" for byte in ch.encode("utf-8", "surrogateescape"))
    return "\"$(printf '%b' '" + "".join(out) + "')\""


def _safe(text: str) -> bool:
    return text.replace("\n", " ").replace("\t", " ").isprintable()


def _shell(command: list[str]) -> str:
    """``swaks`` and one ``--option value`` per continuation line."""
    lines = [command[0]]
    for word in command[1:]:
        if word == "$SMTP_PASSWORD":
            quoted = '"$SMTP_PASSWORD"'
        else:
            quoted = shlex.quote(word) if _safe(word) else _printf(word)
        if word.startswith("--"):
            lines.append("  " + quoted)
        else:
            lines[-1] += " " + quoted
    return " \\\n".join(lines)


def render_swaks(recording) -> str:
    dialogue = recording.dialogue
    target = recording.target
    host, port = "localhost", "25"
    if "://" in target and not target.split("://", 1)[1].startswith("/"):
        rest = target.split("://", 1)[1]
        host, _, port = rest.rpartition(":")
        host = host.strip("[]")
    notes: list[str] = []
    commands: list[list[str]] = []
    messages: list[bytes | None] = []
    methods: list[str] = []
    """How each message went: as recorded, or re-stuffed from BDAT chunks."""

    def note(text: str) -> None:
        if text not in notes:
            notes.append(text)

    for group in _by_connection(dialogue):
        base = ["swaks"]
        if group.unix:
            base += ["--socket", group.unix]
        else:
            base += ["--server", host, "--port", port]
        if recording.transport == "lmtp" or group.unix:
            base += ["--protocol", "LMTP"]
        if group.implicit:
            base += ["--tls-on-connect"]
        ehlo = ""
        tls = auth = False
        auth_args: list[str] = []
        pipelined = False
        for span in group.spans:
            name = span.name
            if name in _INEXPRESSIBLE and span.sends:
                note(f"{_INEXPRESSIBLE[name]}: not expressible; left out")
            if any(w.pipelined for w in span.sends):
                pipelined = True
            if name in ("ehlo", "helo") and span.sends and not ehlo:
                words = span.sends[0].data.split()
                ehlo = words[1].decode("utf-8", "replace") if len(words) > 1 else ""
                if name == "helo":
                    note("HELO instead of EHLO: swaks always tries EHLO first")
            elif name == "starttls" and span.replies and span.replies[0].code == 220:
                tls = True
            elif name in ("login", "auth") and span.sends:
                parsed = span.parsed
                words = span.sends[0].data.split()
                mechanism = words[1].decode("ascii", "replace").upper() if len(words) > 1 else "PLAIN"
                auth = True
                auth_args = ["--auth", mechanism, "--auth-user", parsed.arg("user") if parsed else "",
                             "--auth-password", "$SMTP_PASSWORD"]
            elif name in ("mail", "rcpt", "sendmail") and any(
                    len(w.data.split()) > 2 for w in span.sends if w.data[:4].lower() in (b"mail", b"rcpt")):
                note("MAIL FROM / RCPT TO parameters (SIZE=, BODY=, NOTIFY=...): swaks has no option for arbitrary ones")
        if ehlo:
            base += ["--ehlo", ehlo]
        if tls:
            base += ["--tls"]
        if tls or group.implicit:
            if recording.insecure:
                note("the session ran with --insecure (no certificate verification); swaks does not verify by default either")
            elif recording.ca:
                base += ["--tls-verify", "--tls-ca-path", recording.ca]
            else:
                base += ["--tls-verify"]
                note("certificate verification: add --tls-ca-path FILE for a private CA (swaks 20201014 or later)")
        base += auth_args
        if pipelined:
            base += ["--pipeline"]
        base += ["--timeout", f"{recording.timeout:g}"]
        transactions: list[Transaction] = [t for t in dialogue.transactions
                                            if group.info is not None and t.connection == group.info.index]
        if len(transactions) > 1:
            note(f"connection {group.number} ran {len(transactions)} transactions; swaks runs one per connection, "
                 "so each is its own command below")
        if not transactions:
            stage = "AUTH" if auth else "TLS" if tls else "EHLO" if ehlo else "BANNER"
            commands.append(base + ["--to", "postmaster@example.invalid", "--quit-after", stage])
            messages.append(None)
            methods.append("")
            note(f"connection {group.number} sent no message: swaks needs --to even with --quit-after")
            continue
        for transaction in transactions:
            command = list(base)
            command += ["--from", transaction.mail_from or ""]
            recipients = [r.address for r in transaction.recipients]
            if recipients:
                command += ["--to", ",".join(recipients)]
            message = _wire(dialogue.parts_of(transaction), transaction.method, note)
            if not transaction.method:
                command += ["--quit-after", "RCPT"]
                message = None
            elif message is None:
                note("a message body was not recorded; swaks will send its default test message")
            commands.append(command)
            messages.append(message)
            methods.append("sent in BDAT chunks, here joined" if transaction.method == "BDAT"
                           else "exactly as it went on the wire")
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(recording.created))
    lines = ["#!/bin/sh", f"# swaks equivalent of an smtpdbg session with {target or '(unknown target)'}, recorded {when}.",
             f"# Generated by {recording.generator}. The AUTH password is read from $SMTP_PASSWORD (never stored here)."]
    note("exact spelling: swaks sends its own upper-case verbs (EHLO, MAIL FROM:<...>), not the recorded bytes")
    lines.append("#")
    lines.append("# What swaks cannot express from this session:")
    lines += [f"#   - {n}" for n in notes]
    for command, message, how in zip(commands, messages, methods):
        lines.append("")
        if message is None:
            lines.append(_shell(command))
            continue
        before, after = _feed(message)
        lines.append(f"# the message {how}, dot-stuffed, ending with the final dot; swaks sends it unchanged")
        lines.append(before + _shell(command + ["--no-data-fixup", "--data", "-"]) + after)
    return "\n".join(lines) + "\n"
