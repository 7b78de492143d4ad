"""The hostile-server suite against the core: every fault ends classified, bounded in time, nothing lost.

Each case is a fake server (tests/servers.py) that behaves like ESMTP up to a
chosen fault, the commands a user would type, and what smtpdbg must show: the
category of the failing command and the warnings in the transcript. Every
case also checks that no command outlived its timeout and that the bytes that
caused the fault are in the transcript.
"""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
import time
from dataclasses import dataclass, field

import pytest
import trustme

from smtpdbg.core import Body, Error, Info, InfoKind, Session, SessionOptions, Wire, parse_target
from smtpdbg.core.render import TextRenderer, is_printable_line
from smtpdbg.core.wire import Limits

from tests.servers import EHLO, Conn, FakeServer, esmtp

TIMEOUT = 1.5
SLACK = 1.5


# -- TLS material ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pki():
    ca = trustme.CA()
    rogue = trustme.CA()
    directory = tempfile.mkdtemp(prefix="smtpdbg-hostile-")
    ca_path = os.path.join(directory, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    now = datetime.datetime.now(datetime.timezone.utc)
    certs = {
        "good": ca.issue_cert("127.0.0.1", "localhost"),
        "wrong-host": ca.issue_cert("mail.other.test"),
        "expired": ca.issue_cert("127.0.0.1", not_before=now - datetime.timedelta(days=30),
                                 not_after=now - datetime.timedelta(days=1)),
        "untrusted": rogue.issue_cert("127.0.0.1"),
    }
    contexts = {}
    for name, cert in certs.items():
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        contexts[name] = context
    self_signed = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False, dir=directory) as handle:
        handle.write(rogue.private_key_pem.bytes() + rogue.cert_pem.bytes())
    self_signed.load_cert_chain(handle.name)
    contexts["self-signed"] = self_signed
    return {"ca": ca_path, "contexts": contexts}


def starttls_then(context: ssl.SSLContext, *, hang: bool = False):
    def reply(conn: Conn, line: bytes) -> None:
        conn.send(b"220 2.0.0 ready\r\n")
        if hang:
            conn.hang()
            return
        conn.sock = context.wrap_socket(conn.sock, server_side=True)
        conn.buffer = b""

    return reply


TLS_EHLO = b"250-fake.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"


def starttls_then_plaintext(conn: Conn, line: bytes) -> None:
    """220 to STARTTLS, then a plaintext 421 in answer to the ClientHello."""
    conn.send(b"220 2.0.0 ready\r\n")
    conn.sock.settimeout(5)
    conn.sock.recv(65536)  # the ClientHello
    conn.send(b"421 4.7.0 TLS not available due to local problem\r\n")
    conn.hang()


# -- cases --------------------------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    server: object
    """A behaviour, or a callable(pki) returning one."""
    commands: list[str]
    category: str | tuple[str, ...] | None
    """Category of the last command's outcome (None: it succeeded; a tuple: any of these)."""
    warnings: list[str] = field(default_factory=list)
    kept: bytes = b""
    """Bytes that must be in the transcript (the evidence)."""
    code: int | None = None
    limits: Limits | None = None
    earlier: dict[str, str] = field(default_factory=dict)
    """Commands before the last that fail, with their category; every other one must succeed."""


def _drip(data: bytes, delay: float):
    return lambda conn, line: conn.drip(data, delay)


def _close_after(data: bytes):
    def reply(conn: Conn, line: bytes) -> None:
        conn.send(data)
        conn.close()

    return reply


def _reset_after(data: bytes):
    def reply(conn: Conn, line: bytes) -> None:
        conn.send(data)
        time.sleep(0.05)
        conn.reset()

    return reply


def _endless(conn: Conn, line: bytes) -> None:
    try:
        for i in range(100_000):
            conn.send(b"250-line %d\r\n" % i)
    except OSError:
        pass


def _flood(conn: Conn, line: bytes) -> None:
    junk = bytes(range(256)) * 4096  # 1 MiB of binary junk, with newlines in it
    conn.send(b"250 ok\r\n")
    try:
        for _ in range(4):
            conn.send(junk)
    except OSError:
        pass


