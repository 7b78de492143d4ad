"""Tests for text rendering (smtpdbg.core.render): swaks markers and terminal safety.

Server bytes are untrusted: whatever a server sends, a rendered line must not
hold a character that drives a terminal (C0/C1 controls, ESC, bidi overrides,
line separators).
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdbg.core.events import Body, CommandEnd, Direction, Error, Info, InfoKind, Reply, Wire
from smtpdbg.core.render import TextRenderer, human_size, marker, safe_text
from smtpdbg.core.verdict import ReplyClass, classify_reply, verdict_for
from tests.fuzz import fuzz

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
ANSI_SGR = re.compile("\x1b\\[[0-9;]*m")


def unsafe_chars(text: str) -> list[str]:
    """Characters a terminal could act on; written independently of the renderer."""
    return [ch for ch in text
            if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")
            or ch in BIDI or ord(ch) == 0x1B or 0x80 <= ord(ch) <= 0x9F]


def wire(data: bytes, direction: Direction = Direction.RECV, *, tls: bool = False, note: str = "") -> Wire:
    return Wire(seq=1, mono=0.0, wall=0.0, direction=direction, data=data, tls=tls, note=note)


SEND, RECV = Direction.SEND, Direction.RECV


def reply_to(code: int, *, command: str = "NOOP", violation: str = "", first_seq: int = 1) -> Reply:
    """The core's judgement of a reply (what the tracker records after its last line)."""
    reply_class = classify_reply(code)
    if reply_class is ReplyClass.VIOLATION and not violation:
        violation = f"{code} is not a valid reply code"
    return Reply(seq=99, mono=0.0, wall=0.0, exchange=1, command=command, code=code, reply_class=reply_class,
                 verdict=verdict_for(code, reply_class, violation), violation=violation, first_seq=first_seq)


def shown(event: Wire, code: int | None = None, renderer: TextRenderer | None = None, **judged) -> list[str]:
    """A wire line as rendered: a received one once the core judged its reply (``code``), else let out unjudged."""
    renderer = renderer or TextRenderer()
    lines = renderer.render(event)
    if event.is_send:
        return lines
    assert lines == []  # held until its reply is complete
    return renderer.render(reply_to(code, **judged)) if code is not None else renderer.flush()


# -- markers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "direction", "tls", "code", "line"), [
    (b"EHLO client.example.org\r\n", SEND, False, None, " -> EHLO client.example.org"),
    (b"EHLO client.example.org\r\n", SEND, True, None, " ~> EHLO client.example.org"),
    (b"220 mx ESMTP\r\n", RECV, False, 220, "<-  220 mx ESMTP"),
    (b"250-SIZE 1000\r\n", RECV, False, 250, "<-  250-SIZE 1000"),
    (b"354 go ahead\r\n", RECV, False, 354, "<-  354 go ahead"),
    (b"450 4.2.0 later\r\n", RECV, False, 450, "<** 450 4.2.0 later"),
    (b"550 5.1.1 no such user\r\n", RECV, False, 550, "<** 550 5.1.1 no such user"),
    (b"garbage\r\n", RECV, False, -1, "<** garbage"),
    (b"\r\n", RECV, False, -1, "<** "),
    (b"150 odd\r\n", RECV, False, 150, "<** 150 odd"),
    (b"650 odd\r\n", RECV, False, 650, "<** 650 odd"),
    (b"999 odd\r\n", RECV, False, 999, "<** 999 odd"),
    (b"250 OK\r\n", RECV, True, 250, "<~  250 OK"),
    (b"334 VXNlcm5hbWU6\r\n", RECV, True, 334, "<~  334 VXNlcm5hbWU6"),
    (b"535 5.7.8 bad\r\n", RECV, True, 535, "<~* 535 5.7.8 bad"),
    (b"bogus\r\n", RECV, True, -1, "<~* bogus"),
    (b"250 OK\n", RECV, False, 250, "<-  250 OK"),
    (b"250 OK\r\n", RECV, False, None, "<-  250 OK"),  # let out before its reply was judged: no verdict yet
])
def test_wire_markers(data: bytes, direction: Direction, tls: bool, code: int | None, line: str) -> None:
    event = wire(data, direction, tls=tls)
    assert shown(event, code) == [line]
    assert marker(event, reply_to(code) if code is not None else None) == line[:4]


