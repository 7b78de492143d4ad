"""The session suggests the next step where people get stuck (issue 11 §2), against the sandbox and fake servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.catalog import explain_exchange
from smtpdbg.core.events import Direction, Info, InfoKind, Reply, Wire
from smtpdbg.core.parser import parse
from smtpdbg.core.target import parse_target
from smtpdbg.sandbox import Sandbox, SandboxConfig
from tests.servers import FakeServer, esmtp


@pytest.fixture(scope="module")
def tls_first() -> Iterator[Sandbox]:
    """A sandbox that offers AUTH only after STARTTLS, as real submission servers do."""
    with Sandbox(SandboxConfig(auth_require_tls=True, lmtp=False)) as sandbox:
        yield sandbox


def open_tls_first(sandbox: Sandbox) -> Session:
    host, port = sandbox.endpoints.smtp
    options = SessionOptions(timeout=10, local_hostname="client.smtpdbg.test", ca=sandbox.endpoints.ca_path)
    session = Session(Target("smtp", host, port, sandbox=True), options)
    assert session.execute("connect").ok
    return session


def sent(session: Session, since: int = 0) -> list[bytes]:
    return [e.data for e in session.transcript.snapshot()[since:] if isinstance(e, Wire) and e.direction is Direction.SEND]


@pytest.mark.parametrize("command", ["login alice", "auth PLAIN alice", "auth LOGIN alice"])
def test_login_before_tls_is_refused_before_a_password_is_asked(tls_first, command):
    session = open_tls_first(tls_first)
    try:
        assert session.execute("ehlo").ok
        assert session.state.features.has("starttls") and not session.state.features.has("auth")
        parsed = parse(command)
        assert not session.needs(parsed).secret  # the frontend asks no password
        mark = len(session.transcript)
        outcome = session.execute(command)
        assert not outcome.ok and outcome.category == "command" and not outcome.sent
        assert "`starttls`, then `ehlo`" in outcome.message and "only after TLS" in outcome.message
        assert sent(session, mark) == []
        # the way out works: STARTTLS, EHLO, and now the password is asked and accepted
        assert session.execute("starttls").ok and session.execute("ehlo").ok
        assert session.needs(parsed).secret
        assert session.execute(command, secret=tls_first.endpoints.password).ok
        assert session.state.authenticated
    finally:
        session.shutdown()


def test_login_before_ehlo_still_asks_the_password(tls_first):
    """Before EHLO the session does not know what the server offers: nothing to refuse yet."""
    session = open_tls_first(tls_first)
    try:
        assert session.needs(parse("login alice")).secret
    finally:
        session.shutdown()


def test_ehlo_refused_explains_helo_and_ehlo_or_helo_if_needed_falls_back_like_sendmail():
    refused = b"502 5.5.2 Error: command not recognized\r\n"
    with FakeServer(esmtp(EHLO=refused)) as server:
        with Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
            session.execute("connect")
            outcome = session.execute("ehlo")
            assert not outcome.ok and outcome.code == 502
            reply = [e for e in session.transcript.snapshot() if isinstance(e, Reply)][-1]
            explanation = explain_exchange(reply)
            assert explanation.title == "EHLO not supported" and "`helo`" in explanation.next_step
            # after a refused EHLO smtplib keeps the reply in ehlo_resp: say so, and say what to do
            mark = len(session.transcript)
            assert session.execute("ehlo_or_helo_if_needed").ok
            warnings = [e.text for e in session.transcript.snapshot()[mark:] if isinstance(e, Info)
                        and e.kind is InfoKind.WARNING]
            assert warnings and "send `helo`" in warnings[0] and sent(session, mark) == []
            assert session.execute("helo").ok
        # on a fresh connection it falls back by itself, as smtplib's sendmail does: EHLO, then HELO
        with Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
            session.execute("connect")
            outcome = session.execute("ehlo_or_helo_if_needed")
            assert outcome.ok and outcome.code == 250
            assert [line.split(b" ")[0].upper() for line in sent(session)] == [b"EHLO", b"HELO"]
            assert session.state.helo_resp is not None
        with Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
            session.execute("connect")
            assert session.execute("sendmail a@fake.test b@fake.test", body=b"Subject: x\r\n\r\nhi\r\n").ok
            assert [line.split(b" ")[0].upper() for line in sent(session)][:3] == [b"EHLO", b"HELO", b"MAIL"]


def test_certificate_name_mismatch_suggests_tls_verify_name(make_session):
    session = make_session("smtps", tls_name="mail.other.test")  # SNI and the checked name: not on the certificate
    outcome = session.execute("connect")
    assert outcome.category == "tls-verify"
    assert "mismatch" in outcome.message.lower() or "not valid for" in outcome.message
    assert "--tls-verify-name NAME" in outcome.message and "Ctrl+O" in outcome.message
    # the advice works: check the certificate against a name it holds, keep the SNI
    fixed = make_session("smtps", tls_name="mail.other.test", tls_verify_name="127.0.0.1")
    assert fixed.execute("connect").ok and fixed.state.tls.verified


def test_an_unknown_ca_is_not_called_a_name_mismatch(make_session):
    outcome = make_session("smtps", ca=None).execute("connect")
    assert outcome.category == "tls-verify" and "--tls-verify-name" not in outcome.message


def test_after_a_421_the_session_says_reconnect():
    with FakeServer(esmtp(NOOP=b"421 4.4.2 fake.test closing: too many errors\r\n")) as server:
        with Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
            session.execute("connect")
            session.execute("ehlo")
            outcome = session.execute("noop")
            assert not outcome.ok and outcome.code == 421 and "`reconnect`" in outcome.message
            reply = [e for e in session.transcript.snapshot() if isinstance(e, Reply)][-1]
            assert "`reconnect`" in explain_exchange(reply).next_step
            following = session.execute("noop")
            assert following.category == "not-connected" and "reconnect" in following.message
            assert session.execute("reconnect").ok


def test_login_where_smtplib_finds_no_auth_says_where_auth_may_be():
    with FakeServer(esmtp()) as server, Session(parse_target(server.target), SessionOptions(timeout=5, allow_plaintext_auth=True)) as session:
        session.execute("connect")
        outcome = session.execute("login alice", secret="not used")  # smtplib sends EHLO itself, then finds no AUTH
        assert outcome.category == "not-supported" and "`starttls`, then `ehlo`" in outcome.message