def _close_mid_data(conn: Conn, line: bytes) -> None:
    conn.send(b"354 go ahead\r\n")
    conn.readline()
    conn.close()


def _slow_end(conn: Conn, line: bytes) -> None:
    conn.send(b"354 go\r\n")
    conn.read_data()
    conn.hang()


def _data_then(reply: bytes):
    def behaviour(conn: Conn, line: bytes) -> None:
        conn.send(b"354 go\r\n")
        conn.read_data()
        conn.send(reply)

    return behaviour


CASES = [
    # greeting problems
    Case("greeting-none", lambda conn: conn.close(), ["connect"], "disconnected"),
    Case("greeting-never", lambda conn: conn.hang(), ["connect"], "timeout"),
    Case("greeting-refused", esmtp(greeting=b"554 5.7.1 no service\r\n"), ["connect"], "reply-5xx", code=554,
         kept=b"554 5.7.1 no service\r\n"),
    Case("greeting-garbage", esmtp(greeting=b"HELLO I AM NOT SMTP\r\n"), ["connect"], "garbage-reply",
         ["without a valid 3-digit code"], kept=b"HELLO I AM NOT SMTP\r\n"),
    Case("greeting-multiline", esmtp(greeting=b"220-fake.test first\r\n220-second\r\n220 third\r\n"), ["connect", "ehlo"],
         None, kept=b"220-second\r\n"),
    Case("talks-before-greeting", esmtp(greeting=b"hello?\r\n220 fake.test\r\n"), ["connect", "ehlo"], None,
         ["without a valid 3-digit code", "unsolicited reply 220"], earlier={"connect": "garbage-reply"}),
    # framing
    Case("bare-lf", esmtp(EHLO=b"250-fake.test\n250 8BITMIME\n"), ["connect", "ehlo"], None, ["bare LF"]),
    # only CRLF (or a flagged bare LF) ends a line: a bare CR is data, so this continuation line never ends
    Case("bare-cr", esmtp(EHLO=b"250-fake.test\r250 8BITMIME\r\n"), ["connect", "ehlo"], "timeout", ["bare CR"]),
    Case("cr-cr-lf", esmtp(EHLO=b"250 fake.test\r\r\n"), ["connect", "ehlo", "noop"], None, ["bare CR inside"]),
    Case("no-line-ending-then-close", esmtp(NOOP=_close_after(b"250 ok")), ["connect", "noop"], None,
         ["no line ending"], kept=b"250 ok"),
    Case("line-too-long", esmtp(NOOP=lambda conn, line: conn.send(b"250 " + b"x" * 100_000 + b"\r\n")), ["connect", "noop"],
         "line-too-long", kept=b"250 xxxx"),
    Case("never-ending-multiline", esmtp(EHLO=_endless), ["connect", "ehlo"], "reply-too-long", kept=b"250-line 0\r\n"),
    # a reply whose code changes inside it is a protocol violation, not the success its last line claims
    Case("code-changes", esmtp(EHLO=b"250-fake.test\r\n451-odd\r\n250 8BITMIME\r\n"), ["connect", "ehlo"],
         "reply-violation", ["changed from 250 to 451"]),
    Case("invalid-utf8-and-escapes", esmtp(NOOP=b"250 \xff\xfe \x1b[2J\x1b]0;pwned\x07 \xe2\x80\xae ok\r\n"),
         ["connect", "noop"], None, kept=b"\x1b[2J"),
    # timing
    Case("one-byte-at-a-time", esmtp(EHLO=_drip(EHLO * 20, 0.05)), ["connect", "ehlo"], "timeout", kept=b"250-"),
    Case("stall-after-command", esmtp(NOOP=lambda conn, line: conn.hang()), ["connect", "noop"], "timeout"),
    Case("stall-inside-reply", esmtp(EHLO=lambda conn, line: (conn.send(b"250-fake.test\r\n250-PIPE"), conn.hang())),
         ["connect", "ehlo"], "timeout", kept=b"250-PIPE"),
    Case("slow-ack-after-data", esmtp(DATA=_slow_end), ["connect", "ehlo", "mail a@b.test", "rcpt c@d.test", "data"], "timeout"),
    # connection
    Case("close-after-ehlo", esmtp(EHLO=_close_after(EHLO)), ["connect", "ehlo", "mail a@b.test"], "disconnected"),
    Case("reset-mid-reply", esmtp(EHLO=_reset_after(b"250-fake.test\r\n250-SI")), ["connect", "ehlo"], "disconnected",
         kept=b"250-fake"),
    Case("close-mid-data", esmtp(DATA=_close_mid_data), ["connect", "ehlo", "mail a@b.test", "rcpt c@d.test", "data"],
         "disconnected"),
    Case("close-before-quit-reply", esmtp(QUIT=lambda conn, line: conn.close()), ["connect", "quit"], "disconnected"),
    # RFC 5321 §3.8: after a 421 the server closes; the next command is not sent and says so
    Case("unsolicited-421", esmtp(NOOP=b"250 ok\r\n421 4.4.2 idle timeout\r\n"), ["connect", "noop", "noop"], "not-connected",
         ["unsolicited reply 421"], kept=b"421 4.4.2 idle timeout\r\n"),
    # TLS
    Case("starttls-refused", esmtp(EHLO=TLS_EHLO, STARTTLS=b"454 4.7.0 TLS not available\r\n"), ["connect", "ehlo", "starttls"],
         "reply-error", code=454),
    Case("starttls-plaintext-421", esmtp(EHLO=TLS_EHLO, STARTTLS=starttls_then_plaintext), ["connect", "ehlo", "starttls"],
         "tls-plaintext", kept=b"TLS not available due to local problem\r\n"),
    Case("starttls-no-handshake", lambda pki: esmtp(EHLO=TLS_EHLO, STARTTLS=starttls_then(pki["contexts"]["good"], hang=True)),
         ["connect", "ehlo", "starttls"], "timeout"),
    Case("tls-wrong-host", lambda pki: esmtp(EHLO=TLS_EHLO, STARTTLS=starttls_then(pki["contexts"]["wrong-host"])),
         ["connect", "ehlo", "starttls"], "tls-verify"),
    Case("tls-expired", lambda pki: esmtp(EHLO=TLS_EHLO, STARTTLS=starttls_then(pki["contexts"]["expired"])),
         ["connect", "ehlo", "starttls"], "tls-verify"),
    Case("tls-self-signed", lambda pki: esmtp(EHLO=TLS_EHLO, STARTTLS=starttls_then(pki["contexts"]["self-signed"])),
         ["connect", "ehlo", "starttls"], "tls-verify"),
    Case("tls-good", lambda pki: esmtp(EHLO=TLS_EHLO, STARTTLS=starttls_then(pki["contexts"]["good"])),
         ["connect", "ehlo", "starttls", "ehlo"], None),
    Case("starttls-injection", esmtp(EHLO=TLS_EHLO, STARTTLS=b"220 ready\r\n250-injected\r\n"), ["connect", "ehlo", "starttls"],
         "starttls-injection", kept=b"250-injected"),
    # AUTH
    Case("auth-endless-334", esmtp(EHLO=TLS_EHLO, AUTH=b"334 \r\n", **{"*": b"334 \r\n"}),
         ["connect", "ehlo", "auth LOGIN alice"], "smtp-error"),
    Case("auth-invalid-base64", esmtp(EHLO=TLS_EHLO, AUTH=b"334 !!!not-base64!!!\r\n"), ["connect", "ehlo", "auth LOGIN alice"],
         "bad-base64"),
    Case("auth-535-enhanced", esmtp(EHLO=TLS_EHLO, AUTH=b"535 5.7.8 Authentication credentials invalid\r\n"),
         ["connect", "ehlo", "auth PLAIN alice"], "auth-failed", code=535),
    # transaction
    Case("mixed-rcpt", esmtp(RCPT=lambda conn, line: conn.send({b"a": b"250 ok\r\n", b"b": b"550 5.1.1 no\r\n"}.get(
        line.split(b"<")[1][:1], b"452 4.5.3 too many\r\n"))), ["connect", "ehlo", "mail x@y.test", "rcpt a@t.test",
                                                              "rcpt b@t.test", "rcpt c@t.test"], "reply-4xx", code=452,
         earlier={"rcpt b@t.test": "reply-5xx"}),
    Case("reject-after-dot", esmtp(END=b"554 5.7.1 spam\r\n"), ["connect", "ehlo", "mail a@b.test", "rcpt c@d.test", "data"],
         "reply-5xx", code=554),
    Case("extra-reply-after-data", esmtp(END=b"250 queued\r\n250 and again\r\n"),
         ["connect", "ehlo", "mail a@b.test", "rcpt c@d.test", "data", "noop"], None, ["unsolicited reply 250"]),
    # floods
    # how much of the flood has arrived when the next command starts decides which limit trips first
    Case("binary-flood", esmtp(NOOP=_flood), ["connect", "noop", "noop"], ("flood", "garbage-reply")),
]


