"""Tests for the exchange model (smtpdbg.core.protocol): pairing, verdicts, the ledger, stages and rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdbg.core.events import Info, LedgerChange, Reply, Unanswered
from smtpdbg.core.protocol import AUTH_RESPONSE, END_OF_DATA, GREETING, ProtocolTracker, Stage, valid_next
from smtpdbg.core.transcript import Transcript
from smtpdbg.core.verdict import Fate, ReplyClass, Verdict, classify_reply
from tests.fuzz import fuzz


def greeted(lmtp: bool = False, code: int = 220) -> ProtocolTracker:
    tracker = ProtocolTracker(lmtp=lmtp, transcript=Transcript())
    tracker.on_connect()
    reply = tracker.on_reply(code, "mx ESMTP")
    assert reply.command == GREETING and reply.exchange >= 1
    return tracker


def exchange(tracker: ProtocolTracker, line: bytes, code: int, text: str = "ok") -> Reply:
    tracker.on_send(line)
    return tracker.on_reply(code, text)


def identified(lmtp: bool = False, features: str = "PIPELINING\nCHUNKING\nDSN\nSIZE 1000\nAUTH PLAIN LOGIN\nSTARTTLS\nPRDR") -> ProtocolTracker:
    tracker = greeted(lmtp)
    exchange(tracker, b"LHLO client\r\n" if lmtp else b"EHLO client\r\n", 250, "mx\n" + features)
    return tracker


def events(tracker: ProtocolTracker, cls) -> list:
    return [e for e in tracker.transcript.snapshot() if isinstance(e, cls)]


def warnings(tracker: ProtocolTracker) -> list[Info]:
    return [e for e in events(tracker, Info) if e.rule]


def fates(transaction) -> list[tuple[str, str, str]]:
    return [(r.address, r.fate.value, r.decided_at) for r in transaction.recipients]


# -- classification -------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "expected"), [
    (250, ReplyClass.POSITIVE), (354, ReplyClass.INTERMEDIATE), (451, ReplyClass.TRANSIENT),
    (554, ReplyClass.PERMANENT), (599, ReplyClass.PERMANENT), (200, ReplyClass.POSITIVE),
    (150, ReplyClass.VIOLATION), (650, ReplyClass.VIOLATION), (999, ReplyClass.VIOLATION), (99, ReplyClass.VIOLATION),
    (600, ReplyClass.VIOLATION), (-1, ReplyClass.VIOLATION), (None, ReplyClass.VIOLATION), (2500, ReplyClass.VIOLATION),
])
def test_one_classifier(code, expected) -> None:
    assert classify_reply(code) is expected


# -- stages -----------------------------------------------------------------------------------
def test_connection_stages() -> None:
    tracker = ProtocolTracker(transcript=Transcript())
    assert tracker.stage is Stage.DISCONNECTED
    tracker.on_connect()
    assert tracker.stage is Stage.CONNECTED
    assert tracker.on_reply(220, "hi").command == GREETING
    assert tracker.stage is Stage.GREETED
    reply = exchange(tracker, b"EHLO client.example.org\r\n", 250)
    assert (reply.command, reply.argument, reply.verdict) == ("EHLO", "client.example.org", Verdict.OK)
    assert tracker.stage is Stage.IDENTIFIED
    tracker.on_close()
    assert tracker.stage is Stage.DISCONNECTED


@pytest.mark.parametrize(("code", "stage", "closing"), [(220, Stage.GREETED, False), (554, Stage.CONNECTED, False),
                                                         (421, Stage.CONNECTED, True)])
def test_greeting_code(code: int, stage: Stage, closing: bool) -> None:
    tracker = greeted(code=code)
    assert tracker.stage is stage
    assert tracker.closing is closing


@pytest.mark.parametrize(("line", "code", "stage"), [
    (b"EHLO x\r\n", 250, Stage.IDENTIFIED),
    (b"helo x\r\n", 250, Stage.IDENTIFIED),
    (b"EHLO x\r\n", 502, Stage.GREETED),
    (b"EHLO x\r\n", 550, Stage.GREETED),
    (b"EHLO x\r\n", 421, Stage.GREETED),
    (b"EHLO x\r\n", 220, Stage.GREETED),  # a duplicate greeting is no identification
])
def test_identification_follows_the_reply(line: bytes, code: int, stage: Stage) -> None:
    tracker = greeted()
    exchange(tracker, line, code)
    assert tracker.stage is stage


def test_duplicate_greeting_answering_ehlo_is_a_violation() -> None:
    reply = exchange(greeted(), b"EHLO x\r\n", 220, "mx ESMTP again")
    assert reply.verdict is Verdict.VIOLATION and "second greeting" in reply.violation


def test_auth_recorded_only_on_235() -> None:
    tracker = identified()
    tracker.on_send(b"AUTH PLAIN AGEAYg==\r\n")
    tracker.note_auth("a", "PLAIN")
    tracker.on_reply(235, "ok")
    assert (tracker.authenticated, tracker.auth_user, tracker.auth_mechanism) == (True, "a", "PLAIN")
    # a refused LOGIN afterwards does not change what was authenticated, nor how
    tracker.on_send(b"AUTH LOGIN\r\n")
    tracker.note_auth("b", "LOGIN")
    tracker.on_reply(503, "already authenticated")
    assert (tracker.auth_user, tracker.auth_mechanism) == ("a", "PLAIN")


def test_auth_refused_is_not_authenticated() -> None:
    tracker = identified()
    tracker.on_send(b"AUTH LOGIN\r\n")
    tracker.note_auth("a", "LOGIN")
    assert tracker.on_reply(334, "VXNlcm5hbWU6").verdict is Verdict.OK
    tracker.on_send(b"YWxpY2U=\r\n", auth_continuation=True)
    assert tracker.on_reply(334, "UGFzc3dvcmQ6").command == AUTH_RESPONSE
    tracker.on_send(b"c2VjcmV0\r\n", auth_continuation=True)
    reply = tracker.on_reply(535, "5.7.8 bad credentials")
    assert reply.verdict is Verdict.PERMANENT and reply.enhanced == "5.7.8"
    assert not tracker.authenticated and tracker.auth_mechanism is None


def test_full_transaction_ledger() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@example.org> SIZE=10\r\n", 250)
    assert tracker.stage is Stage.MAIL and tracker.mail_from == "a@example.org"
    exchange(tracker, b"RCPT TO:<nobody@example.org>\r\n", 550, "5.1.1 no such user")
    assert tracker.stage is Stage.MAIL  # a refused recipient does not make a transaction
    exchange(tracker, b"RCPT TO:<b@example.org> NOTIFY=NEVER\r\n", 250)
    assert tracker.stage is Stage.RCPT
    exchange(tracker, b"RCPT TO:<later@example.org>\r\n", 451, "4.7.1 greylisted")
    assert exchange(tracker, b"DATA\r\n", 354, "go ahead").verdict is Verdict.OK
    assert tracker.stage is Stage.DATA
    tracker.on_body_sent()
    reply = tracker.on_reply(250, "2.0.0 queued as 42")
    assert reply.command == END_OF_DATA
    assert tracker.stage is Stage.IDENTIFIED and tracker.mail_from is None and tracker.recipients == ()
    last = tracker.last_transaction
    assert last.mail_from == "a@example.org" and last.closed and last.status == "partly delivered"
    assert fates(last) == [("nobody@example.org", "permanent failure", "RCPT"),
                           ("b@example.org", "accepted", "end of data"),
                           ("later@example.org", "temporary failure", "RCPT")]
    assert last.recipients[1].reply == "250 2.0.0 queued as 42"
    assert last.recipients[0].enhanced == "5.1.1"
    assert tracker.deliveries == 1
    changes = events(tracker, LedgerChange)
    assert changes[-1].transaction == last and changes[-1].decided == (1,)


@pytest.mark.parametrize(("code", "fate", "deliveries"), [(250, "accepted", 1), (451, "temporary failure", 0),
                                                          (554, "permanent failure", 0), (-1, "unknown", 0),
                                                          (354, "unknown", 0)])
def test_end_of_data_outcome(code: int, fate: str, deliveries: int) -> None:
    tracker = identified()
    for line, reply in ((b"MAIL FROM:<a@b>\r\n", 250), (b"RCPT TO:<c@d>\r\n", 250), (b"DATA\r\n", 354)):
        exchange(tracker, line, reply)
    tracker.on_body_sent()
    tracker.on_reply(code, "")
    assert fates(tracker.last_transaction) == [("c@d", fate, "end of data")]
    assert tracker.deliveries == deliveries
    assert tracker.stage is Stage.IDENTIFIED


def test_no_reply_after_the_final_dot_is_unknown() -> None:
    tracker = identified()
    for line, reply in ((b"MAIL FROM:<a@b>\r\n", 250), (b"RCPT TO:<c@d>\r\n", 250), (b"DATA\r\n", 354)):
        exchange(tracker, line, reply)
    tracker.on_body_sent()
    tracker.on_close("connection lost")
    last = tracker.last_transaction
    assert last.status == "unknown"
    recipient = last.recipients[0]
    assert recipient.fate is Fate.UNKNOWN and "connection lost" in recipient.why
    assert "duplicate" in recipient.line()
    unanswered = events(tracker, Unanswered)
    assert [(u.command, u.cause) for u in unanswered] == [(END_OF_DATA, "connection lost")]


def test_connection_lost_before_the_message_is_not_sent() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    tracker.on_send(b"DATA\r\n")
    tracker.on_close("timed out")
    assert fates(tracker.last_transaction) == [("c@d", "not sent", "")]
    assert [u.cause for u in events(tracker, Unanswered)] == ["timed out"]


def test_data_answered_250_is_a_violation_and_nothing_is_sent() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    reply = exchange(tracker, b"DATA\r\n", 250, "ok")
    assert reply.verdict is Verdict.VIOLATION and "354" in reply.violation
    last = tracker.last_transaction
    assert [r.fate for r in last.recipients] == [Fate.NOT_SENT]
    assert last.status != "delivered"


def test_a_refused_data_keeps_the_transaction_and_its_end_decides_the_recipients() -> None:
    """Issue 11: a refused DATA leaves the server's state as it was; RSET (or QUIT, a new MAIL) makes it final."""
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    refused = exchange(tracker, b"DATA\r\n", 554, "no valid recipients")
    current = tracker.transaction
    assert current is not None and not current.closed and current.status == "open"
    assert fates(current) == [("c@d", "pending", "")] and current.data_refused == ((554, "no valid recipients", refused.exchange),)
    assert tracker.stage is Stage.RCPT and any("DATA refused (554" in line for line in current.lines())
    exchange(tracker, b"RSET\r\n", 250)
    last = tracker.last_transaction
    assert fates(last) == [("c@d", "permanent failure", "DATA")] and last.status == "failed"
    [recipient] = last.recipients
    assert (recipient.code, recipient.exchange) == (554, refused.exchange)
    assert "refused at DATA" in recipient.why and "RSET" in recipient.why


