"""Rendering events as text lines in swaks-style notation, terminal-safe.

`` -> `` client, ``<-  `` server, ``<** `` a reply the core judged refused (4xx,
5xx) or a protocol violation (:mod:`smtpdbg.core.verdict`: this module never reads
a code's digits), `` ~> ``/``<~  ``/``<~* `` the same inside TLS, ``===`` information, ``*** `` errors, ``!!! `` protocol
warnings. Server bytes are never written raw: control characters, escape
sequences and invalid UTF-8 are shown escaped (``\\x1b``), so a hostile reply
cannot drive the user's terminal.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple

from smtpdbg.core.events import Body, CommandEnd, Error, Event, Info, InfoKind, Reply, Wire
from smtpdbg.core.verdict import ReplyClass, Verdict

_UNSAFE_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape_char(match: re.Match) -> str:
    ch = match.group()
    return {"\r": "\\r", "\n": "\\n", "\t": "\\t"}.get(ch, f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")


def _escape_code_point(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def safe_text(data: bytes | str, *, strip_eol: bool = True) -> str:
    """Decode and escape so the result holds no control character.

    A final CRLF (or LF) is removed when ``strip_eol``; any other CR, LF, ESC or
    C0/C1 control, and bidirectional overrides, become visible escapes;
    invalid UTF-8 bytes become ``\\xNN``.
    """
    if isinstance(data, bytes):
        if strip_eol:
            if data.endswith(b"\r\n"):
                data = data[:-2]
            elif data.endswith(b"\n"):
                data = data[:-1]
        if data.isascii() and not _UNSAFE_BYTES.search(data):
            return data.decode("ascii")
        text = data.decode("utf-8", "backslashreplace")
    else:
        text = data
        if strip_eol:
            text = text.removesuffix("\r\n").removesuffix("\n")
    if not text.isprintable():
        text = _CONTROL.sub(_escape_char, text)
        if not text.isprintable():
            text = "".join(ch if ch.isprintable() or ch == " " else _escape_code_point(ch) for ch in text)
    return text


_STYLE_OF_CLASS = {ReplyClass.POSITIVE: "2", ReplyClass.INTERMEDIATE: "3", ReplyClass.TRANSIENT: "4",
                   ReplyClass.PERMANENT: "5", ReplyClass.VIOLATION: "0"}


def reply_style(reply: Reply | None) -> str:
    """The colour of a reply's lines: its class as the core judged it (``0``: a violation), ``recv`` before it is judged."""
    if reply is None:
        return "recv"
    return "0" if reply.verdict is Verdict.VIOLATION else _STYLE_OF_CLASS[reply.reply_class]


def marker(event: Wire, reply: Reply | None = None) -> str:
    """The swaks-style prefix for a wire line; a received line is marked failed when the core's verdict on its
    reply is (refused or a protocol violation), plain while its reply is not complete."""
    if event.is_send:
        return " ~> " if event.tls else " -> "
    failed = reply is not None and reply.verdict.failed
    if event.tls:
        return "<~* " if failed else "<~  "
    return "<** " if failed else "<-  "


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{size / (1024 * 1024):.1f} MB"


def body_summary(event: Body) -> str:
    return f"DATA: {event.line_count:,} lines, {human_size(event.size)}" + (
        f", {event.stuffed:,} dot-stuffed" if event.stuffed else ""
    )


ANSI = {
    "send": "\x1b[36m",
    "2": "\x1b[32m",
    "3": "\x1b[33m",
    "4": "\x1b[33;1m",
    "5": "\x1b[31;1m",
    "0": "\x1b[35m",
    "info": "\x1b[2m",
    "warning": "\x1b[35m",
    "error": "\x1b[31;1m",
    "note": "\x1b[2;3m",
    "recv": "",
}
RESET = "\x1b[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{ANSI[style]}{text}{RESET}" if color and ANSI[style] else text