def _build(case: Case, pki):
    server = case.server
    if callable(server) and server.__code__.co_varnames[:1] == ("pki",):
        return server(pki)
    return server


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_server(case: Case, pki):
    behaviour = _build(case, pki)
    options = SessionOptions(timeout=TIMEOUT, local_hostname="client.test", ca=pki["ca"], limits=case.limits or Limits(),
                             allow_plaintext_auth=True)  # the AUTH cases test the exchange, not the consent
    with FakeServer(behaviour) as server, Session(parse_target(server.target), options) as session:
        outcomes = []
        for command in case.commands:
            started = time.monotonic()
            outcome = session.execute(command, body=b"Subject: t\r\n\r\nhello\r\n", secret="pw")
            assert time.monotonic() - started < TIMEOUT + SLACK, f"{command} outlived its timeout"
            outcomes.append(outcome)
        last = outcomes[-1]
        for command, outcome in zip(case.commands[:-1], outcomes[:-1]):
            if command in case.earlier:
                assert not outcome.ok and outcome.category == case.earlier[command], outcome
            else:
                assert outcome.ok, outcome
        if case.category is None:
            assert last.ok, last
        else:
            expected = case.category if isinstance(case.category, tuple) else (case.category,)
            assert last.category in expected, (last, session.transcript.snapshot()[-12:])
            assert last.message
        if case.code is not None:
            assert last.code == case.code
        events = session.transcript.snapshot()
        warnings = " | ".join(e.text for e in events if isinstance(e, Info) and e.kind is InfoKind.WARNING)
        for expected in case.warnings:
            assert expected in warnings, warnings
        if case.kept:
            recorded = b"".join(e.data for e in events if isinstance(e, Wire))
            assert case.kept in recorded
        # rendering every event is terminal-safe
        renderer = TextRenderer()
        for event in events:
            for line in renderer.render(event):
                assert is_printable_line(line), line
        assert server.errors == []