@pytest.mark.parametrize("again", ["DATA", "BDAT"])
def test_a_message_after_a_refused_data_delivers_to_the_recipients(again) -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    exchange(tracker, b"DATA\r\n", 451, "4.3.0 try again")
    if again == "DATA":
        exchange(tracker, b"DATA\r\n", 354, "go ahead")
        tracker.on_body_sent()
        tracker.on_reply(250, "2.0.0 queued")
        where = "end of data"
    else:
        exchange(tracker, b"BDAT 5 LAST\r\n", 250, "2.0.0 queued")
        where = "BDAT LAST"
    last = tracker.last_transaction
    assert fates(last) == [("c@d", "accepted", where)] and last.status == "delivered"
    assert [code for code, _, _ in last.data_refused] == [451]


@pytest.mark.parametrize(("argument", "address"), [
    (b"FROM:<a@b>", "a@b"), (b"FROM: <a@b> SIZE=1", "a@b"), (b"from:<>", ""), (b"FROM:a@b SIZE=1", "a@b"),
    (b"FROM:<unclosed", "unclosed"),
])
def test_mail_address_extraction(argument: bytes, address: str) -> None:
    tracker = identified()
    exchange(tracker, b"MAIL " + argument + b"\r\n", 250)
    assert tracker.mail_from == address


