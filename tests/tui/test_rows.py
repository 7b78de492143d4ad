"""The transcript's row store: events to rows, markers, filters, explanations (no UI)."""

from __future__ import annotations

import pytest

from smtpdbg.core.events import Body, CommandEnd, CommandStart, Direction, Error, Info, InfoKind, Wire
from smtpdbg.core.protocol import ProtocolTracker
from smtpdbg.core.target import Target
from smtpdbg.core.transcript import Transcript
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.model.rows import FILTERS, RowStore, explain_failure, marker
from tests.tui.fakes import FakeSession


def wire(direction: str, data: bytes, **fields) -> Wire:
    return Wire(seq=1, mono=0.0, wall=1.0, direction=Direction(direction), data=data, **fields)


def exchange(command: bytes, code: int, *lines: bytes, tls: bool = False, greeting: bool = True) -> list:
    """The events of one command and its reply, judged by the core's tracker (the test reads the wire as traced.py does)."""
    transcript = Transcript()
    tracker = ProtocolTracker(transcript=transcript)
    tracker.on_connect()
    if greeting:
        tracker.on_reply(220, "mx")
        transcript.add(Wire, direction=Direction.SEND, data=command, tls=tls)
        tracker.on_send(command)
    start = len(transcript) - 1 if greeting else len(transcript)
    first = 0
    for line in lines:
        seq = transcript.add(Wire, direction=Direction.RECV, data=line, tls=tls).seq
        first = first or seq
    tracker.on_reply(code, "\n".join(line[4:].decode("utf-8", "replace").strip() for line in lines), first_seq=first,
                     lines=len(lines))
    return transcript.snapshot()[start:]


def session(*commands: str, transport: str = "smtp", bodies: dict | None = None) -> list:
    """The events of a scripted session (the fake server, the core's tracker)."""
    fake = FakeSession(Target(transport, "mx.example.test", 25))
    for command in ("connect", "ehlo") + commands:
        fake.submit(command, body=(bodies or {}).get(command))
    return fake.transcript.snapshot()


def test_client_lines_become_safe_rows():
    store = RowStore()
    store.ingest([wire("send", b"EHLO x\r\n"), wire("send", b"EHLO x\r\n", tls=True)])
    assert [store.plain(0), store.plain(1)] == [" -> EHLO x", " ~> EHLO x"]
    assert store.kinds[1] == R.SEND | R.TLS


@pytest.mark.parametrize(("command", "code", "data", "kind", "text", "mark"), [
    (b"NOOP\r\n", 250, b"250 OK\r\n", R.RECV2, "250 OK", "<-  "),
    (b"DATA\r\n", 354, b"354 go\r\n", R.RECV3, "354 go", "<-  "),
    (b"VRFY a@b\r\n", 451, b"451 later\r\n", R.RECV4, "451 later", "<** "),
    (b"NOOP\r\n", -1, b"hello\r\n", R.RECV_BAD, "hello", "<** "),
    (b"NOOP\r\n", 150, b"150 odd\r\n", R.RECV_BAD, "150 odd", "<** "),
    (b"NOOP\r\n", 650, b"650 odd\r\n", R.RECV_BAD, "650 odd", "<** "),
    (b"NOOP\r\n", 999, b"999 odd\r\n", R.RECV_BAD, "999 odd", "<** "),
    (b"DATA\r\n", 250, b"250 OK\r\n", R.RECV_BAD, "250 OK", "<** "),  # DATA answered 250: the core says violation
    (b"NOOP\r\n", 250, b"250 \x1b[31mred\x07\r\n", R.RECV2, "250 \\x1b[31mred\\x07", "<-  "),
    (b"NOOP\r\n", 250, b"250 caf\xc3\xa9 \xff\r\n", R.RECV2, "250 café \\xff", "<-  "),
])
def test_reply_lines_take_the_core_s_verdict(command, code, data, kind, text, mark):
    store = RowStore()
    store.ingest(exchange(command, code, data))
    row = 1  # after the command's row
    assert store.texts[row] == text and store.kinds[row] == kind and marker(store.kinds[row]) == mark
    assert store.plain(row) == mark + text


def test_a_tls_reply_keeps_its_flag_and_every_line_of_a_reply_is_judged_together():
    store = RowStore()
    store.ingest(exchange(b"VRFY x@y\r\n", 550, b"550-5.1.1 no\r\n", b"550 5.1.1 really\r\n", tls=True))
    assert [store.kinds[i] for i in (1, 2)] == [R.RECV5 | R.TLS] * 2
    assert [marker(store.kinds[i]) for i in (1, 2)] == ["<~* "] * 2


