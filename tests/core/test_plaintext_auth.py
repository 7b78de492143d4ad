"""No credential in cleartext without consent: every way of sending AUTH, checked on what the server received.

The fake server advertises AUTH and no STARTTLS, answers everything (334 to
AUTH, so an exchange can be opened when it is allowed) and keeps every byte
it got; the tests assert on those bytes, not on smtpdbg's own account.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time

import pytest

from smtpdbg.core import Session, SessionOptions, Target, parse_target
from smtpdbg.core.commands import SETTINGS
from smtpdbg.core.completion import complete

from tests.conftest import repo_env
from tests.servers import FakeServer, esmtp

PASSWORD = "s3cret-Passw0rd"
PLAIN = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
LOGIN_PW = base64.b64encode(PASSWORD.encode()).decode()
EHLO = b"250-plain.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER\r\n250 8BITMIME\r\n"
"""STARTTLS is offered, and refused with 454 when asked for."""
EHLO_NO_TLS = EHLO.replace(b"250-STARTTLS\r\n", b"")
CHALLENGE = b"334 " + base64.b64encode(b"<1.2@plain.test>") + b"\r\n"


def auth_reply(conn, line: bytes) -> None:
    words = line.split()
    conn.send(b"235 2.7.0 ok\r\n" if len(words) > 2 else CHALLENGE)


def server(**replies) -> FakeServer:
    behaviour = {"EHLO": EHLO, "AUTH": auth_reply, "STARTTLS": b"454 4.7.0 TLS not available\r\n", **replies}
    return FakeServer(esmtp(**behaviour))


def received(fake: FakeServer) -> bytes:
    return b"".join(bytes(conn.received) for conn in fake.connections)


def settled(fake: FakeServer, timeout: float = 5.0) -> bytes:
    """What the server received once it has read the client's QUIT (its thread may lag behind a loaded machine)."""
    deadline = time.monotonic() + timeout
    while b"QUIT" not in received(fake).upper() and time.monotonic() < deadline:
        time.sleep(0.02)
    return received(fake)


def assert_no_auth(fake: FakeServer) -> None:
    wire = received(fake)
    assert b"AUTH" not in wire.upper(), wire
    for form in (PASSWORD, PLAIN, LOGIN_PW):
        assert form.encode() not in wire, wire


def session_on(fake: FakeServer, **options) -> Session:
    settings = {"timeout": 3.0, "local_hostname": "client.test", **options}
    return Session(parse_target(fake.target), SessionOptions(**settings), environ={"PW": PASSWORD})


WAYS = [
    ["login alice"],
    ["auth PLAIN alice"],
    ["auth LOGIN alice"],
    ["auth CRAM-MD5 alice"],
    ["auth XOAUTH2 alice"],
    ["auth OAUTHBEARER alice"],
    ["auth PLAIN alice --no-initial-response"],
    ["login alice --password-env PW"],
    ["auth XOAUTH2 alice --token-env PW"],
    [f"docmd AUTH PLAIN {PLAIN}"],
    ["docmd auth login"],
    [f"raw AUTH PLAIN {PLAIN}"],
    [f"raw auth plain {PLAIN}"],
    [f"raw \\x41UTH PLAIN {PLAIN}"],
    [f"raw \\x61\\x75\\x74\\x68 PLAIN {PLAIN}"],
    ["raw \\tAUTH LOGIN"],
    [f"raw \\x0bAUTH\\x0bPLAIN {PLAIN}"],
    [f"raw AUTH\\x0cPLAIN {PLAIN}"],
    [f"raw NOOP\\r\\nAUTH PLAIN {PLAIN}"],
    [f"raw NOOP\\rAUTH PLAIN {PLAIN}"],
    [f"raw NOOP\\nAUTH PLAIN {PLAIN}"],
    ["raw --no-crlf --replies 0 AU", f"raw TH PLAIN {PLAIN}"],
    [f"pipeline AUTH PLAIN {PLAIN}"],
    [f"pipeline NOOP; auth plain {PLAIN}"],
]


@pytest.mark.parametrize("commands", WAYS, ids=[" + ".join(c) for c in WAYS])
def test_no_auth_reaches_a_plaintext_server_without_consent(commands):
    with server() as fake, session_on(fake) as session:
        session.execute("connect")
        session.execute("ehlo")
        session.execute("starttls")  # refused by the server: the connection stays in plaintext
        outcomes = [session.execute(command, secret=PASSWORD) for command in commands]
        last = outcomes[-1]
        assert last.category == "plaintext-auth", outcomes
        assert "starttls" in last.message and "--allow-plaintext-auth" in last.message
        assert "454" in last.message and "downgrade" in last.message  # the STARTTLS failure, named
        assert last.connected
        session.execute("quit")
    assert_no_auth(fake)


