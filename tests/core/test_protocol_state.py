"""The state the session reports after the protocol's turning points is the state the connection is in."""

from __future__ import annotations

import smtplib

import pytest

from smtpdbg.core import Info, InfoKind, Session, SessionOptions, Target, Wire
from tests.smtplib_wire import smtplib_line


def test_a_failed_starttls_handshake_closes_the_connection_and_says_so(endpoints):
    host, port = endpoints.smtp
    session = Session(Target("smtp", host, port), SessionOptions(timeout=5))  # the system store: sandbox CA unknown
    try:
        assert session.execute("connect").ok
        session.execute("ehlo")
        outcome = session.execute("starttls")
        assert outcome.category == "tls-verify"
        assert outcome.connected is False and session.state.connected is False
        assert "not connected now" in outcome.message
        closed = [e.text for e in session.transcript.snapshot() if isinstance(e, Info) and e.kind is InfoKind.CLOSED]
        assert closed and "TLS" in closed[-1]
        assert session.execute("reconnect").ok
    finally:
        session.shutdown()


@pytest.mark.parametrize("verify_name", ["mail.elsewhere.test"])
def test_a_verify_name_mismatch_after_starttls_closes_the_connection(make_session, verify_name):
    session = make_session(tls_verify_name=verify_name)
    assert session.execute("connect").ok
    session.execute("ehlo")
    outcome = session.execute("starttls")
    assert outcome.category == "tls-verify", outcome
    assert outcome.connected is False and session.state.connected is False


def test_abort_during_a_stalled_tls_handshake_is_reported_as_an_abort():
    """STARTTLS accepted, then the server never answers the ClientHello; the user aborts."""
    import threading
    import time

    from smtpdbg.core import parse_target
    from tests.servers import FakeServer, esmtp

    def accept_then_stall(conn, line):
        conn.send(b"220 go ahead\r\n")
        conn.hang(10)

    ehlo = b"250-fake.test\r\n250 STARTTLS\r\n"
    with FakeServer(esmtp(EHLO=ehlo, STARTTLS=accept_then_stall)) as server:
        session = Session(parse_target(server.target), SessionOptions(timeout=10, insecure=True))
        try:
            session.execute("connect")
            session.execute("ehlo")
            future = session.submit("starttls")
            time.sleep(0.5)
            started = time.monotonic()
            threading.Thread(target=session.abort).start()
            outcome = future.result(timeout=5)
            assert time.monotonic() - started < 1.0
            assert outcome.category == "aborted", outcome
            assert outcome.connected is False
        finally:
            session.shutdown()


@pytest.mark.parametrize("case", ["smtps-to-plaintext", "proxy-family-mismatch"])
def test_a_connection_that_fails_during_setup_is_closed_in_the_transcript_too(case):
    """Connected, then the TLS handshake (or the PROXY header) fails: the transcript closes what it opened."""
    from smtpdbg.core import parse_target
    from tests.servers import FakeServer, esmtp

    with FakeServer(esmtp()) as server:
        if case == "smtps-to-plaintext":
            target, options = f"smtps://{server.target}", SessionOptions(timeout=3, insecure=True)
        else:
            target, options = server.target, SessionOptions(timeout=3, proxy_header="v1",
                                                            proxy_source=("2001:db8::1", 4000))
        session = Session(parse_target(target), options)
        try:
            outcome = session.execute("connect")
            assert not outcome.ok and not outcome.connected
            kinds = [e.kind for e in session.transcript.snapshot() if isinstance(e, Info)
                     and e.kind in (InfoKind.CONNECTED, InfoKind.CLOSED)]
            assert kinds == [InfoKind.CONNECTED, InfoKind.CLOSED]
        finally:
            session.shutdown()


def test_smtputf8_is_needed_again_in_the_next_transaction(session):
    """smtplib keeps command_encoding at utf-8 once SMTPUTF8 was used; RFC 6531 §3.4 wants it on every MAIL."""
    from smtpdbg.core import Wire

    session.execute("ehlo")
    assert session.execute("mail jösé@sandbox.smtpdbg.test SMTPUTF8").ok
    assert session.execute("rcpt bob@sandbox.smtpdbg.test").ok
    assert session.execute("data", body=b"Subject: one\r\n\r\nfirst\r\n").ok  # done: no RSET in between
    mark = len(session.transcript)
    outcome = session.execute("mail jösé@sandbox.smtpdbg.test")
    assert not outcome.ok and "needs the SMTPUTF8 parameter" in outcome.message
    assert not [e for e in session.transcript.snapshot()[mark:] if isinstance(e, Wire) and e.is_send]
    assert session.execute("mail jösé@sandbox.smtpdbg.test SMTPUTF8").ok
    assert session.execute("rcpt 用户@sandbox.smtpdbg.test").ok