def _stamp(event: Event, timestamps: str, previous: list[float]) -> str:
    if timestamps == "absolute":
        moment = time.strftime("%H:%M:%S", time.localtime(event.wall)) + f".{int(event.wall * 1000) % 1000:03d} "
        return moment
    if timestamps == "delta":
        delta = event.mono - previous[0] if previous[0] else 0.0
        previous[0] = event.mono
        return f"+{delta * 1000:8.1f}ms "
    return ""


def error_text(event: Error) -> str:
    """An error's sentence, with the smtplib exception it came as (for readers of smtplib's documentation)."""
    text = safe_text(event.message)
    if "smtplib." in event.exception:
        text += f"  [{event.exception}]"
    return text


class Line(NamedTuple):
    """One rendered line, with what it came from."""

    text: str
    style: str
    """A key of :data:`ANSI` (``send``, ``2``-``5``, ``0`` for a violation, ``recv``, ``info``, ...)."""
    event: Event
    reply: Reply | None = None
    """For a received line: the whole reply it belongs to, as the core judged it."""


def _holds(event: Event) -> bool:
    """Whether the event can come inside a reply being read (its lines, warnings about them)."""
    return (type(event) is Wire and not event.is_send) or (
        type(event) is Info and event.kind in (InfoKind.WARNING, InfoKind.DEBUG))


class TextRenderer:
    """Turns events into printable lines (stateful: delta timestamps, and the lines of a reply being read).

    A received line is marked and coloured by the core's verdict on the whole
    reply it belongs to (the :class:`~smtpdbg.core.events.Reply` event that
    follows its last line), so its lines are held until that event and come
    out with it; anything else that arrives first (the connection lost in the
    middle of a reply) lets them out unjudged, and :meth:`flush` does on request.

    Args:
        color: add ANSI colours (callers honour ``NO_COLOR`` and ``isatty``).
        timestamps: ``""``, ``"absolute"`` or ``"delta"``.
        notes: show decoded AUTH notes beside masked lines.
        timing: show each command's latency.
    """

    def __init__(self, *, color: bool = False, timestamps: str = "", notes: bool = True, timing: bool = False) -> None:
        self.color = color
        self.timestamps = timestamps
        self.notes = notes
        self.timing = timing
        self._previous = [0.0]
        self._held: list[Event] = []

    def render(self, event: Event) -> list[str]:
        return [line.text for line in self.render_lines(event)]

    def render_lines(self, event: Event) -> list[Line]:
        """The lines ``event`` lets out (none while a reply is being read; all of its lines with its Reply)."""
        held = self._held
        if held or (type(event) is Wire and not event.is_send):
            if type(event) is Reply:
                return self._release(event)
            if _holds(event):
                held.append(event)
                return []
            return self._release(None) + self._lines(event, None)
        return self._lines(event, None)

    def flush(self) -> list[str]:
        """Let out the lines held for a reply not complete yet, unjudged (a server slow in the middle of a reply)."""
        return [line.text for line in self.flush_lines()]

    def flush_lines(self) -> list[Line]:
        return self._release(None)

    def discard(self) -> None:
        """Drop the lines held for the reply being read (a quiet view that shows only failed replies)."""
        self._held = []

    def _release(self, reply: Reply | None) -> list[Line]:
        held, self._held = self._held, []
        return [line for event in held for line in self._lines(event, reply)]

    def _lines(self, event: Event, reply: Reply | None) -> list[Line]:
        stamp = _stamp(event, self.timestamps, self._previous) if self.timestamps and not isinstance(event, CommandEnd) else ""
        color = self.color
        if isinstance(event, Wire):
            text = safe_text(event.data)
            if event.is_send:
                style = "send"
            else:
                reply = reply if reply is not None and event.seq >= reply.first_seq else None
                style = reply_style(reply)
            line = stamp + _paint(marker(event, reply) + text, style, color)
            if self.notes and event.note:
                line += "  " + _paint(f"# {safe_text(event.note)}", "note", color)
            elif not event.data.endswith(b"\n"):
                line += "  " + _paint("# (no line ending)", "note", color)
            return [Line(line, style, event, reply)]
        if isinstance(event, Body):
            prefix = " ~> " if event.tls else " -> "
            lines = [stamp + _paint(prefix + safe_text(l), "send", color) for l in event.head]
            if event.omitted:
                lines.append(_paint(f"    [... {event.omitted:,} lines omitted; {body_summary(event)} ...]", "info", color))
            lines += [_paint(prefix + safe_text(l), "send", color) for l in event.tail]
            return [Line(line, "send", event) for line in lines]
        if isinstance(event, Info):
            if event.kind is InfoKind.WARNING:
                return [Line(stamp + _paint("!!! " + safe_text(event.text), "warning", color), "warning", event)]
            return [Line(stamp + _paint("=== " + safe_text(event.text), "info", color), "info", event)]
        if isinstance(event, Error):
            return [Line(stamp + _paint("*** " + error_text(event), "error", color), "error", event)]
        if isinstance(event, CommandEnd) and self.timing:
            return [Line(_paint(f"=== {event.text.split(' ', 1)[0]}: {event.elapsed * 1000:.1f} ms", "info", color),
                         "info", event)]
        return []


