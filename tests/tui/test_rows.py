"""The transcript's row store: events to rows, markers, filters, explanations (no UI)."""

from __future__ import annotations

import pytest

from smtpdbg.core.events import Body, CommandEnd, CommandStart, Direction, Error, Info, InfoKind, Wire
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.model.rows import FILTERS, RowStore, explain_failure, marker


def wire(direction: str, data: bytes, **fields) -> Wire:
    return Wire(seq=1, mono=0.0, wall=1.0, direction=Direction(direction), data=data, **fields)


@pytest.mark.parametrize(("event", "kind", "text", "mark"), [
    (wire("send", b"EHLO x\r\n"), R.SEND, "EHLO x", " -> "),
    (wire("send", b"EHLO x\r\n", tls=True), R.SEND | R.TLS, "EHLO x", " ~> "),
    (wire("recv", b"250 OK\r\n"), R.RECV2, "250 OK", "<-  "),
    (wire("recv", b"354 go\r\n"), R.RECV3, "354 go", "<-  "),
    (wire("recv", b"451 later\r\n"), R.RECV4, "451 later", "<** "),
    (wire("recv", b"550 no\r\n", tls=True), R.RECV5 | R.TLS, "550 no", "<~* "),
    (wire("recv", b"hello\r\n"), R.RECV_BAD, "hello", "<** "),
    (wire("recv", b"650 odd\r\n"), R.RECV_BAD, "650 odd", "<** "),
    (wire("recv", b"220 \x1b[31mred\x07\r\n"), R.RECV2, "220 \\x1b[31mred\\x07", "<-  "),
    (wire("recv", b"220 caf\xc3\xa9 \xff\r\n"), R.RECV2, "220 café \\xff", "<-  "),
])
def test_wire_lines_become_safe_rows(event, kind, text, mark):
    store = RowStore()
    store.ingest([event])
    assert store.kinds[0] == kind and store.texts[0] == text and marker(store.kinds[0]) == mark
    assert store.plain(0) == mark + text


def test_masked_auth_line_keeps_its_note_and_a_missing_line_ending_is_said():
    store = RowStore()
    store.ingest([wire("send", b"AUTH PLAIN ********\r\n", redacted=True, note="PLAIN user='alice' password=<hidden>"),
                  wire("recv", b"250 partial")])
    assert store.kinds[0] & R.MASKED and store.notes[0].startswith("PLAIN user='alice'")
    assert store.notes[1] == "(no line ending)"


def test_command_rows_carry_latency_and_failures_are_explained():
    store = RowStore()
    result = store.ingest([
        CommandStart(seq=1, mono=0, wall=0, command_id=7, text="rcpt x@y", call="smtp.rcpt(recipient, options)"),
        wire("send", b"RCPT TO:<x@y>\r\n"),
        wire("recv", b"550 5.1.1 <x@y>: unknown\r\n"),
        CommandEnd(seq=4, mono=0, wall=0, command_id=7, text="rcpt x@y", ok=False, elapsed=0.002, code=550,
                   reply="5.1.1 <x@y>: unknown", category="reply-5xx"),
    ])
    assert store.latency[0] == (0.002, False, 550) and result.changed == [0]
    explained = [store.texts[i] for i in range(len(store)) if store.kinds[i] == R.EXPLAIN]
    assert explained[0].startswith("550 Requested action not taken")
    assert any(line.startswith("5.1.1 Bad destination mailbox address") for line in explained)
    assert result.notices and result.notices[0].severity == "error"
    assert list(store.exchange(2)) == list(range(len(store)))


def test_errors_and_infos():
    store = RowStore()
    result = store.ingest([
        Info(seq=1, mono=0, wall=0, kind=InfoKind.TLS, text="TLS established"),
        Info(seq=2, mono=0, wall=0, kind=InfoKind.WARNING, text="odd"),
        Error(seq=3, mono=0, wall=0, category="timeout", message="no reply within 5 s", connected=False),
        Error(seq=4, mono=0, wall=0, category="parse", message="unknown command"),
    ])
    assert [store.kinds[i] for i in range(4)] == [R.TLSINFO, R.WARN, R.ERROR, R.ERROR]
    assert [n.title for n in result.notices] == ["Error: timeout"]  # parse errors are not toasted


