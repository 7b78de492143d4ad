"""Timeouts, aborts and every smtplib exception turned into a classified error event."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time

import pytest

from smtpdbg.core import Error, Info, InfoKind, Session, SessionOptions, Wire, parse_target
from smtpdbg.core.errors import CommandTimeout, classify

from tests.servers import Conn, FakeServer, esmtp


def open_session(server: FakeServer, **options) -> Session:
    settings = {"timeout": 5.0, "local_hostname": "client.test"}
    settings.update(options)
    return Session(parse_target(server.target), SessionOptions(**settings))


def errors(session: Session) -> list[Error]:
    return [e for e in session.transcript.snapshot() if isinstance(e, Error)]


def test_a_stalled_command_times_out_on_wall_clock():
    with FakeServer(esmtp(NOOP=lambda conn, line: conn.hang())) as server, open_session(server) as session:
        assert session.execute("connect").ok
        started = time.monotonic()
        outcome = session.execute("noop --timeout 0.5")
        elapsed = time.monotonic() - started
        assert not outcome.ok and outcome.category == "timeout"
        assert 0.4 < elapsed < 2.0
        assert "timed out" in outcome.message and not outcome.connected
        assert errors(session)[-1].category == "timeout"


def test_a_server_dripping_one_byte_at_a_time_still_times_out():
    drip = lambda conn, line: conn.drip(b"250-" + b"x" * 200 + b"\r\n250 ok\r\n", 0.05)  # noqa: E731
    with FakeServer(esmtp(NOOP=drip)) as server, open_session(server) as session:
        assert session.execute("connect").ok
        started = time.monotonic()
        outcome = session.execute("noop --timeout 1")
        assert outcome.category == "timeout"
        assert time.monotonic() - started < 2.5
        fragments = [e for e in session.transcript.snapshot() if isinstance(e, Wire) and e.note == "incomplete line"]
        assert fragments and fragments[0].data.startswith(b"250-xx")


def test_a_greeting_that_never_comes_times_out():
    with FakeServer(lambda conn: conn.hang()) as server, open_session(server, timeout=0.5) as session:
        outcome = session.execute("connect")
        assert not outcome.ok and outcome.category == "timeout"


def test_abort_ends_a_hung_command_within_a_second():
    with FakeServer(esmtp(NOOP=lambda conn, line: conn.hang())) as server, open_session(server, timeout=30) as session:
        assert session.execute("connect").ok
        future = session.submit("noop")
        deadline = time.monotonic() + 5
        while not session.state.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        started = time.monotonic()
        assert session.submit("abort").result().ok
        outcome = future.result(timeout=2)
        assert time.monotonic() - started < 1.0
        assert outcome.category == "aborted" and "aborted by the user" in outcome.message
        texts = [e.text for e in session.transcript.snapshot() if isinstance(e, Info)]
        assert any("abort requested" in t for t in texts)
        assert any("connection closed" in t for t in texts)
        # the session is usable again
        assert session.execute("reconnect").ok


def test_abort_with_nothing_running_says_so():
    with Session() as session:
        outcome = session.execute("abort")
        assert outcome.message == "nothing to abort"


def test_connection_refused_is_classified():
    listener = FakeServer(lambda conn: None)
    port = listener.port
    listener.listener.close()
    with Session(parse_target(f"127.0.0.1:{port}"), SessionOptions(timeout=2)) as session:
        outcome = session.execute("connect")
        assert not outcome.ok and outcome.category == "refused"
        assert "nothing listens there" in outcome.message


def test_server_closing_mid_reply_keeps_what_arrived():
    def close_mid(conn: Conn, line: bytes) -> None:
        conn.send(b"250-first line\r\n250-second")
        conn.close()

    with FakeServer(esmtp(EHLO=close_mid)) as server, open_session(server) as session:
        session.execute("connect")
        outcome = session.execute("ehlo")
        assert not outcome.ok and outcome.category in ("disconnected", "protocol")
        data = [e.data for e in session.transcript.snapshot() if isinstance(e, Wire)]
        assert b"250-first line\r\n" in data and b"250-second" in data
        assert not session.state.connected


def test_refused_greeting_is_a_failed_connect():
    with FakeServer(esmtp(greeting=b"554 go away\r\n")) as server, open_session(server) as session:
        outcome = session.execute("connect")
        assert not outcome.ok and outcome.code == 554 and outcome.category == "reply-5xx"


def test_helo_error_and_not_supported():
    with FakeServer(esmtp(EHLO=b"502 no\r\n", HELO=b"501 no\r\n")) as server, open_session(server) as session:
        session.execute("connect")
        outcome = session.execute("ehlo_or_helo_if_needed")
        assert outcome.category == "helo-refused" and outcome.code == 501
        tls = session.execute("starttls")
        assert not tls.ok


def test_starttls_not_advertised_is_not_supported():
    with FakeServer(esmtp()) as server, open_session(server) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("starttls")
        assert outcome.category == "not-supported"
        assert outcome.connected


def test_starttls_refused_with_454():
    ehlo = b"250-fake\r\n250 STARTTLS\r\n"
    with FakeServer(esmtp(EHLO=ehlo, STARTTLS=b"454 4.7.0 TLS not available\r\n")) as server, open_session(server) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("starttls")
        assert outcome.category == "reply-error" and outcome.code == 454 and outcome.connected


def test_starttls_injection_is_refused():
    ehlo = b"250-fake\r\n250 STARTTLS\r\n"
    inject = lambda conn, line: conn.send(b"220 go ahead\r\n250 injected\r\n")  # noqa: E731
    with FakeServer(esmtp(EHLO=ehlo, STARTTLS=inject)) as server, open_session(server) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("starttls")
        assert outcome.category == "starttls-injection"
        assert not outcome.connected
        wires = [e for e in session.transcript.snapshot() if isinstance(e, Wire)]
        assert any(b"250 injected" in e.data for e in wires)


def test_sender_refused_recipients_refused_and_data_error(session):
    session.execute("ehlo")
    refused = session.execute("sendmail a@sandbox.smtpdbg.test reject@sandbox.smtpdbg.test", body=b"x\r\n")
    assert refused.category == "recipients-refused" and "reject@sandbox.smtpdbg.test: 550" in refused.message
    data = session.execute("sendmail a@sandbox.smtpdbg.test b@sandbox.smtpdbg.test",
                           body=b"X-Sandbox-Reject: yes\r\n\r\nx\r\n")
    assert data.category == "data-refused" and data.code == 554
    assert session.execute("noop").ok


def test_sender_refused():
    with FakeServer(esmtp(MAIL=b"553 5.1.8 bad sender\r\n")) as server, open_session(server) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("sendmail bad@x.test b@y.test", body=b"x\r\n")
        assert outcome.category == "sender-refused" and outcome.code == 553


def test_endless_auth_challenges_end_with_an_smtp_exception():
    ehlo = b"250-fake\r\n250 AUTH PLAIN\r\n"
    with FakeServer(esmtp(EHLO=ehlo, AUTH=b"334 \r\n", **{"*": b"334 \r\n"})) as server, \
            open_session(server, allow_plaintext_auth=True) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("auth PLAIN alice --no-initial-response", secret="pw")
        assert not outcome.ok and outcome.category == "smtp-error" and "infinite loop" in outcome.message
        masked = [e for e in session.transcript.snapshot() if isinstance(e, Wire) and e.redacted]
        assert len(masked) >= 5 and all(b"pw" not in e.data for e in masked)


@pytest.mark.parametrize(
    "exc, category",
    [
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "disconnected"),
        (smtplib.SMTPResponseException(454, b"no"), "reply-error"),
        (smtplib.SMTPSenderRefused(553, b"no", "a@b"), "sender-refused"),
        (smtplib.SMTPRecipientsRefused({"a@b": (550, b"no")}), "recipients-refused"),
        (smtplib.SMTPDataError(554, b"no"), "data-refused"),
        (smtplib.SMTPConnectError(554, b"no"), "connect-refused"),
        (smtplib.SMTPHeloError(501, b"no"), "helo-refused"),
        (smtplib.SMTPNotSupportedError("x"), "not-supported"),
        (smtplib.SMTPAuthenticationError(535, b"no"), "auth-failed"),
        (smtplib.SMTPException("loop"), "smtp-error"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "tls-verify"),
        (ssl.SSLError(1, "bad record"), "tls-error"),
        (TimeoutError(), "timeout"),
        (ConnectionRefusedError(111, "refused"), "refused"),
        (ConnectionResetError(104, "reset"), "network"),
        (__import__("binascii").Error("bad"), "bad-base64"),
        (UnicodeEncodeError("ascii", "é", 0, 1, "no"), "encoding"),
        (ValueError("x"), "value"),
        (RuntimeError("x"), "internal"),
    ],
)
def test_every_exception_is_classified(exc, category):
    classified = classify(exc, during="EHLO")
    assert classified.category == category
    assert classified.message


def test_exceptions_never_escape_to_the_caller():
    with Session(None, SessionOptions(timeout=1)) as session:
        for line in ("noop", "ehlo", "data", "starttls", "auth PLAIN u", "connect", "connect ftp://x", "connect host:99999",
                     "raw \\q", "show nothing", "? nothing"):
            outcome = session.execute(line, secret="x")
            assert outcome.ok is False, line
            assert outcome.message, line
        assert session.state.commands_run >= 9


def test_parse_errors_send_nothing_and_keep_the_session(session):
    mark = len(session.transcript)
    outcome = session.execute("mail")
    assert outcome.category == "parse" and "SENDER" in outcome.message
    assert not [e for e in session.transcript.snapshot()[mark:] if isinstance(e, Wire)]
    assert session.execute("noop").ok


def test_listener_exceptions_do_not_break_the_session(session):
    def broken(event) -> None:
        raise RuntimeError("frontend bug")

    session.subscribe(broken)
    assert session.execute("noop").ok
    assert session.transcript.listener_errors > 0


def test_shutdown_while_busy_returns_promptly():
    with FakeServer(esmtp(NOOP=lambda conn, line: conn.hang())) as server:
        session = open_session(server, timeout=30)
        session.execute("connect")
        future = session.submit("noop")
        time.sleep(0.2)
        started = time.monotonic()
        session.shutdown()
        assert time.monotonic() - started < 2
        assert future.result(timeout=1).category == "aborted"
        late = session.execute("noop")
        assert late.category == "stopped"


def test_bare_lf_and_code_changes_are_flagged():
    ehlo = b"250-fake\n250-PIPELINING\r\n550 changed\r\n"
    with FakeServer(esmtp(EHLO=ehlo)) as server, open_session(server) as session:
        session.execute("connect")
        session.execute("ehlo")
        warnings = [e.text for e in session.transcript.snapshot() if isinstance(e, Info) and e.kind is InfoKind.WARNING]
        assert any("bare LF" in w for w in warnings)
        assert any("changed from 250 to 550" in w for w in warnings)


def test_unsolicited_reply_is_read_before_the_next_command_and_flagged():
    def double(conn: Conn, line: bytes) -> None:
        conn.send(b"250 ok\r\n250 2.0.0 and again\r\n")

    with FakeServer(esmtp(NOOP=double)) as server, open_session(server) as session:
        session.execute("connect")
        session.execute("noop")
        time.sleep(0.2)
        outcome = session.execute("rset")
        assert outcome.code == 250
        warnings = [e.text for e in session.transcript.snapshot() if isinstance(e, Info) and e.kind is InfoKind.WARNING]
        assert any("unsolicited reply 250" in w for w in warnings)


def test_an_unsolicited_421_closes_the_session_before_the_next_command():
    def closing(conn: Conn, line: bytes) -> None:
        conn.send(b"250 ok\r\n421 4.3.2 shutting down\r\n")

    with FakeServer(esmtp(NOOP=closing)) as server, open_session(server) as session:
        session.execute("connect")
        session.execute("noop")
        time.sleep(0.2)
        outcome = session.execute("rset")
        assert not outcome.ok and outcome.category == "not-connected" and not outcome.sent, outcome
        assert "reconnect" in outcome.message
        events = session.transcript.snapshot()
        assert not [e for e in events if isinstance(e, Wire) and e.is_send and e.data.startswith(b"RSET")]
        closed = [e.text for e in events if isinstance(e, Info) and e.kind is InfoKind.CLOSED]
        assert closed and "421" in closed[-1]
        assert not session.state.connected


def test_a_421_reply_closes_the_connection_and_says_reconnect():
    with FakeServer(esmtp(MAIL=b"421 4.7.0 too many connections from your host\r\n")) as server, \
            open_session(server) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("mail a@example.org")
        assert outcome.code == 421 and not outcome.connected and "reconnect" in outcome.message
        assert not session.state.connected
        assert session.execute("noop").category == "not-connected"


def test_concurrent_abort_and_submit_from_threads_is_safe():
    with FakeServer(esmtp()) as server, open_session(server) as session:
        session.execute("connect")
        stop = threading.Event()

        def aborter() -> None:
            while not stop.is_set():
                session.abort()
                time.sleep(0.005)

        thread = threading.Thread(target=aborter)
        thread.start()
        try:
            outcomes = [session.execute("noop") for _ in range(20)]
        finally:
            stop.set()
            thread.join()
        assert all(o.ok or o.category in ("aborted", "not-connected") for o in outcomes)


def test_an_address_that_never_answers_does_not_take_the_whole_timeout(monkeypatch):
    """A name with two addresses, the first silently dropping SYNs: the second still gets its turn."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    fillers = []
    for _ in range(4):  # fill the accept queue: further SYNs are dropped, connect() just waits
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(blackhole.getsockname())
        fillers.append(filler)
    time.sleep(0.1)
    with FakeServer(esmtp()) as server:
        real = socket.getaddrinfo

        def two_addresses(host, port, *args, **kwargs):
            if host == "two.test":
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", blackhole.getsockname()),
                        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (server.host, server.port))]
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
        with Session(parse_target("two.test:25"), SessionOptions(timeout=4, local_hostname="c.test")) as session:
            started = time.monotonic()
            outcome = session.execute("connect")
            elapsed = time.monotonic() - started
            assert outcome.ok and outcome.code == 220, outcome
            assert 1.5 < elapsed < 3.5  # half the timeout on the silent address, then the good one
            texts = [e.text for e in session.transcript.snapshot() if isinstance(e, Info)]
            assert any("trying the next address" in t for t in texts)
    for filler in fillers:
        filler.close()
    blackhole.close()


def test_errors_name_the_smtplib_exception_they_came_as(session):
    from smtpdbg.core.render import TextRenderer

    session.execute("ehlo")
    session.execute("sendmail a@sandbox.smtpdbg.test reject@sandbox.smtpdbg.test", body=b"x\r\n")
    lines = [line for e in session.transcript.snapshot() if isinstance(e, Error) for line in TextRenderer().render(e)]
    assert lines[-1].startswith("*** the server refused every recipient")
    assert lines[-1].endswith("[smtplib.SMTPRecipientsRefused]")
    assert classify(CommandTimeout("t")).exception == "CommandTimeout (smtplib.SMTPServerDisconnected)"