def test_refused_mail_is_in_the_ledger() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<spam@x>\r\n", 550, "5.7.1 go away")
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 503, "5.5.1 need MAIL")
    exchange(tracker, b"RSET\r\n", 250)
    last = tracker.last_transaction
    assert last.status == "refused at MAIL" and last.mail_from == "spam@x"
    assert fates(last) == []  # "need MAIL" is about the order of commands, not the recipient


def test_rset_abandons_the_transaction() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    exchange(tracker, b"RSET\r\n", 500)
    assert tracker.stage is Stage.RCPT  # a refused RSET changes nothing
    exchange(tracker, b"RSET\r\n", 250)
    assert tracker.stage is Stage.IDENTIFIED and tracker.mail_from is None
    assert fates(tracker.last_transaction) == [("c@d", "not sent", "")]
    assert tracker.last_transaction.status == "abandoned"


def test_second_ehlo_resets_transaction() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"EHLO again\r\n", 250)
    assert tracker.stage is Stage.IDENTIFIED and tracker.mail_from is None


def test_starttls_forgets_identification_and_auth() -> None:
    tracker = identified()
    tracker.on_send(b"AUTH PLAIN AGEAYg==\r\n")
    tracker.note_auth("a", "PLAIN")
    tracker.on_reply(235, "ok")
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    tracker.on_tls()
    assert tracker.stage is Stage.TLS
    assert (tracker.identified, tracker.authenticated, tracker.auth_user, tracker.auth_mechanism) == (False, False, None, None)
    assert tracker.mail_from is None
    exchange(tracker, b"EHLO again\r\n", 250)
    assert tracker.stage is Stage.IDENTIFIED and tracker.tls


