"""Every command ends within its wall-clock timeout, and an abort lands on the command it was meant for.

Real sockets throughout: fake servers from tests/servers.py, a loopback DNS
server that answers slowly, and the sandbox.
"""

from __future__ import annotations

import socket
import threading
import time

from smtpdbg.core import Session, SessionOptions, Wire, parse_target
from tests.dns_server import DnsServer
from tests.servers import FakeServer, esmtp

TIMEOUT = 1.0
SLACK = 1.0


def trickle(conn, line):
    """Answer, then keep sending one more reply every 0.2 s (a server that never goes quiet)."""
    conn.send(b"250 OK\r\n")
    for _ in range(200):
        time.sleep(0.2)
        try:
            conn.send(b"250 more\r\n")
        except OSError:
            return


def test_drain_stops_at_the_command_timeout_even_if_replies_keep_coming():
    with FakeServer(esmtp(NOOP=trickle)) as server:
        session = Session(parse_target(server.target), SessionOptions(timeout=TIMEOUT))
        try:
            assert session.execute("connect").ok
            assert session.execute("noop").code == 250
            started = time.monotonic()
            outcome = session.execute("drain 0.5")
            elapsed = time.monotonic() - started
            assert elapsed < TIMEOUT + SLACK, elapsed
            assert outcome.replies, outcome
            texts = [e.text for e in session.transcript.snapshot() if hasattr(e, "text") and isinstance(e.text, str)]
            assert any("time limit" in t for t in texts)
        finally:
            session.shutdown()


def test_mx_resolution_as_a_whole_stays_within_the_command_timeout():
    """Each lookup is quicker than the timeout; all of them together are not."""
    records = {("example.test", "MX"): ["10 mx1.example.test.", "20 mx2.example.test.", "30 mx3.example.test."]}
    for name in ("mx1", "mx2", "mx3"):
        records[(f"{name}.example.test", "A")] = ["127.0.0.1"]
    with DnsServer(records, delay=0.3) as dns:
        session = Session(parse_target("mx:example.test"), SessionOptions(timeout=TIMEOUT, dns_server=dns.address))
        try:
            started = time.monotonic()
            outcome = session.execute("connect")
            elapsed = time.monotonic() - started
        finally:
            session.shutdown()
    assert not outcome.ok
    assert outcome.category == "timeout", outcome
    assert "DNS" in outcome.message
    assert elapsed < TIMEOUT + SLACK, elapsed


def test_an_abort_arriving_as_the_command_finishes_does_not_leak_into_the_next():
    """The reply is in, the command is about to end, the abort shuts the socket: the state must say so."""
    with FakeServer(esmtp()) as server:
        session = Session(parse_target(server.target), SessionOptions(timeout=5))
        try:
            assert session.execute("connect").ok
            fired = []

            def abort_on_the_reply(event):
                if isinstance(event, Wire) and not event.is_send and event.data.startswith(b"250 OK") and not fired:
                    fired.append(session.abort())

            unsubscribe = session.subscribe(abort_on_the_reply)
            first = session.execute("noop")
            unsubscribe()
            assert fired == [True]
            assert first.code == 250
            assert first.connected is False and session.state.connected is False
            second = session.execute("noop")
            assert second.category == "not-connected", second
            assert session.execute("reconnect").ok
            assert session.execute("noop").ok
        finally:
            session.shutdown()


def test_an_abort_during_connect_is_not_lost_while_the_connection_object_is_replaced():
    """``connect mx:...`` resolves before it builds its new smtplib object: an abort then must still stop it."""
    records = {("example.test", "MX"): ["10 mx1.example.test."], ("mx1.example.test", "A"): ["127.0.0.1"]}
    with FakeServer(esmtp()) as first, DnsServer(records, delay=3) as dns:
        session = Session(parse_target(first.target), SessionOptions(timeout=10, dns_server=dns.address))
        try:
            assert session.execute("connect").ok
            future = session.submit("connect mx:example.test")
            time.sleep(0.3)
            started = time.monotonic()
            assert session.abort()
            outcome = future.result(timeout=10)
            assert time.monotonic() - started < 1.0
            assert outcome.category == "aborted", outcome
        finally:
            session.shutdown()