def test_the_verdict_is_the_core_s_not_the_digits() -> None:
    # DATA answered 250: a valid code, but the core judged it a violation (RFC 5321 §4.3.2)
    assert shown(wire(b"250 OK\r\n"), 250, command="DATA", violation="DATA answered 250") == ["<** 250 OK"]
    (coloured,) = shown(wire(b"250 OK\r\n"), 250, TextRenderer(color=True), command="DATA", violation="x")
    assert coloured.startswith("\x1b[35m")  # the violation colour, not 2xx green


def test_every_line_of_a_reply_waits_for_its_verdict_with_the_warnings_read_among_them() -> None:
    renderer = TextRenderer()
    assert renderer.render(wire(b"550-5.1.1 first\r\n")) == []
    assert renderer.render(Info(seq=2, mono=0.0, wall=0.0, kind=InfoKind.WARNING, text="bare LF")) == []
    assert renderer.render(Wire(seq=3, mono=0.0, wall=0.0, direction=RECV, data=b"550 5.1.1 last\r\n")) == []
    assert renderer.render(reply_to(550)) == ["<** 550-5.1.1 first", "!!! bare LF", "<** 550 5.1.1 last"]


def test_a_reply_cut_short_comes_out_unjudged_before_what_follows() -> None:
    renderer = TextRenderer()
    renderer.render(wire(b"250-half\r\n"))
    closed = Info(seq=2, mono=0.0, wall=0.0, kind=InfoKind.CLOSED, text="connection closed")
    assert renderer.render(closed) == ["<-  250-half", "=== connection closed"]
    renderer.render(wire(b"220-early\r\n"))
    later = Wire(seq=5, mono=0.0, wall=0.0, direction=RECV, data=b"220 mx\r\n")
    renderer.render(later)  # a fragment before the reply's first line stays unjudged
    assert renderer.render(reply_to(220, first_seq=5)) == ["<-  220-early", "<-  220 mx"]


def test_note_appended() -> None:
    event = wire(b"AUTH PLAIN ********\r\n", SEND, note="PLAIN authzid='' user='alice' password=<hidden>")
    assert TextRenderer().render(event) == [" -> AUTH PLAIN ********  # PLAIN authzid='' user='alice' password=<hidden>"]
    assert TextRenderer(notes=False).render(event) == [" -> AUTH PLAIN ********"]


def test_note_is_made_safe() -> None:
    (line,) = shown(wire(b"334 x\r\n", note="server asks '\x1b[2J'"), 334, command="AUTH")
    assert "\x1b" not in line
    assert line.endswith("# server asks '\\x1b[2J'")


def test_missing_line_ending_is_noted() -> None:
    assert shown(wire(b"250 partial"), 250) == ["<-  250 partial  # (no line ending)"]


# -- other events -------------------------------------------------------------------------
def test_body_small_all_head() -> None:
    event = Body(seq=2, mono=0.0, wall=0.0, size=20, line_count=3, head=(b"Subject: x\r\n", b"\r\n", b"..hi\r\n"))
    assert TextRenderer().render(event) == [" -> Subject: x", " -> ", " -> ..hi"]


def test_body_head_omitted_tail() -> None:
    event = Body(seq=2, mono=0.0, wall=0.0, size=5000, line_count=100, head=(b"Subject: x\r\n", b"\r\n"),
                 tail=(b"bye\r\n",), omitted=97, stuffed=2, tls=True)
    assert TextRenderer().render(event) == [
        " ~> Subject: x",
        " ~> ",
        "    [... 97 lines omitted; DATA: 100 lines, 4.9 KB, 2 dot-stuffed ...]",
        " ~> bye",
    ]


def test_body_omitted_thousands_separator() -> None:
    event = Body(seq=2, mono=0.0, wall=0.0, size=3 * 1024 * 1024, line_count=123456, head=(b"a\r\n",),
                 tail=(b"z\r\n",), omitted=123454)
    lines = TextRenderer().render(event)
    assert lines[1] == "    [... 123,454 lines omitted; DATA: 123,456 lines, 3.0 MB ...]"


