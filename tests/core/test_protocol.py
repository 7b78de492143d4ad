"""Tests for the protocol tracker (smtpdbg.core.protocol): reply pairing and stages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdbg.core.protocol import (
    AUTH_RESPONSE,
    END_OF_DATA,
    GREETING,
    Pairing,
    ProtocolTracker,
    RecipientResult,
    Stage,
    valid_next,
)
from tests.fuzz import fuzz


def greeted(lmtp: bool = False) -> ProtocolTracker:
    tracker = ProtocolTracker(lmtp=lmtp)
    tracker.on_connect()
    assert tracker.on_reply(220, "mx ESMTP") == Pairing(GREETING, "")
    return tracker


def exchange(tracker: ProtocolTracker, line: bytes, code: int, text: str = "ok") -> Pairing:
    tracker.on_send(line)
    return tracker.on_reply(code, text)


def identified(lmtp: bool = False) -> ProtocolTracker:
    tracker = greeted(lmtp)
    exchange(tracker, b"LHLO client\r\n" if lmtp else b"EHLO client\r\n", 250)
    return tracker


# -- stages -----------------------------------------------------------------------------------
def test_connection_stages() -> None:
    tracker = ProtocolTracker()
    assert tracker.stage is Stage.DISCONNECTED
    tracker.on_connect()
    assert tracker.stage is Stage.CONNECTED
    assert tracker.on_reply(220, "hi") == Pairing(GREETING, "")
    assert tracker.stage is Stage.GREETED
    assert exchange(tracker, b"EHLO client.example.org\r\n", 250) == Pairing("EHLO", "client.example.org")
    assert tracker.stage is Stage.IDENTIFIED
    tracker.on_close()
    assert tracker.stage is Stage.DISCONNECTED


@pytest.mark.parametrize(("code", "stage"), [(220, Stage.GREETED), (554, Stage.CONNECTED), (421, Stage.CONNECTED)])
def test_greeting_code(code: int, stage: Stage) -> None:
    tracker = ProtocolTracker()
    tracker.on_connect()
    tracker.on_reply(code, "")
    assert tracker.stage is stage
    assert tracker.quitting is (code == 421)


@pytest.mark.parametrize(("line", "code", "stage"), [
    (b"EHLO x\r\n", 250, Stage.IDENTIFIED),
    (b"helo x\r\n", 250, Stage.IDENTIFIED),
    (b"EHLO x\r\n", 502, Stage.GREETED),
    (b"EHLO x\r\n", 421, Stage.GREETED),
])
def test_identification(line: bytes, code: int, stage: Stage) -> None:
    tracker = greeted()
    exchange(tracker, line, code)
    assert tracker.stage is stage


def test_auth_success_and_failure() -> None:
    tracker = identified()
    exchange(tracker, b"AUTH PLAIN AGEAYg==\r\n", 535)
    assert tracker.stage is Stage.IDENTIFIED and not tracker.authenticated
    tracker.on_send(b"AUTH LOGIN\r\n")
    assert tracker.on_reply(334, "VXNlcm5hbWU6").command == "AUTH"
    tracker.on_send(b"YWxpY2U=\r\n", auth_continuation=True)
    assert tracker.on_reply(334, "UGFzc3dvcmQ6") == Pairing(AUTH_RESPONSE, "")
    tracker.on_send(b"c2VjcmV0\r\n", auth_continuation=True)
    assert tracker.on_reply(235, "ok").command == AUTH_RESPONSE
    assert tracker.authenticated
    assert tracker.stage is Stage.AUTHENTICATED


def test_full_transaction() -> None:
    tracker = identified()
    assert exchange(tracker, b"MAIL FROM:<a@example.org> SIZE=10\r\n", 250) == Pairing("MAIL", "FROM:<a@example.org> SIZE=10")
    assert tracker.stage is Stage.MAIL
    assert tracker.mail_from == "a@example.org"
    exchange(tracker, b"RCPT TO:<nobody@example.org>\r\n", 550, "no such user")
    assert tracker.stage is Stage.MAIL  # a refused recipient does not make a transaction
    exchange(tracker, b"RCPT TO:<b@example.org> NOTIFY=NEVER\r\n", 250)
    assert tracker.stage is Stage.RCPT
    exchange(tracker, b"RCPT TO:<later@example.org>\r\n", 451, "greylisted")
    assert exchange(tracker, b"DATA\r\n", 354, "go ahead").command == "DATA"
    assert tracker.stage is Stage.DATA
    tracker.on_body_sent()
    assert tracker.on_reply(250, "queued as 42") == Pairing(END_OF_DATA, "")
    assert tracker.stage is Stage.IDENTIFIED
    assert tracker.mail_from is None and tracker.recipients == []
    delivery = tracker.last_delivery
    assert delivery.mail_from == "a@example.org"
    assert (delivery.code, delivery.text) == (250, "queued as 42")
    assert [(r.address, r.code, r.outcome) for r in delivery.recipients] == [
        ("nobody@example.org", 550, "permanent failure"),
        ("b@example.org", 250, "accepted"),
        ("later@example.org", 451, "temporary failure"),
    ]
    assert tracker.deliveries == 1


@pytest.mark.parametrize(("code", "deliveries"), [(250, 1), (451, 0), (554, 0)])
def test_end_of_data_outcome(code: int, deliveries: int) -> None:
    tracker = identified()
    for line, reply in ((b"MAIL FROM:<a@b>\r\n", 250), (b"RCPT TO:<c@d>\r\n", 250), (b"DATA\r\n", 354)):
        exchange(tracker, line, reply)
    tracker.on_body_sent()
    tracker.on_reply(code, "")
    assert tracker.last_delivery.code == code
    assert tracker.deliveries == deliveries
    assert tracker.stage is Stage.IDENTIFIED


def test_data_refused_stays_in_rcpt() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    exchange(tracker, b"DATA\r\n", 554, "no valid recipients")
    assert tracker.stage is Stage.RCPT
    assert tracker.last_delivery is None


@pytest.mark.parametrize(("argument", "address"), [
    (b"FROM:<a@b>", "a@b"), (b"FROM: <a@b> SIZE=1", "a@b"), (b"from:<>", ""), (b"FROM:a@b SIZE=1", "a@b"),
    (b"FROM:<unclosed", "unclosed"),
])
def test_mail_address_extraction(argument: bytes, address: str) -> None:
    tracker = identified()
    exchange(tracker, b"MAIL " + argument + b"\r\n", 250)
    assert tracker.mail_from == address


def test_rset_clears_transaction() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<c@d>\r\n", 250)
    assert tracker.stage is Stage.RCPT
    exchange(tracker, b"RSET\r\n", 500)
    assert tracker.stage is Stage.RCPT  # a refused RSET changes nothing
    exchange(tracker, b"RSET\r\n", 250)
    assert tracker.stage is Stage.IDENTIFIED
    assert tracker.mail_from is None and tracker.recipients == []


def test_second_ehlo_resets_transaction() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"EHLO again\r\n", 250)
    assert tracker.stage is Stage.IDENTIFIED and tracker.mail_from is None


def test_starttls_forgets_identification_and_auth() -> None:
    tracker = identified()
    tracker.on_send(b"AUTH PLAIN AGEAYg==\r\n")
    tracker.on_reply(235, "ok")
    tracker.note_auth("a", "PLAIN")
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    tracker.on_tls()
    assert tracker.stage is Stage.TLS
    assert (tracker.identified, tracker.authenticated, tracker.auth_user, tracker.auth_mechanism) == (False, False, None, None)
    assert tracker.mail_from is None
    exchange(tracker, b"EHLO again\r\n", 250)
    assert tracker.stage is Stage.IDENTIFIED and tracker.tls


def test_implicit_tls_greeting_asks_for_ehlo() -> None:
    tracker = ProtocolTracker()
    tracker.on_connect()
    tracker.on_implicit_tls()
    assert tracker.stage is Stage.CONNECTED
    tracker.on_reply(220, "hi")
    assert tracker.tls and tracker.greeted
    assert tracker.stage in (Stage.GREETED, Stage.TLS)
    assert valid_next(tracker.stage, tls=True)[0] == "ehlo"


def test_reconnect_starts_fresh() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    tracker.on_close()
    tracker.on_connect()
    assert tracker.stage is Stage.CONNECTED
    assert tracker.mail_from is None and not tracker.identified
    assert list(tracker.pending) == [(GREETING, "")]


# -- pairing ----------------------------------------------------------------------------------
def test_pipelined_replies_pair_fifo() -> None:
    tracker = identified()
    for line in (b"MAIL FROM:<a@b>\r\n", b"RCPT TO:<c@d>\r\n", b"RCPT TO:<e@f>\r\n", b"DATA\r\n"):
        tracker.on_send(line)
    pairings = [tracker.on_reply(code, "") for code in (250, 250, 550, 354)]
    assert [(p.command, p.argument) for p in pairings] == [
        ("MAIL", "FROM:<a@b>"), ("RCPT", "TO:<c@d>"), ("RCPT", "TO:<e@f>"), ("DATA", "")]
    assert [(r.address, r.code) for r in tracker.recipients] == [("c@d", 250), ("e@f", 550)]
    assert tracker.stage is Stage.DATA


def test_unsolicited_reply() -> None:
    tracker = identified()
    pairing = tracker.on_reply(250, "surprise")
    assert pairing.unsolicited
    assert pairing.command == ""
    assert tracker.stage is Stage.IDENTIFIED
    # the next reply still pairs with the next command
    assert exchange(tracker, b"NOOP\r\n", 250) == Pairing("NOOP", "")


def test_unsolicited_421_marks_quitting() -> None:
    tracker = identified()
    assert tracker.on_reply(421, "shutting down").unsolicited
    assert tracker.quitting


def test_quit_marks_quitting() -> None:
    tracker = identified()
    exchange(tracker, b"QUIT\r\n", 221)
    assert tracker.quitting


def test_close_drops_pending() -> None:
    tracker = identified()
    tracker.on_send(b"NOOP\r\n")
    tracker.on_close()
    assert not tracker.pending


@settings(max_examples=fuzz(200), deadline=None)
@given(st.lists(st.sampled_from([b"NOOP", b"HELP", b"VRFY x", b"RSET", b"XYZZY 1 2", b"ehlo a"]), min_size=1, max_size=10))
def test_fifo_property(lines: list[bytes]) -> None:
    tracker = greeted()
    for line in lines:
        tracker.on_send(line + b"\r\n")
    pairings = [tracker.on_reply(250, "") for _ in lines]
    assert [p.command for p in pairings] == [line.split(b" ")[0].decode().upper() for line in lines]
    assert not any(p.unsolicited for p in pairings)
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
    assert tracker.last_delivery.code == 250 and tracker.deliveries == 1


# -- LMTP -----------------------------------------------------------------------------------
def test_lmtp_one_reply_per_accepted_recipient() -> None:
    tracker = identified(lmtp=True)
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    for address, code in (("r1@x", 250), ("r2@x", 550), ("r3@x", 250), ("r4@x", 250)):
        exchange(tracker, f"RCPT TO:<{address}>\r\n".encode(), code)
    exchange(tracker, b"DATA\r\n", 354)
    assert tracker.expected_data_replies == 3
    tracker.on_body_sent()
    assert list(tracker.pending) == [(END_OF_DATA, "")] * 3
    tracker.on_reply(250, "delivered to r1")
    assert tracker.last_delivery is None  # still waiting for two more
    tracker.on_reply(452, "r3 over quota")
    tracker.on_reply(554, "r4 rejected")
    assert not tracker.pending
    assert tracker.stage is Stage.IDENTIFIED
    delivery = tracker.last_delivery
    assert [(r.address, r.delivery_code, r.delivery_text, r.outcome) for r in delivery.recipients] == [
        ("r1@x", 250, "delivered to r1", "accepted"),
        ("r2@x", None, "", "permanent failure"),
        ("r3@x", 452, "r3 over quota", "temporary failure"),
        ("r4@x", 554, "r4 rejected", "permanent failure"),
    ]
    assert (delivery.code, delivery.text) == (554, "r4 rejected")


def test_lmtp_without_accepted_recipients_expects_one_reply() -> None:
    tracker = identified(lmtp=True)
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<r@x>\r\n", 550)
    assert tracker.expected_data_replies == 1
    tracker.on_body_sent()
    assert len(tracker.pending) == 1


def test_smtp_expects_one_data_reply_whatever_the_recipients() -> None:
    tracker = identified()
    exchange(tracker, b"MAIL FROM:<a@b>\r\n", 250)
    exchange(tracker, b"RCPT TO:<r1@x>\r\n", 250)
    exchange(tracker, b"RCPT TO:<r2@x>\r\n", 250)
    assert tracker.expected_data_replies == 1


# -- outcomes and valid_next ---------------------------------------------------------------------
@pytest.mark.parametrize(("code", "delivery", "outcome"), [
    (250, None, "accepted"), (251, None, "accepted"), (450, None, "temporary failure"), (550, None, "permanent failure"),
    (250, 250, "accepted"), (250, 451, "temporary failure"), (250, 552, "permanent failure"),
    (550, 250, "permanent failure"),  # a refused recipient has no delivery, whatever is recorded
])
def test_recipient_outcome(code: int, delivery, outcome: str) -> None:
    assert RecipientResult("r@x", code, "", delivery).outcome == outcome


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


@pytest.mark.parametrize(
    "command, stage, kwargs, words",
    [
        ("mail", Stage.GREETED, {}, "MAIL before EHLO"),
        ("rcpt", Stage.IDENTIFIED, {}, "RCPT before MAIL"),
        ("data", Stage.MAIL, {}, "before any recipient"),
        ("starttls", Stage.IDENTIFIED, {"tls": True}, "already TLS"),
        ("auth", Stage.AUTHENTICATED, {"authenticated": True}, "second one"),
        ("auth", Stage.TLS, {"tls": True}, "EHLO again"),
        ("mail", Stage.RCPT, {}, "inside a transaction"),
    ],
)
def test_out_of_order_commands_are_explained(command, stage, kwargs, words):
    from smtpdbg.core.protocol import out_of_order

    reason = out_of_order(command, stage, **kwargs)
    assert reason is not None and words in reason and "RFC" in reason or "EHLO" in reason


@pytest.mark.parametrize(
    "command, stage",
    [("ehlo", Stage.GREETED), ("mail", Stage.IDENTIFIED), ("rcpt", Stage.MAIL), ("rcpt", Stage.RCPT),
     ("data", Stage.RCPT), ("starttls", Stage.IDENTIFIED), ("auth", Stage.IDENTIFIED), ("noop", Stage.MAIL)],
)
def test_in_order_commands_are_not_flagged(command, stage):
    from smtpdbg.core.protocol import out_of_order

    assert out_of_order(command, stage) is None