@pytest.mark.parametrize("commands", WAYS, ids=[" + ".join(c) for c in WAYS])
def test_the_same_commands_do_send_with_consent(commands):
    """The counterpart: each way above does put AUTH on the wire once allowed (so the refusal is what stopped it)."""
    with server() as fake, session_on(fake, allow_plaintext_auth=True) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcomes = [session.execute(command, secret=PASSWORD) for command in commands]
        assert all(o.category != "plaintext-auth" for o in outcomes), outcomes
        assert any("in cleartext, as you allowed" in getattr(e, "text", "") for e in session.transcript.snapshot())
        session.execute("quit")
    assert b"AUTH" in received(fake).upper()


def test_a_response_typed_inside_an_open_exchange_is_refused_once_consent_is_withdrawn():
    with server() as fake, session_on(fake) as session:
        session.execute("connect")
        session.execute("ehlo")
        assert session.execute("set plaintext-auth allow").ok
        assert session.execute("raw AUTH LOGIN").code == 334
        assert session.execute("set plaintext-auth deny").ok
        refused = session.execute(f"docmd {LOGIN_PW}")
        assert refused.category == "plaintext-auth"
        assert session.execute(f"raw {LOGIN_PW}").category == "plaintext-auth"
        assert session.execute("raw *").category != "plaintext-auth"  # cancelling carries no secret
        session.execute("quit")
    wire = received(fake)
    assert b"AUTH LOGIN" in wire and LOGIN_PW.encode() not in wire


def test_once_allows_one_exchange_with_its_answers_and_no_more():
    user = base64.b64encode(b"alice").decode()
    with server() as fake, session_on(fake) as session:
        session.execute("connect")
        session.execute("ehlo")
        assert session.execute("set plaintext-auth once").ok
        assert session.execute("raw AUTH LOGIN").code == 334
        assert session.execute(f"raw {user}").category != "plaintext-auth"
        assert session.execute(f"raw {LOGIN_PW}").category != "plaintext-auth"
        assert session.execute(f"raw AUTH PLAIN {PLAIN}").category == "plaintext-auth"
        assert session.execute("auth PLAIN alice", secret=PASSWORD).category == "plaintext-auth"
        session.execute("quit")
    wire = received(fake)
    assert wire.upper().count(b"AUTH") == 1 and PLAIN.encode() not in wire


def test_the_consent_is_decided_before_a_password_is_asked(endpoints):
    """Issue 13 §1: ``session.needs`` carries the core's consent decision, so no frontend asks for a password
    that would be refused; the refusal needs no password, and says how to allow it."""
    from smtpdbg.core.parser import parse

    login = parse("login alice")
    with server() as fake, session_on(fake) as session:
        assert not session.needs(login).consent  # not connected: nothing to decide yet
        session.execute("connect")
        session.execute("ehlo")
        assert session.needs(login).secret and session.needs(login).consent
        assert not session.needs(parse("login alice --password-env PW")).secret
        for command in ("login alice", "auth PLAIN alice", "auth XOAUTH2 alice", "login alice --password-env PW"):
            outcome = session.execute(command)  # no secret: the consent is refused first
            assert outcome.category == "plaintext-auth" and "set plaintext-auth allow" in outcome.message, outcome
        session.execute("set plaintext-auth once")
        assert session.needs(login).secret and not session.needs(login).consent
        assert session.execute("login alice", secret=PASSWORD).category != "plaintext-auth"
        assert session.needs(login).consent  # the one exchange allowed is spent
        session.execute("set plaintext-auth allow")
        assert not session.needs(login).consent
    host, port = endpoints.smtp
    options = SessionOptions(timeout=5, ca=endpoints.ca_path, local_hostname="client.test")
    for target, starttls in ((Target("smtp", host, port, sandbox=True), False), (Target("smtp", host, port), True)):
        with Session(target, options) as session:
            session.execute("connect")
            session.execute("ehlo")
            if starttls:
                assert session.execute("starttls").ok
                session.execute("ehlo")
            assert session.needs(login).secret and not session.needs(login).consent


def test_a_script_asks_for_no_password_the_session_would_refuse():
    from smtpdbg.core.interp import Interpreter

    asked = []
    with server() as fake, session_on(fake) as session:
        interpreter = Interpreter(session, environ={}, keep_going=True, ask_secret=lambda label: asked.append(label))
        result = interpreter.run(["connect", "ehlo", "login alice", "set plaintext-auth once", "auth PLAIN alice"])
    assert asked == ["auth PLAIN alice"], asked
    assert [outcome.category for _, outcome, _ in result.failures][:1] == ["plaintext-auth"]
    assert_no_auth(fake)


def test_a_server_that_does_not_offer_starttls_is_named_as_a_possible_downgrade():
    with server(EHLO=EHLO_NO_TLS) as fake, session_on(fake) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("login alice", secret=PASSWORD)
        assert outcome.category == "plaintext-auth"
        assert "did not offer STARTTLS" in outcome.message and "downgrade" in outcome.message
    assert_no_auth(fake)