def test_lines_wait_unjudged_until_their_reply_is_complete_then_a_filtered_view_can_be_rebuilt():
    events = exchange(b"VRFY x@y\r\n", 550, b"550-5.1.1 no\r\n", b"550 5.1.1 really\r\n")
    store = RowStore()
    first = store.ingest(events[:2])  # the command and the first line: the reply is not complete
    assert store.kinds[1] == R.RECV and marker(store.kinds[1]) == "<-  " and not first.rejudged and store.unjudged == 1
    assert list(store.matching(FILTERS["server"])) == [1] and list(store.matching(FILTERS["errors"])) == []
    second = store.ingest(events[2:])
    assert second.rejudged and second.changed == [1]
    assert [store.kinds[i] for i in (1, 2)] == [R.RECV5, R.RECV5]
    assert list(store.matching(FILTERS["errors"])) == [1, 2]


def test_a_fragment_of_a_reply_that_never_completed_stays_unjudged():
    transcript = Transcript()
    tracker = ProtocolTracker(transcript=transcript)
    tracker.on_connect()
    transcript.add(Wire, direction=Direction.RECV, data=b"220-mx half a greeting\r\n")
    tracker.on_close("connection lost")
    store = RowStore()
    result = store.ingest(transcript.snapshot())
    assert store.kinds[0] == R.RECV
    assert store.texts[1] == "no greeting: connection lost" and store.kinds[1] == R.NO_REPLY
    assert marker(store.kinds[1]) == "*** " and 1 in store.matching(FILTERS["errors"])
    assert [type(item).__name__ for item in result.timeline] == ["Unanswered"]


def test_masked_auth_line_keeps_its_note_and_a_missing_line_ending_is_said():
    store = RowStore()
    store.ingest([wire("send", b"AUTH PLAIN ********\r\n", redacted=True, note="PLAIN user='alice' password=<hidden>")]
                 + exchange(b"", 220, b"220 partial", greeting=False))
    assert store.kinds[0] & R.MASKED and store.notes[0].startswith("PLAIN user='alice'")
    assert store.notes[1] == "(no line ending)"