def test_implicit_tls_greeting_asks_for_ehlo() -> None:
    tracker = ProtocolTracker(transcript=Transcript())
    tracker.on_connect()
    tracker.on_implicit_tls()
    assert tracker.stage is Stage.CONNECTED
    tracker.on_reply(220, "hi")
    assert tracker.tls and tracker.greeted
    assert valid_next(tracker.stage, tls=True)[0] == "ehlo"


def test_reconnect_starts_fresh_and_numbers_go_on() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    first = tracker.connection
    tracker.on_close()
    tracker.on_connect()
    assert tracker.stage is Stage.CONNECTED and tracker.connection == first + 1
    assert tracker.mail_from is None and not tracker.identified
    assert [p.verb for p in tracker.pending] == [GREETING]


# -- pairing ----------------------------------------------------------------------------------
def test_pipelined_replies_pair_fifo_and_carry_their_exchange() -> None:
    tracker = identified()
    ids = [tracker.on_send(line) for line in (b"MAIL FROM:<a@b>\r\n", b"RCPT TO:<c@d>\r\n", b"RCPT TO:<e@f>\r\n", b"DATA\r\n")]
    replies = [tracker.on_reply(code, "") for code in (250, 250, 550, 354)]
    assert [(r.command, r.argument) for r in replies] == [
        ("MAIL", "FROM:<a@b>"), ("RCPT", "TO:<c@d>"), ("RCPT", "TO:<e@f>"), ("DATA", "")]
    assert [r.exchange for r in replies] == ids and len(set(ids)) == 4
    assert [(r.address, r.rcpt_code) for r in tracker.recipients] == [("c@d", 250), ("e@f", 550)]
    assert tracker.stage is Stage.DATA