def test_loopback_is_no_exception_but_the_embedded_sandbox_is(endpoints):
    host, port = endpoints.smtp
    for sandbox, allowed in ((False, False), (True, True)):
        options = SessionOptions(timeout=5, ca=endpoints.ca_path, local_hostname="client.test")
        with Session(Target("smtp", host, port, sandbox=sandbox), options) as session:
            session.execute("connect")
            session.execute("ehlo")
            outcome = session.execute("auth PLAIN alice", secret=endpoints.password)
            assert outcome.ok is allowed, outcome
            warnings = [getattr(e, "text", "") for e in session.transcript.snapshot()]
            if allowed:
                assert any("embedded sandbox" in w and "cleartext" in w for w in warnings)
            else:
                assert outcome.category == "plaintext-auth" and not session.state.authenticated


def test_inside_tls_no_consent_is_needed(endpoints):
    host, port = endpoints.smtp
    options = SessionOptions(timeout=5, ca=endpoints.ca_path, local_hostname="client.test")
    with Session(Target("smtp", host, port), options) as session:  # an address, not the embedded sandbox
        session.execute("connect")
        session.execute("ehlo")
        assert session.execute("starttls").ok
        session.execute("ehlo")
        assert session.execute("auth PLAIN alice", secret=endpoints.password).ok


def test_login_after_the_connection_is_gone_says_not_connected():
    with server(NOOP=lambda conn, line: conn.close()) as fake, session_on(fake, allow_plaintext_auth=True) as session:
        session.execute("connect")
        session.execute("ehlo")
        session.execute("noop")
        for command in ("login alice", "auth PLAIN alice", "docmd AUTH LOGIN", "raw AUTH LOGIN"):
            outcome = session.execute(command, secret=PASSWORD)
            assert outcome.category == "not-connected", outcome


def test_set_is_completed_and_checked():
    assert [c.text for c in complete("set ").candidates] == list(SETTINGS)
    assert {c.text for c in complete("set plaintext-auth ").candidates} == {"allow", "once", "deny"}
    with Session(None, SessionOptions(timeout=1)) as session:
        assert session.execute("set plaintext-auth").ok
        assert session.execute("set plaintext-auth maybe").category == "command"
        assert session.execute("set colour on").category == "command"
        assert session.execute("set plaintext-auth allow").ok and session.options.allow_plaintext_auth
        assert session.execute("set plaintext-auth deny").ok and not session.options.allow_plaintext_auth


def _cli(args: list[str], stdin: str) -> subprocess.CompletedProcess:
    env = repo_env()
    env["PW"] = "wonderland"
    return subprocess.run([sys.executable, "-m", "smtpdbg", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize("frontend", ["repl", "run"])
def test_the_reported_reproduction_sends_nothing_until_allowed(frontend):
    """``printf 'ehlo\\nstarttls\\nauth PLAIN alice\\nquit\\n' | PW=wonderland smtpdbg repl HOST:PORT --password-env PW``."""
    script = "ehlo\nstarttls\nauth PLAIN alice\nquit\n"
    for allow in (False, True):
        with server() as fake:
            args = ["repl", fake.target] if frontend == "repl" else ["run", "-", "--target", fake.target, "--keep-going"]
            args += ["--password-env", "PW", "--timeout", "3"] + (["--allow-plaintext-auth"] if allow else [])
            done = _cli(args, script)
            wire = settled(fake)
        assert "Traceback" not in done.stdout + done.stderr
        if allow:
            assert b"AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=" in wire
        else:
            assert b"AUTH" not in wire.upper() and b"QUIT" in wire.upper()
            assert "refused" in done.stdout and "starttls" in done.stdout
            assert done.returncode != 0


@pytest.mark.parametrize("value", ["allow", "once"])
def test_a_consent_given_with_set_holds_for_that_server_only(value):
    """`set plaintext-auth allow|once` was given while connected to one server: a `connect` to another server does
    not carry it (issue 13 §1: any other address needs the consent); `--allow-plaintext-auth` is the run's own."""
    with server() as first, server() as second, session_on(first) as session:
        session.execute("connect")
        session.execute("ehlo")
        assert session.execute(f"set plaintext-auth {value}").ok
        assert session.execute(f"connect {second.target}").ok
        session.execute("ehlo")
        refused = session.execute("auth PLAIN alice", secret=PASSWORD)
        assert refused.category == "plaintext-auth" and "set plaintext-auth" in refused.message
        assert session.execute(f"set plaintext-auth {value}").ok  # given again, for this server
        assert session.execute("auth PLAIN alice", secret=PASSWORD).ok
        session.execute("quit")
    assert b"AUTH" not in received(first).upper()
    assert received(second).upper().count(b"AUTH") == 1


def test_a_consent_given_before_any_connect_is_for_the_server_connected_next():
    with server() as fake:
        session = Session(None, SessionOptions(timeout=5, local_hostname="client.test"))
        try:
            assert session.execute("set plaintext-auth allow").ok
            assert session.execute(f"connect {fake.target}").ok
            session.execute("ehlo")
            assert session.execute("auth PLAIN alice", secret=PASSWORD).ok
        finally:
            session.shutdown()