def test_error_messages_say_what_the_server_did(pki):
    with FakeServer(esmtp(NOOP=lambda conn, line: conn.send(b"250 " + b"y" * 100_000 + b"\r\n"))) as server:
        with Session(parse_target(server.target), SessionOptions(timeout=TIMEOUT)) as session:
            session.execute("connect")
            outcome = session.execute("noop")
            assert "reply line of 100,006 bytes; limit 8,192" in outcome.message
            assert "not connected now" in outcome.message


def test_a_flood_is_cut_off_and_counted(pki):
    with FakeServer(esmtp(NOOP=_flood)) as server, Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
        session.execute("connect")
        session.execute("noop")
        time.sleep(0.3)
        outcome = session.execute("noop")
        assert outcome.category == "flood" and "limit 1,048,576" in outcome.message
        recorded = sum(len(e.data) for e in session.transcript.snapshot() if isinstance(e, Wire))
        assert recorded < 3 * 1024 * 1024


def test_data_never_puts_a_bare_lf_dot_on_the_wire():
    """SMTP smuggling: a body holding ``\\n.\\n`` or ``\\r.\\r`` must not end DATA early on a lax server."""
    bodies = []

    def lax_data(conn: Conn, line: bytes) -> None:
        conn.send(b"354 go\r\n")
        raw = bytearray()
        while not raw.endswith(b"\r\n.\r\n"):
            chunk = conn.readline()
            if not chunk:
                break
            raw += chunk
        bodies.append(bytes(raw))
        conn.send(b"250 ok\r\n")

    with FakeServer(esmtp(DATA=lax_data)) as server, Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
        session.execute("connect")
        session.execute("ehlo")
        session.execute("mail a@b.test")
        session.execute("rcpt c@d.test")
        outcome = session.execute("data", body=b"Subject: s\r\n\r\nfirst\n.\nMAIL FROM:<evil>\r.\rsecond\r\n")
        assert outcome.ok
        wire = bodies[0]
        assert b"\n.\n" not in wire and b"\r.\r" not in wire
        assert wire.count(b"\r\n.\r\n") == 1 and wire.endswith(b"\r\n.\r\n")
        body_events = [e for e in session.transcript.snapshot() if isinstance(e, Body)]
        assert body_events[-1].stuffed == 2