def test_small_bodies_inline_large_ones_collapse():
    store = RowStore()
    small = Body(seq=1, mono=0, wall=0, size=20, line_count=3, head=(b"Subject: x\r\n", b"\r\n", b".\r\n"))
    lines = tuple(b"line %d\r\n" % n for n in range(30))
    large = Body(seq=2, mono=0, wall=0, size=99999, line_count=5000, head=lines, tail=(b".\r\n",), omitted=4969, stuffed=2)
    store.ingest([small, large])
    assert [store.kinds[i] for i in range(3)] == [R.BODY] * 3
    assert store.kinds[3] == R.SUMMARY and store.texts[3] == "DATA: 5,000 lines, 97.7 KB, 2 dot-stuffed"
    expansion = store.body_lines(3)
    assert len(expansion) == 30 + 1 + 1 and expansion[30][0] == R.OMITTED and "4,969 lines" in expansion[30][1]


def test_filters_keep_the_right_kinds():
    store = RowStore()
    store.ingest([wire("send", b"A\r\n"), wire("recv", b"250 a\r\n"), wire("recv", b"550 b\r\n"),
                  Info(seq=1, mono=0, wall=0, kind=InfoKind.INFO, text="i")])
    assert list(store.matching(FILTERS["client"])) == [0]
    assert list(store.matching(FILTERS["server"])) == [1, 2]
    assert list(store.matching(FILTERS["errors"])) == [2]


def test_explain_failure_without_enhanced_code_gives_the_basic_advice():
    lines = explain_failure(421, "closing")
    assert lines[0].startswith("421 ") and any(line.startswith("next: ") for line in lines)
    assert all(len(line) <= 72 for line in lines)
    assert explain_failure(None, "") == []


def test_a_failed_command_toasts_its_reply_and_one_line_of_meaning():
    store = RowStore()
    result = store.ingest([
        CommandStart(seq=1, mono=0, wall=0, command_id=1, text="rcpt x@y"),
        CommandEnd(seq=2, mono=0, wall=0, command_id=1, text="rcpt x@y", ok=False, elapsed=0.002, code=550,
                   reply="5.1.1 <x@y>: unknown", category="reply-5xx"),
    ])
    [notice] = result.notices
    assert notice.title == "rcpt failed"
    assert notice.message == "550 5.1.1 <x@y>: unknown\n→ permanent failure: bad destination mailbox address"


def test_a_failure_reported_as_an_error_with_a_code_is_explained_once():
    # STARTTLS refused: the session reports an Error with the code, then the command's end with the same code
    store = RowStore()
    result = store.ingest([
        CommandStart(seq=1, mono=0, wall=0, command_id=1, text="starttls"),
        wire("recv", b"454 4.7.0 TLS not available\r\n"),
        Error(seq=3, mono=0, wall=0, category="reply-4xx", message="the server answered 454 4.7.0 TLS not available",
              code=454),
        CommandEnd(seq=4, mono=0, wall=0, command_id=1, text="starttls", ok=False, elapsed=0.002, code=454,
                   category="reply-4xx"),
        CommandStart(seq=5, mono=0, wall=0, command_id=2, text="rcpt x@y"),
        CommandEnd(seq=6, mono=0, wall=0, command_id=2, text="rcpt x@y", ok=False, elapsed=0.002, code=550,
                   reply="5.1.1 <x@y>: unknown", category="reply-5xx"),
    ])
    explained = [store.texts[i] for i in range(len(store)) if store.kinds[i] == R.EXPLAIN]
    assert len([line for line in explained if line.startswith("454 ")]) == 1
    assert len([line for line in explained if line.startswith("550 ")]) == 1  # the next command is explained again
    assert [n.title for n in result.notices] == ["Error: reply 4xx", "rcpt failed"]


def test_copying_a_command_row_keeps_its_verdict():
    store = RowStore()
    store.ingest([
        CommandStart(seq=1, mono=0, wall=0, command_id=1, text="ehlo", call="smtp.ehlo(name)"),
        CommandEnd(seq=2, mono=0, wall=0, command_id=1, text="ehlo", ok=True, elapsed=0.002, code=250),
    ])
    assert store.plain(0) == "  ▸ ehlo  ✓ 250  # smtp.ehlo(name)"