def test_unsolicited_reply() -> None:
    tracker = identified()
    reply = tracker.on_reply(250, "surprise")
    assert reply.unsolicited and reply.command == "" and reply.verdict is Verdict.VIOLATION
    assert tracker.stage is Stage.IDENTIFIED
    assert exchange(tracker, b"NOOP\r\n", 250).command == "NOOP"


def test_unsolicited_421_is_allowed_and_closes() -> None:
    tracker = identified()
    reply = tracker.on_reply(421, "shutting down")
    assert reply.unsolicited and reply.verdict is Verdict.TEMPORARY
    assert tracker.closing and "421" in tracker.closing_reason


def test_421_to_a_command_closes() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 421, "4.7.0 too many connections")
    assert tracker.closing


def test_close_leaves_nothing_pending() -> None:
    tracker = identified()
    tracker.on_send(b"NOOP\r\n")
    tracker.on_close("aborted")
    assert not tracker.pending
    assert [(u.command, u.cause) for u in events(tracker, Unanswered)] == [("NOOP", "aborted")]


@pytest.mark.parametrize(("code", "violation"), [(150, True), (600, True), (99, True), (-1, True), (250, False),
                                                 (334, True), (354, True)])
def test_invalid_or_unexpected_codes_are_violations(code: int, violation: bool) -> None:
    reply = exchange(identified(), b"NOOP\r\n", code)
    assert (reply.verdict is Verdict.VIOLATION) is violation


@settings(max_examples=fuzz(200), deadline=None)
@given(st.lists(st.sampled_from([b"NOOP", b"HELP", b"VRFY x", b"RSET", b"XYZZY 1 2", b"ehlo a"]), min_size=1, max_size=10))
def test_fifo_property(lines: list[bytes]) -> None:
    tracker = greeted()
    for line in lines:
        tracker.on_send(line + b"\r\n")
    replies = [tracker.on_reply(250, "") for _ in lines]
    assert [r.command for r in replies] == [line.split(b" ")[0].decode().upper() for line in lines]
    assert not any(r.unsolicited for r in replies)
    assert tracker.on_reply(250, "").unsolicited


# -- BDAT -----------------------------------------------------------------------------------
def test_bdat_last_finishes_transaction() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    exchange(tracker, b"BDAT 100\r\n", 250)
    assert tracker.stage is Stage.RCPT
    exchange(tracker, b"BDAT 0 LAST\r\n", 250, "queued")
    assert tracker.stage is Stage.IDENTIFIED
    assert fates(tracker.last_transaction) == [("c@d", "accepted", "BDAT LAST")]
    assert tracker.deliveries == 1


def test_a_refused_chunk_fails_the_transaction() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    exchange(tracker, b"BDAT 3\r\n", 250)
    exchange(tracker, b"BDAT 3\r\n", 552, "5.3.4 message too big")
    assert fates(tracker.last_transaction) == [("c@d", "permanent failure", "BDAT")]
    assert tracker.last_transaction.status == "failed"


def test_no_reply_to_bdat_last_is_unknown() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    tracker.on_send(b"BDAT 5 LAST\r\n")
    tracker.on_close("timed out")
    assert fates(tracker.last_transaction) == [("c@d", "unknown", "end of data")]