def test_a_slow_host_name_lookup_is_bounded_and_abortable(monkeypatch):
    """The system resolver can block for many seconds; the connect must not (the resolver is slowed here)."""
    host = "slow.example.test"
    real = socket.getaddrinfo

    def slow_getaddrinfo(name, port, family=0, kind=0, proto=0, flags=0):
        if name == host and not flags & socket.AI_NUMERICHOST:  # a numeric-only lookup never waits
            time.sleep(5)
        return real(name, port, family, kind, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    session = Session(parse_target(f"{host}:2525"), SessionOptions(timeout=TIMEOUT))
    try:
        started = time.monotonic()
        outcome = session.execute("connect")
        assert time.monotonic() - started < TIMEOUT + SLACK
        assert outcome.category == "timeout", outcome
        future = session.submit("connect --timeout 30")
        time.sleep(0.3)
        started = time.monotonic()
        session.abort()
        assert future.result(timeout=5).category == "aborted"
        assert time.monotonic() - started < 1.5
    finally:
        session.shutdown()


def test_a_slow_reader_cannot_stretch_a_tls_body_past_the_command_timeout(tmp_path):
    """SSLSocket.sendall() applies the socket timeout to each write, not to the whole body."""
    import ssl

    import trustme

    ca = trustme.CA()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)

    def slow_reader(conn, line):
        conn.send(b"354 go ahead\r\n")
        try:
            while conn.sock.recv(16384):
                time.sleep(0.05)
        except OSError:
            pass

    smtp = esmtp(DATA=slow_reader)

    def implicit_tls(conn):
        conn.sock = server_context.wrap_socket(conn.sock, server_side=True)
        smtp(conn)

    with FakeServer(implicit_tls) as server:
        session = Session(parse_target(f"smtps://{server.target}"), SessionOptions(timeout=TIMEOUT, ca=str(ca_path)))
        try:
            assert session.execute("connect").ok, session.transcript.snapshot()
            started = time.monotonic()
            outcome = session.execute("data", body=b"x" * 76 + b"\r\n" * 1 + (b"y" * 998 + b"\r\n") * 8000)
            elapsed = time.monotonic() - started
        finally:
            session.shutdown()
    assert outcome.category == "timeout", outcome
    assert elapsed < TIMEOUT + SLACK, elapsed


def test_abort_during_a_local_command_leaves_the_connection_alone(session):
    """``save``/``show`` cannot be interrupted; an abort must not cut the connection underneath them."""
    from smtpdbg.core import CommandStart

    results = []

    def abort_when_show_starts(event):
        if isinstance(event, CommandStart) and event.text == "show":
            results.append(session.abort())

    unsubscribe = session.subscribe(abort_when_show_starts)
    outcome = session.execute("show")
    unsubscribe()
    assert results == [False]
    assert outcome.ok and outcome.connected and session.state.connected
    assert session.execute("noop").code == 250


def test_a_command_submitted_while_the_session_shuts_down_is_still_answered(monkeypatch):
    """submit() checked "not stopped", then shutdown() ran to the end before submit() queued the job.

    The window between the check and the queueing is widened where submit() masks the
    command line for display (``history.scrub``, a public function): shutdown() is called
    while the submitting thread is inside it.
    """
    from smtpdbg.core import history

    real_scrub = history.scrub
    inside, shutting = threading.Event(), threading.Event()

    def slow_scrub(line: str) -> str:
        if threading.current_thread().name == "submitter" and line == "noop" and not inside.is_set():
            inside.set()
            shutting.wait(5)
            time.sleep(0.3)  # shutdown() gets as far as it can meanwhile
        return real_scrub(line)

    monkeypatch.setattr(history, "scrub", slow_scrub)
    with FakeServer(esmtp()) as server:
        session = Session(parse_target(server.target), SessionOptions(timeout=2))
        results = []
        submitter = threading.Thread(target=lambda: results.append(session.submit("noop")), name="submitter")
        submitter.start()
        assert inside.wait(5), "submit() no longer masks the line between its checks: move the widened window"
        shutting.set()
        session.shutdown()
        submitter.join(5)
        outcome = results[0].result(timeout=3)  # run before the stop, or refused: answered either way
    assert outcome.command == "noop"
