"""``Sandbox.connections``: one thread-safe record per client connection."""

from __future__ import annotations

import dataclasses
import smtplib
import threading

import pytest

from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig

TIMEOUT = 5.0


def test_a_fresh_sandbox_has_logged_nothing() -> None:
    # The listeners' own readiness probes are not client connections.
    with Sandbox() as sb:
        assert sb.connections == []


def test_a_session_is_recorded_from_accept_to_close(ep: Endpoints, sandbox: Sandbox) -> None:
    with smtplib.SMTP(*ep.smtp, local_hostname="client.example", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        smtp.login(ep.user, ep.password)
        smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: c\r\n\r\nx\r\n")
        smtp.sendmail("a@example.com", ["c@example.com"], b"Subject: c\r\n\r\nx\r\n")
        (live,) = sandbox.connections
        assert (live.listener, live.peer, live.closed) == ("smtp", smtp.sock.getsockname(), False)
    (closed,) = sandbox.wait_for_connections(1, where=lambda c: c.closed)
    assert closed.id == live.id
    assert (closed.helo, closed.auth_user, closed.auth_mechanism, closed.messages) == (
        "client.example", "alice", "CRAM-MD5", 2)  # smtplib.login() prefers CRAM-MD5
    assert (closed.tls, closed.proxy, closed.sni, closed.client_cert, closed.xclient) == (
        False, None, None, None, ())
    assert [m.connection_id for m in sandbox.messages] == [closed.id, closed.id]


def test_helo_and_lmtp_are_recorded(ep: Endpoints, sandbox: Sandbox, wire) -> None:
    w = wire(ep.smtp)
    assert w.command("HELO old.example") == "250 sandbox.smtpdbg.test"
    assert ep.lmtp is not None
    wire(ep.lmtp).ehlo("lmtp.example", verb="LHLO")
    smtp, lmtp = sandbox.connections
    assert (smtp.listener, smtp.helo) == ("smtp", "old.example")
    assert (lmtp.listener, lmtp.helo, lmtp.peer) == ("lmtp", "lmtp.example", "")


def test_snapshots_are_frozen_copies(ep: Endpoints, sandbox: Sandbox, wire) -> None:
    w = wire(ep.smtp)
    (before,) = sandbox.connections
    w.ehlo("later.example")
    (after,) = sandbox.connections
    assert (before.helo, after.helo) == (None, "later.example")
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.helo = "x"  # type: ignore[misc]


def test_concurrent_clients_get_distinct_records(ep: Endpoints, sandbox: Sandbox) -> None:
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with smtplib.SMTP(*ep.smtp, local_hostname=f"c{n}.example", timeout=TIMEOUT) as smtp:
                smtp.ehlo()
                sandbox.connections  # snapshots while other threads' records change
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert errors == []
    records = sandbox.wait_for_connections(20, where=lambda c: c.closed)
    assert len({c.id for c in records}) == 20
    assert {c.helo for c in records} == {f"c{n}.example" for n in range(20)}


def test_clear_and_wait(ep: Endpoints, sandbox: Sandbox, wire) -> None:
    wire(ep.smtp)
    assert len(sandbox.connections) == 1
    sandbox.clear_connections()
    assert sandbox.connections == []
    with pytest.raises(TimeoutError):
        sandbox.wait_for_connections(1, timeout=0.05)


def test_a_client_that_hangs_up_during_the_tarpit_is_closed_on_our_side() -> None:
    import socket

    with Sandbox(SandboxConfig(banner_delay=5.0, lmtp=False)) as sb:
        with socket.create_connection(sb.endpoints.smtp, timeout=TIMEOUT) as sock:
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(100) == b""  # closed at once, not after the 5 s tarpit
        assert sb.wait_for_connections(1, where=lambda c: c.closed)