# -- LMTP and PRDR ---------------------------------------------------------------------------------
def test_lmtp_one_reply_per_accepted_recipient() -> None:
    tracker = identified(lmtp=True)
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    for address, code in (("r1@x", 250), ("r2@x", 550), ("r3@x", 250), ("r4@x", 250)):
        exchange(tracker, f"RCPT TO:<{address}>\r\n".encode(), code)
    exchange(tracker, b"DATA\r\n", 354)
    assert tracker.expected_data_replies == 3
    tracker.on_body_sent()
    assert [(p.verb, p.recipient) for p in tracker.pending] == [(END_OF_DATA, "r1@x"), (END_OF_DATA, "r3@x"),
                                                               (END_OF_DATA, "r4@x")]
    assert tracker.on_reply(250, "delivered to r1").recipient == "r1@x"
    assert tracker.last_transaction is None  # still waiting for two more
    tracker.on_reply(452, "r3 over quota")
    tracker.on_reply(554, "r4 rejected")
    assert not tracker.pending and tracker.stage is Stage.IDENTIFIED
    last = tracker.last_transaction
    assert [(r.address, r.fate.value, r.code) for r in last.recipients] == [
        ("r1@x", "accepted", 250), ("r2@x", "permanent failure", 550),
        ("r3@x", "temporary failure", 452), ("r4@x", "permanent failure", 554)]
    assert last.status == "partly delivered"


def test_lmtp_without_accepted_recipients_expects_one_reply() -> None:
    tracker = identified(lmtp=True)
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<r@x>\r\n", 550)
    assert tracker.expected_data_replies == 1
    tracker.on_body_sent()
    assert len(tracker.pending) == 1


def test_prdr_per_recipient_replies_are_paired_not_unsolicited() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b> PRDR\r\n", 250)
    exchange(tracker, b"RCPT TO:<r1@x>\r\n", 250)
    exchange(tracker, b"RCPT TO:<r2@x>\r\n", 250)
    exchange(tracker, b"DATA\r\n", 354)
    tracker.on_body_sent()
    first = tracker.on_reply(353, "content analysis has started")
    assert first.verdict is Verdict.OK and not first.violation
    assert tracker.on_reply(250, "ok for r1").recipient == "r1@x"
    assert tracker.on_reply(550, "5.7.1 r2 refuses this content").recipient == "r2@x"
    final = tracker.on_reply(250, "message done")
    assert not final.unsolicited and not tracker.pending
    assert fates(tracker.last_transaction) == [("r1@x", "accepted", "end of data (PRDR)"),
                                               ("r2@x", "permanent failure", "end of data (PRDR)")]


def test_prdr_declined_is_one_reply_for_all() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b> PRDR\r\n", 250)
    exchange(tracker, b"RCPT TO:<r1@x>\r\n", 250)
    exchange(tracker, b"DATA\r\n", 354)
    tracker.on_body_sent()
    tracker.on_reply(250, "queued")
    assert fates(tracker.last_transaction) == [("r1@x", "accepted", "end of data")]


# -- rules checked on the wire ------------------------------------------------------------------
@pytest.mark.parametrize(("setup", "line", "rule", "words"), [
    ([], b"RCPT TO:<c@d>\r\n", "RFC 5321 §3.3", "RCPT before an accepted MAIL"),
    ([(b"MAIL FROM:<a@b>\r\n", 250)], b"DATA\r\n", "RFC 5321 §3.3", "without an accepted recipient"),
    ([(b"MAIL FROM:<a@b>\r\n", 250)], b"MAIL FROM:<a@b>\r\n", "RFC 5321 §4.1.1.2", "inside a transaction"),
    ([(b"AUTH PLAIN AGEAYg==\r\n", 235)], b"AUTH LOGIN\r\n", "RFC 4954 §4", "second one"),
    ([(b"MAIL FROM:<a@b>\r\n", 250)], b"AUTH LOGIN\r\n", "RFC 4954 §4", "inside a transaction"),
    ([], b"MAIL FROM:<a@b> MT-PRIORITY=3\r\n", "RFC 6710 §3", "MT-PRIORITY"),
    ([], b"MAIL FROM:<a@b> SMTPUTF8\r\n", "RFC 6531 §3.4", "SMTPUTF8"),
    ([(b"MAIL FROM:<a@b>\r\n", 250), (b"RCPT TO:<c@d>\r\n", 250), (b"BDAT 3\r\n", 250)], b"DATA\r\n",
     "RFC 3030 §2", "DATA after BDAT"),
    ([(b"MAIL FROM:<a@b> BODY=BINARYMIME\r\n", 250), (b"RCPT TO:<c@d>\r\n", 250)], b"DATA\r\n",
     "RFC 3030 §3", "BINARYMIME"),
])
def test_rules_are_checked_on_the_wire(setup, line, rule, words) -> None:
    tracker = identified()
    for sent, code in setup:
        exchange(tracker, sent, code)
    tracker.on_send(line)
    found = warnings(tracker)
    assert found and found[-1].rule == rule and words in found[-1].text