_SGR = re.compile("(\x1b\\[[0-9;]*m)")
_UNSAFE_ASCII_OUTPUT = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
"""ASCII a terminal would act on: every C0 control but tab and newline, and DEL."""


def _escape_output(ch: str, json: bool) -> str:
    code = ord(ch)
    if json:
        if code > 0xFFFF:  # JSON has only \uXXXX: a surrogate pair
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"
    if ch == "\r":
        return "\\r"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _escape_unsafe(text: str, json: bool) -> str:
    if text.isascii():
        if not _UNSAFE_ASCII_OUTPUT.search(text):
            return text
        return _UNSAFE_ASCII_OUTPUT.sub(lambda m: _escape_output(m.group(), json), text)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line.replace("\t", " ").isprintable():
            lines[index] = "".join(ch if ch.isprintable() or ch in " \t" else _escape_output(ch, json) for ch in line)
    return "\n".join(lines)


def safe_output(text: str, *, color: bool = False, json: bool = False) -> str:
    """The one gate between smtpdbg and a terminal or a file: ``text`` with nothing a terminal would act on.

    Every output path goes through it: the subcommands' stdout and stderr, every
    export format, the session log. Kept as they are: newline, tab, and (with
    ``color``) SGR colour sequences ``ESC [ ... m``. Everything else that is not
    printable becomes a visible escape: C0 and C1 controls (ESC, BEL, CR, U+0085
    NEL, the 8-bit CSI U+009B), DEL, bidirectional controls (U+202A-202E,
    U+2066-2069, U+200E/F, U+061C), line and paragraph separators (U+2028/2029),
    other invisible format characters, and lone surrogates. A tab cannot erase or
    hide text, only move to the next tab stop, so it is kept.

    Args:
        color: keep SGR sequences (the caller's own colours; everything else is escaped).
        json: write ``\\uXXXX`` escapes, for text that is already JSON (escapes then
            only appear inside strings, where they are valid and read back as the
            same characters).
    """
    if not color:
        return _escape_unsafe(text, json)
    parts = _SGR.split(text)
    return "".join(part if index % 2 else _escape_unsafe(part, json) for index, part in enumerate(parts))


def failure_reason(outcome) -> str:
    """Why a command failed, with the reply's basic code kept beside its enhanced code (``554 5.7.1 ...``)."""
    text = (outcome.text or "").split("\n", 1)[0]
    message = outcome.message or text
    if outcome.code is not None and (not message or (text and message.startswith(text))):
        message = f"{outcome.code} {message}".rstrip()  # the message is the reply's own text
    return message


def failure_line(line: int, label: str, stage: str, outcome) -> str:
    """A failed script command in ``run``'s summary: its script line, or ``(connect TARGET)`` for the
    connection ``run`` opens before line 1, the stage, and :func:`failure_reason`."""
    where = f"line {line}: {safe_text(label)}" if line > 0 else f"({safe_text(label)})"
    return f"FAILED {where}  [{stage}] {safe_text(failure_reason(outcome))}"


def is_printable_line(text: str) -> bool:
    """True when ``text`` holds nothing a terminal would interpret: every character printable or a space."""
    return text.isprintable()