@pytest.mark.parametrize(("size", "text"), [(0, "0 B"), (1023, "1023 B"), (1024, "1 KB"), (1536, "1.5 KB"),
                                            (1024 * 1024, "1.0 MB")])
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(("event", "line"), [
    (Info(seq=1, mono=0.0, wall=0.0, kind=InfoKind.CONNECTED, text="connected to 127.0.0.1:25"),
     "=== connected to 127.0.0.1:25"),
    (Info(seq=1, mono=0.0, wall=0.0, kind=InfoKind.WARNING, text="reply without a command"),
     "!!! reply without a command"),
    (Error(seq=1, mono=0.0, wall=0.0, category="timeout", message="timed out waiting"), "*** timed out waiting"),
    (Error(seq=1, mono=0.0, wall=0.0, category="reply-5xx", message="bad \x1b]0;title\x07"),
     "*** bad \\x1b]0;title\\x07"),
])
def test_meta_events(event, line: str) -> None:
    assert TextRenderer().render(event) == [line]


def test_command_end_only_with_timing() -> None:
    event = CommandEnd(seq=5, mono=0.0, wall=0.0, command_id=1, text="ehlo client.example.org", ok=True, elapsed=0.0123)
    assert TextRenderer().render(event) == []
    assert TextRenderer(timing=True).render(event) == ["=== ehlo: 12.3 ms"]


def test_delta_timestamps() -> None:
    renderer = TextRenderer(timestamps="delta")
    first = shown(Wire(seq=1, mono=100.0, wall=0.0, direction=RECV, data=b"220 hi\r\n"), 220, renderer)
    second = renderer.render(Wire(seq=2, mono=100.25, wall=0.0, direction=SEND, data=b"EHLO x\r\n"))
    assert first == ["+     0.0ms <-  220 hi"]
    assert second == ["+   250.0ms  -> EHLO x"]


# -- colour ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "direction", "reply", "code"), [
    (b"EHLO x\r\n", SEND, None, "\x1b[36m"), (b"250 OK\r\n", RECV, 250, "\x1b[32m"),
    (b"354 go\r\n", RECV, 354, "\x1b[33m"), (b"451 later\r\n", RECV, 451, "\x1b[33;1m"),
    (b"550 no\r\n", RECV, 550, "\x1b[31;1m"), (b"junk\r\n", RECV, -1, "\x1b[35m"), (b"650 x\r\n", RECV, 650, "\x1b[35m"),
])
def test_colour_only_when_asked(data: bytes, direction: Direction, reply: int | None, code: str) -> None:
    event = wire(data, direction)
    (plain,) = shown(event, reply, TextRenderer(color=False))
    (coloured,) = shown(event, reply, TextRenderer(color=True))
    assert "\x1b" not in plain
    assert coloured == f"{code}{plain}\x1b[0m"


def test_colour_note_and_meta() -> None:
    (line,) = shown(wire(b"334 \r\n", note="empty challenge"), 334, TextRenderer(color=True), command="AUTH")
    assert ANSI_SGR.sub("", line) == "<-  334   # empty challenge"
    error = Error(seq=1, mono=0.0, wall=0.0, category="x", message="boom")
    assert TextRenderer(color=True).render(error) == ["\x1b[31;1m*** boom\x1b[0m"]
    assert TextRenderer(color=False).render(error) == ["*** boom"]


def test_colour_does_not_let_server_escapes_through() -> None:
    (line,) = shown(wire(b"250 \x1b[2J\x1b]0;pwned\x07\r\n"), 250, TextRenderer(color=True))
    assert unsafe_chars(ANSI_SGR.sub("", line)) == []
    assert "\\x1b[2J" in line