def test_auth_after_helo_and_not_advertised() -> None:
    tracker = greeted()
    exchange(tracker, b"HELO x\r\n", 250)
    tracker.on_send(b"AUTH PLAIN AGEAYg==\r\n")
    assert "after HELO" in warnings(tracker)[-1].text
    tracker = identified(features="PIPELINING")
    tracker.on_send(b"AUTH PLAIN AGEAYg==\r\n")
    assert "not advertised" in warnings(tracker)[-1].text


@pytest.mark.parametrize("lines", [
    [b"EHLO x\r\n", b"MAIL FROM:<a@b> SIZE=10\r\n", b"RCPT TO:<c@d> NOTIFY=NEVER\r\n", b"DATA\r\n"],
    [b"EHLO x\r\n", b"AUTH PLAIN AGEAYg==\r\n"],
])
def test_in_order_lines_are_not_flagged(lines) -> None:
    tracker = greeted()
    codes = {b"EHLO": 250, b"MAIL": 250, b"RCPT": 250, b"DATA": 354, b"AUTH": 235}
    for line in lines:
        text = "mx\nSIZE 100\nDSN\nAUTH PLAIN" if line.startswith(b"EHLO") else "ok"
        exchange(tracker, line, codes[line[:4]], text)
    assert warnings(tracker) == []


@pytest.mark.parametrize(("stage", "tls", "authenticated", "first", "absent"), [
    (Stage.DISCONNECTED, False, False, ("connect", "reconnect"), ("noop",)),
    (Stage.GREETED, False, False, ("ehlo", "helo"), ("mail",)),
    (Stage.IDENTIFIED, False, False, ("starttls", "login", "auth", "mail"), ("ehlo",)),
    (Stage.IDENTIFIED, True, False, ("login", "auth", "mail"), ("starttls",)),
    (Stage.IDENTIFIED, True, True, ("mail",), ("starttls", "login", "auth")),
    (Stage.MAIL, False, False, ("rcpt",), ("data",)),
    (Stage.RCPT, False, False, ("rcpt", "data"), ("mail",)),
    (Stage.DATA, False, False, ("data",), ("noop", "quit")),
])
def test_valid_next(stage: Stage, tls: bool, authenticated: bool, first: tuple, absent: tuple) -> None:
    commands = valid_next(stage, tls, authenticated)
    assert commands[:len(first)] == first
    assert not set(absent) & set(commands)
    assert len(commands) == len(set(commands))


def test_starttls_masked_by_a_middlebox_is_named() -> None:
    tracker = greeted()
    exchange(tracker, b"EHLO x\r\n", 250, "mx\nPIPELINING\nXXXXXXXA\n8BITMIME")
    found = warnings(tracker)
    assert found and "STARTTLS may have been stripped" in found[-1].text and found[-1].rule == "RFC 3207 §6"
    tracker = greeted()
    exchange(tracker, b"EHLO x\r\n", 250, "mx\nXCLIENT NAME ADDR\nXFORWARD NAME\nSTARTTLS")
    assert warnings(tracker) == []