@pytest.mark.parametrize("address", [
    "@relay.test:alice@sandbox.smtpdbg.test",  # 3.11's quoteaddr sends <@relay.test>; 3.13's sends it whole
    "alice@sandbox.smtpdbg.test,bob@sandbox.smtpdbg.test",  # 3.11: the first address only; 3.13: whole
    'al"ice@sandbox.smtpdbg.test',  # <al> on both
])
def test_a_rewrite_by_quoteaddr_is_flagged(session, address):
    """smtplib's quoteaddr() silently sends something else than typed: say so and name --verbatim."""
    sent = smtplib.quoteaddr(address)  # this interpreter's smtplib decides what is sent
    session.execute("ehlo")
    mark = len(session.transcript)
    session.execute(f"mail {address}")
    events = session.transcript.snapshot()[mark:]
    warnings = [e.text for e in events if isinstance(e, Info) and e.kind is InfoKind.WARNING and "quoteaddr" in e.text]
    assert [e.data for e in events if isinstance(e, Wire) and e.is_send] == [smtplib_line("mail", address)]
    if sent == f"<{address}>":
        assert warnings == []
    else:
        assert len(warnings) == 1 and sent in warnings[0] and "--verbatim" in warnings[0], warnings


@pytest.mark.parametrize("address", ["alice@sandbox.smtpdbg.test", "<alice@sandbox.smtpdbg.test>", "<>",
                                     '"john doe"@sandbox.smtpdbg.test'])
def test_ordinary_addresses_are_not_flagged(session, address):
    session.execute("ehlo")
    mark = len(session.transcript)
    session.execute(f"mail {address}")
    warnings = [e.text for e in session.transcript.snapshot()[mark:] if isinstance(e, Info)
                and e.kind is InfoKind.WARNING]
    assert not [w for w in warnings if "quoteaddr" in w]


def test_an_auth_exchange_broken_by_a_bad_challenge_is_cancelled_so_the_session_stays_in_step():
    """After a 334 the server waits for a response: without a ``*`` (RFC 4954 §4) the next command would be it."""
    from smtpdbg.core import Direction, Wire, parse_target
    from tests.servers import FakeServer, esmtp

    ehlo = b"250-fake.test\r\n250 AUTH LOGIN PLAIN\r\n"

    def bad_challenge(conn, line):
        conn.send(b"334 !!!not-base64!!!\r\n")
        answer = conn.readline()
        conn.send(b"501 5.7.0 cancelled\r\n" if answer.strip() == b"*" else b"535 5.7.8 that was not a response\r\n")

    with FakeServer(esmtp(EHLO=ehlo, AUTH=bad_challenge)) as server:
        session = Session(parse_target(server.target), SessionOptions(timeout=3, allow_plaintext_auth=True))
        try:
            session.execute("connect")
            session.execute("ehlo")
            outcome = session.execute("auth CRAM-MD5 alice", secret="pw")
            assert outcome.category == "bad-base64" and outcome.connected
            assert session.execute("noop").code == 250
            sent = [e.data for e in session.transcript.snapshot() if isinstance(e, Wire) and e.direction is Direction.SEND]
            assert sent[-2:] == [b"*\r\n", b"noop\r\n"]
        finally:
            session.shutdown()


def test_data_sent_with_its_body_in_one_raw_write_leaves_the_data_stage(session, sandbox):
    """``raw DATA\\r\\n<body>\\r\\n.``: the 354 arrives after the body went out; DATA must not stay open."""
    from smtpdbg.core.export import Recording
    from smtpdbg.core.protocol import Stage

    session.execute("ehlo")
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt bob@sandbox.smtpdbg.test")
    outcome = session.execute("raw --replies 2 DATA\\r\\nSubject: smuggled\\r\\n\\r\\nhi\\r\\n.")
    assert [c for c, _ in outcome.replies] == [354, 250]
    assert session.state.stage is not Stage.DATA
    assert session.state.last_transaction is not None and session.state.last_transaction.status == "delivered"
    assert session.execute("noop").code == 250
    assert session.execute("mail carol@sandbox.smtpdbg.test").code == 250
    assert session.state.stage is Stage.MAIL
    dialogue = Recording.from_session(session).dialogue
    [transaction] = dialogue.transactions[:1]
    assert transaction.final[-1][0] == 250 and transaction.status == "delivered"
    assert [r.fate.value for r in transaction.recipients] == ["accepted"]
    assert not [r for r in dialogue.replies if r.unsolicited]
