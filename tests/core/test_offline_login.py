"""A login after the connection is gone: the session's needs say it cannot be sent, so no password is asked; the
command then says "not connected" (and how to reconnect). Real sockets: a fake server that drops the connection,
and the sandbox."""

from __future__ import annotations

from smtpdbg.core import Session, SessionOptions, Target, parse_target
from smtpdbg.core.interp import Interpreter
from smtpdbg.core.parser import parse
from tests.servers import FakeServer, esmtp

DROPS_AT_EHLO = esmtp(EHLO=lambda conn, line: conn.close())


def _dropped(fake: FakeServer) -> Session:
    session = Session(parse_target(fake.target), SessionOptions(timeout=5, local_hostname="client.test"))
    assert session.execute("connect").ok and not session.execute("ehlo").ok
    assert not session.state.connected
    return session


def test_the_needs_of_a_login_say_it_cannot_be_sent_when_not_connected():
    with FakeServer(DROPS_AT_EHLO) as fake, _dropped(fake) as session:
        for line in ("login alice", "auth PLAIN alice", "auth LOGIN alice"):
            needs = session.needs(parse(line))
            assert needs.secret and needs.offline and not needs.ask_password, (line, needs)
        assert not session.needs(parse("login alice --password-env PW")).offline  # needs nothing: nothing to say


def test_a_script_asks_no_password_for_a_login_after_the_connection_is_gone():
    asked: list[str] = []
    with FakeServer(DROPS_AT_EHLO) as fake, Session(parse_target(fake.target), SessionOptions(timeout=5)) as session:
        interpreter = Interpreter(session, environ={}, keep_going=True, ask_secret=lambda label: asked.append(label))
        result = interpreter.run(["connect", "ehlo", "login alice", "auth PLAIN alice"])
    assert asked == []
    failures = {where.label: outcome for where, outcome, _ in result.failures}
    for line in ("login alice", "auth PLAIN alice"):
        outcome = failures[line]
        assert outcome.category == "not-connected" and "reconnect" in outcome.message, outcome
        assert "password" not in outcome.message and not outcome.sent


def test_a_script_that_reconnects_asks_the_password_when_the_login_comes(sandbox):
    """The batch after the reconnect is formed while not connected: the login still needs its password then."""
    host, port = sandbox.endpoints.smtp
    asked: list[str] = []

    def ask(label: str) -> str:
        asked.append(label)
        return sandbox.endpoints.password

    options = SessionOptions(timeout=5, local_hostname="client.test", ca=sandbox.endpoints.ca_path)
    with Session(Target("smtp", host, port, sandbox=True), options) as session:
        interpreter = Interpreter(session, environ={}, ask_secret=ask, batch=True, quit_at_end=False)
        result = interpreter.run(["connect", "close", "sleep 0", "reconnect", "ehlo", "login alice"])
        assert session.state.auth_user == "alice"
    assert asked == ["login alice"] and not result.failures, result.failures