def test_command_rows_carry_latency_and_failures_are_explained():
    store = RowStore()
    result = store.ingest([
        CommandStart(seq=1, mono=0, wall=0, command_id=7, text="rcpt x@y", call="smtp.rcpt(recipient, options)"),
        wire("send", b"VRFY x@y\r\n"),
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
    store.ingest(exchange(b"NOOP\r\n", 250, b"250 a\r\n") + exchange(b"VRFY b@c\r\n", 550, b"550 b\r\n")
                 + [Info(seq=1, mono=0, wall=0, kind=InfoKind.INFO, text="i")])
    assert list(store.matching(FILTERS["client"])) == [0, 2]
    assert list(store.matching(FILTERS["server"])) == [1, 3]
    assert list(store.matching(FILTERS["errors"])) == [3]


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


def rows_of(store: RowStore, kinds) -> list[str]:
    return [store.texts[i] for i in range(len(store)) if store.kinds[i] & R.KIND in kinds]


def test_a_reply_is_coloured_the_same_however_the_command_was_typed():
    typed = RowStore()
    typed.ingest(session("mail reject@example.test"))
    by_docmd = RowStore()
    by_docmd.ingest(session("docmd MAIL FROM:<reject@example.test>"))
    by_raw = RowStore()
    by_raw.ingest(session("raw MAIL FROM:<reject@example.test>"))
    for store in (typed, by_docmd, by_raw):
        [row] = [i for i in range(len(store)) if store.texts[i].startswith("550 5.1.0") and store.kinds[i] != R.EXPLAIN]
        assert store.kinds[row] == R.RECV5 and marker(store.kinds[row]) == "<** "


def test_each_recipient_decided_after_the_message_gets_a_line_from_the_ledger():
    store = RowStore()
    result = store.ingest(session("mail a@example.test", "rcpt bob@example.test", "rcpt full@example.test",
                                  "rcpt reject@example.test", "data", transport="lmtp",
                                  bodies={"data": b"Subject: x\r\n\r\nhi\r\n"}))
    assert rows_of(store, R.FATES) == ["bob@example.test: accepted at end of data (LMTP): 250 2.0.0",
                                       "full@example.test: temporary failure at end of data (LMTP): 452 4.2.2"]
    fates = [store.kinds[i] for i in range(len(store)) if store.kinds[i] in R.FATES]
    assert fates == [R.FATE_OK, R.FATE_TEMPORARY] and marker(R.FATE_OK) == "  ⇒ "
    assert store.texts.index("bob@example.test: accepted at end of data (LMTP): 250 2.0.0") > store.texts.index(
        "250 2.0.0 <bob@example.test> delivered")  # under the reply that decided it
    assert "reject@example.test" not in " ".join(rows_of(store, R.FATES))  # refused at RCPT: its reply says so
    assert rows_of(store, FILTERS["errors"]).count("full@example.test: temporary failure at end of data (LMTP): 452 4.2.2") == 1
    assert not any(n.title == "Outcome unknown" for n in result.notices)


def test_an_unknown_outcome_is_said_with_the_duplicate_warning():
    store = RowStore()
    result = store.ingest(session("mail a@example.test", "rcpt bob@example.test", "data",
                                  bodies={"data": b"X-Fake-Drop: yes\r\n\r\nhi\r\n"}))
    assert rows_of(store, (R.NO_REPLY,)) == ["no reply after the message (its final dot): connection lost"]
    [line] = rows_of(store, (R.FATE_UNKNOWN,))
    assert line.startswith("bob@example.test: unknown after end of data: no reply after the message was sent")
    [warning] = [i for i in range(len(store)) if store.kinds[i] == R.FATE_WARNING]
    assert store.plain(warning) == "    the message may have been delivered: a retry may deliver a duplicate"
    assert store.kinds[warning - 1] == R.FATE_UNKNOWN
    assert any(n.title == "Outcome unknown" and "bob@example.test" in n.message for n in result.notices)


def test_rule_warnings_are_known_by_their_rule_not_their_words():
    store = RowStore()
    result = store.ingest(session("rcpt bob@example.test"))  # RCPT before MAIL: RFC 5321 §3.3
    [rule] = rows_of(store, (R.RULE,))
    assert "RCPT" in rule
    assert any(n.title == "Breaks RFC 5321 §3.3 (sent anyway)" and n.severity == "warning" for n in result.notices)
    reworded = RowStore()  # the same warning in other words is still a rule warning; a plain warning is not
    reworded.ingest([Info(seq=1, mono=0, wall=0, kind=InfoKind.WARNING, text="whatever words", rule="RFC 5321 §3.3"),
                     Info(seq=2, mono=0, wall=0, kind=InfoKind.WARNING, text="out of order (sent anyway): x")])
    assert [reworded.kinds[0], reworded.kinds[1]] == [R.RULE, R.WARN]


def test_the_server_s_violation_is_its_reply_s_warning_not_a_rule_we_broke():
    store = RowStore()
    result = store.ingest(session("docmd XCODE 354"))  # 354 asks for more input, which XCODE never does
    [row] = [i for i in range(len(store)) if store.texts[i] == "354 odd reply"]
    assert store.kinds[row] == R.RECV_BAD and "RFC 5321 §4.3.2" in store.violations[row]
    assert rows_of(store, (R.RULE,)) == [] and rows_of(store, (R.WARN,)) == [store.violations[row]]
    assert not any(n.title.startswith("Breaks") for n in result.notices)


@pytest.mark.parametrize("code", [150, 650, 999])
def test_codes_outside_the_classes_are_violations_in_the_app(code):
    store = RowStore()
    store.ingest(session(f"docmd XCODE {code}"))
    [row] = [i for i in range(len(store)) if store.texts[i] == f"{code} odd reply"]
    assert store.kinds[row] == R.RECV_BAD and marker(store.kinds[row]) == "<** "
    assert "not a valid reply code" in store.violations[row]


def test_lines_no_reply_ever_judges_are_not_kept_waiting_without_bound():
    store = RowStore()
    store.ingest([Wire(seq=n, mono=0.0, wall=0.0, direction=Direction.RECV, data=b"250 x\r\n") for n in range(1, 5001)])
    assert len(store) == 5000 and store.kinds[4999] == R.RECV
    assert store.unjudged <= R.UNJUDGED_LIMIT


def test_a_failed_command_s_toast_says_what_the_reply_means_where_it_came():
    store = RowStore()
    result = store.ingest(session("mail a@example.test", "rcpt reject@example.test"))
    [notice] = [n for n in result.notices if n.title == "rcpt failed"]
    assert notice.message.endswith("\n→ permanent failure: no such recipient")  # at RCPT, from its Reply