# -- safe_text --------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "text"), [
    (b"250 OK\r\n", "250 OK"),
    (b"250 OK\n", "250 OK"),
    (b"250 OK", "250 OK"),
    (b"250 \x1b[2J evil\r\n", "250 \\x1b[2J evil"),
    (b"a\rb\r\n", "a\\rb"),
    (b"a\r\n\r\n", "a\\r\\n"),
    (b"tab\there", "tab\\there"),
    (b"\x00\x7f", "\\x00\\x7f"),
    (b"\xff\xfe abc\r\n", "\\xff\\xfe abc"),
    (b"caf\xc3\xa9", "café"),
    ("caf\u00e9".encode("latin-1"), "caf\\xe9"),
    ("\u202eevil".encode(), "\\u202eevil"),
    ("a\u2066b\u2069".encode(), "a\\u2066b\\u2069"),
    ("a\u0085b".encode(), "a\\x85b"),  # NEL, a C1 control
    ("\u009b2J".encode(), "\\x9b2J"),  # CSI, the 8-bit ESC [
    ("line\u2028sep".encode(), "line\\u2028sep"),
    ("zero\u200bwidth".encode(), "zero\\u200bwidth"),
    ("\U000e0041tag".encode(), "\\U000e0041tag"),  # not "\ue0041", which reads as U+E004 then "1"
    ("\U0001f600", "\U0001f600"),  # printable emoji stays
    ("str\x1b input", "str\\x1b input"),
])
def test_safe_text(data, text: str) -> None:
    assert safe_text(data) == text


def test_safe_text_keeps_eol_when_asked() -> None:
    assert safe_text(b"250 OK\r\n", strip_eol=False) == "250 OK\\r\\n"


def test_hostile_reply_renders_escaped() -> None:
    (line,) = shown(wire(b"250 \x1b[2J evil\r\n"), 250)
    assert line == "<-  250 \\x1b[2J evil"
    (line,) = shown(wire(b"550 \xc3\x28 bad utf-8\r\n"), 550)
    assert line == "<** 550 \\xc3( bad utf-8"


@settings(max_examples=fuzz(200), deadline=None)
@given(st.binary(max_size=80))
def test_safe_text_of_any_bytes_is_terminal_safe(data: bytes) -> None:
    text = safe_text(data)
    assert unsafe_chars(text) == []
    assert text.isprintable()


@settings(max_examples=fuzz(200), deadline=None)
@given(st.text(max_size=40))
def test_safe_text_of_any_str_is_terminal_safe(data: str) -> None:
    text = safe_text(data)
    assert unsafe_chars(text) == []
    assert text.isprintable()


@settings(max_examples=fuzz(200), deadline=None)
@given(st.binary(max_size=40))
def test_printable_ascii_is_unchanged(data: bytes) -> None:
    plain = bytes(b for b in data if 0x20 <= b < 0x7F)
    assert safe_text(plain) == plain.decode("ascii")


@settings(max_examples=fuzz(200), deadline=None)
@given(st.binary(max_size=80), st.sampled_from([SEND, RECV]), st.booleans(), st.text(max_size=20))
def test_rendered_wire_is_terminal_safe(data: bytes, direction: Direction, tls: bool, note: str) -> None:
    lines = shown(wire(data, direction, tls=tls, note=note), None, TextRenderer(color=False))
    assert len(lines) == 1
    assert unsafe_chars(lines[0]) == []
    assert lines[0].isprintable()


@settings(max_examples=fuzz(100), deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=5), st.lists(st.binary(max_size=30), max_size=3), st.text(max_size=20))
def test_rendered_body_and_meta_are_terminal_safe(head: list[bytes], tail: list[bytes], text: str) -> None:
    renderer = TextRenderer(color=False)
    events = [
        Body(seq=1, mono=0.0, wall=0.0, size=1, line_count=len(head) + len(tail) + 1, head=tuple(head),
             tail=tuple(tail), omitted=1),
        Info(seq=2, mono=0.0, wall=0.0, kind=InfoKind.INFO, text=text),
        Info(seq=3, mono=0.0, wall=0.0, kind=InfoKind.WARNING, text=text),
        Error(seq=4, mono=0.0, wall=0.0, category="x", message=text),
    ]
    for event in events:
        for line in renderer.render(event):
            assert unsafe_chars(line) == []