def test_expired_certificate_message_names_the_problem(pki):
    behaviour = esmtp(EHLO=TLS_EHLO, STARTTLS=starttls_then(pki["contexts"]["expired"]))
    with FakeServer(behaviour) as server, Session(parse_target(server.target), SessionOptions(timeout=5, ca=pki["ca"])) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("starttls")
        assert "expired" in outcome.message


def test_insecure_still_connects_to_a_bad_certificate_and_says_so(pki):
    behaviour = esmtp(EHLO=TLS_EHLO, STARTTLS=starttls_then(pki["contexts"]["wrong-host"]))
    options = SessionOptions(timeout=5, insecure=True)
    with FakeServer(behaviour) as server, Session(parse_target(server.target), options) as session:
        session.execute("connect")
        session.execute("ehlo")
        assert session.execute("starttls").ok
        tls = session.state.tls
        assert tls.verified is False and tls.name_matches is False
        assert "mail.other.test" in tls.certificate.san
        errors = [e for e in session.transcript.snapshot() if isinstance(e, Error)]
        assert errors == []


def test_a_line_without_a_code_is_quoted_whole(pki):
    with FakeServer(esmtp(greeting=b"HELLO I AM NOT SMTP\r\n")) as server:
        with Session(parse_target(server.target), SessionOptions(timeout=TIMEOUT)) as session:
            outcome = session.execute("connect")
            assert outcome.category == "garbage-reply"
            assert outcome.message == "the server answered with a line that has no reply code: 'HELLO I AM NOT SMTP'"
            assert outcome.text == "HELLO I AM NOT SMTP"


def test_a_session_transcript_has_a_memory_ceiling():
    long_reply = b"250-" + b"x" * 4000 + b"\r\n250 ok\r\n"
    with FakeServer(esmtp(NOOP=long_reply)) as server:
        options = SessionOptions(timeout=TIMEOUT, limits=Limits(max_session_bytes=20_000))
        with Session(parse_target(server.target), options) as session:
            session.execute("connect")
            for _ in range(10):
                assert session.execute("noop").code == 250
            wires = [e for e in session.transcript.snapshot() if isinstance(e, Wire)]
            kept = sum(len(e.data) for e in wires)
            assert kept < 30_000  # 10 × 4 KB arrived; past 20 KB only line starts are kept
            assert any("transcript limit" in e.note for e in wires)
            warnings = [e.text for e in session.transcript.snapshot() if isinstance(e, Info) and e.kind is InfoKind.WARNING]
            assert sum("passed 20,000 bytes" in w for w in warnings) == 1
