"""PROXY protocol v1/v2 in front of the smtp and smtps listeners.

The headers are built by hand (text for v1, struct-packed for v2); on SMTPS the
header goes in clear before the TLS handshake, as a load balancer sends it.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Iterator

import pytest

from smtpdbg.sandbox import Sandbox, SandboxConfig
from smtpdbg.sandbox.model import Connection

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
BANNER = "220 sandbox.smtpdbg.test smtpdbg sandbox"
TIMEOUT = 5.0


def v1(source: str = "192.0.2.1", destination: str = "127.0.0.1", sport: int = 4242,
       dport: int = 2525, family: str = "TCP4") -> bytes:
    return f"PROXY {family} {source} {destination} {sport} {dport}\r\n".encode()


def v2(source: str = "192.0.2.1", destination: str = "127.0.0.1", sport: int = 4242,
       dport: int = 2525, *, family: int = 0x11, command: int = 0x21, tlv: bytes = b"") -> bytes:
    """A v2 header; family 0x11 is TCP over IPv4, 0x21 TCP over IPv6, 0x12 UDP over IPv4."""
    if command == 0x20:  # LOCAL: no addresses
        body = tlv
    else:
        af = socket.AF_INET6 if family >> 4 == 2 else socket.AF_INET
        size = 16 if af == socket.AF_INET6 else 4
        body = struct.pack(f"!{size}s{size}sHH", socket.inet_pton(af, source),
                           socket.inet_pton(af, destination), sport, dport) + tlv
    return V2_SIGNATURE + bytes([command, family]) + struct.pack("!H", len(body)) + body


@pytest.fixture(scope="module")
def balanced() -> Iterator[Sandbox]:
    """A sandbox behind an imaginary load balancer: PROXY headers expected."""
    with Sandbox(SandboxConfig(proxy_protocol=True)) as sb:
        yield sb


@pytest.fixture
def lb(balanced: Sandbox) -> Sandbox:
    balanced.clear_messages()
    balanced.clear_connections()
    return balanced


@pytest.fixture
def context(lb: Sandbox) -> ssl.SSLContext:
    return lb.endpoints.client_ssl_context()


def only_connection(sb: Sandbox) -> Connection:
    (connection,) = sb.wait_for_connections(1)
    return connection


def send_message(w) -> None:
    w.send(b"MAIL FROM:<s@example.com>\r\nRCPT TO:<r@example.com>\r\nBDAT 3 LAST\r\nx\r\n")
    assert [w.reply() for _ in range(3)][-1] == "250 2.0.0 OK: message accepted"


# -- headers and what is recorded ----------------------------------------------------------


@pytest.mark.parametrize("header, described", [
    (v1(), "v1 TCP4 192.0.2.1:4242 -> 127.0.0.1:2525"),
    (v1("2001:db8::1", "::1", 50000, 25, "TCP6"), "v1 TCP6 [2001:db8::1]:50000 -> [::1]:25"),
    (b"PROXY UNKNOWN\r\n", "v1 UNKNOWN"),
    (b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", "v1 UNKNOWN"),
    (v2(), "v2 TCP4 192.0.2.1:4242 -> 127.0.0.1:2525"),
    (v2("2001:db8::7", "2001:db8::25", 1234, 587, family=0x21),
     "v2 TCP6 [2001:db8::7]:1234 -> [2001:db8::25]:587"),
    (v2(family=0x12), "v2 UDP4 192.0.2.1:4242 -> 127.0.0.1:2525"),
    (v2(tlv=b"\x02\x00\x0bexample.org"), "v2 TCP4 192.0.2.1:4242 -> 127.0.0.1:2525"),  # AUTHORITY
    (v2(command=0x20, family=0x00), "v2 LOCAL"),
    (V2_SIGNATURE + b"\x21\x00\x00\x00", "v2 UNSPEC"),
])
def test_header_is_recorded_on_the_connection_and_the_message(lb: Sandbox, wire, header: bytes,
                                                               described: str) -> None:
    w = wire(lb.endpoints.smtp, banner=False)
    w.send(header)
    assert w.reply() == BANNER
    w.ehlo()
    send_message(w)
    (message,) = lb.wait_for_messages(1)
    assert message.proxy == described
    connection = only_connection(lb)
    assert (connection.proxy, connection.id) == (described, message.connection_id)
    assert message.peer == w.sock.getsockname()  # the real socket peer stays the peer


def test_commands_pipelined_behind_the_header_are_not_lost(lb: Sandbox, wire) -> None:
    w = wire(lb.endpoints.smtp, banner=False)
    w.send(v2() + b"EHLO fast.example\r\nNOOP\r\n")
    assert w.reply() == BANNER
    assert w.reply() == "250 HELP"
    assert w.reply() == "250 2.0.0 OK"


def test_starttls_keeps_the_proxy_record(lb: Sandbox, wire, context: ssl.SSLContext) -> None:
    w = wire(lb.endpoints.smtp, banner=False)
    w.send(v1())
    assert w.reply() == BANNER
    w.ehlo()
    w.starttls(context, "localhost")
    w.ehlo()
    send_message(w)
    (message,) = lb.wait_for_messages(1)
    assert (message.proxy, message.tls, message.sni) == (
        "v1 TCP4 192.0.2.1:4242 -> 127.0.0.1:2525", True, "localhost")


def test_smtps_reads_the_header_in_clear_before_tls(lb: Sandbox, wire, context: ssl.SSLContext) -> None:
    w = wire(lb.endpoints.smtps, banner=False)
    w.send(v2("198.51.100.2", "127.0.0.1", 5555, 465))
    w.wrap(context, "localhost")
    assert w.reply() == BANNER
    assert "AUTH" in " ".join(w.ehlo())
    send_message(w)
    (message,) = lb.wait_for_messages(1)
    assert (message.listener, message.tls, message.sni) == ("smtps", True, "localhost")
    assert message.proxy == "v2 TCP4 198.51.100.2:5555 -> 127.0.0.1:465"


def test_smtps_client_hello_in_the_same_packet_as_the_header(lb: Sandbox,
                                                             context: ssl.SSLContext) -> None:
    # The server's stream reader takes the header and the ClientHello in one read;
    # it must hand the ClientHello to the TLS layer.
    with socket.create_connection(lb.endpoints.smtps, timeout=TIMEOUT) as sock:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
        with pytest.raises(ssl.SSLWantReadError):
            tls.do_handshake()
        sock.sendall(v1() + outgoing.read())

        def pump(operation):
            while True:
                try:
                    result = operation()
                except ssl.SSLWantReadError:
                    if pending := outgoing.read():
                        sock.sendall(pending)
                    data = sock.recv(65536)
                    assert data, "server closed the connection"
                    incoming.write(data)
                else:
                    if pending := outgoing.read():
                        sock.sendall(pending)
                    return result

        pump(tls.do_handshake)
        assert pump(lambda: tls.read(4096)) == (BANNER + "\r\n").encode()
    assert only_connection(lb).proxy == "v1 TCP4 192.0.2.1:4242 -> 127.0.0.1:2525"


def test_lmtp_expects_no_header(lb: Sandbox, wire) -> None:
    assert lb.endpoints.lmtp is not None
    wire(lb.endpoints.lmtp)  # the banner comes at once


# -- bad or missing headers ---------------------------------------------------------------


@pytest.mark.parametrize("first, reason", [
    (b"EHLO client.example\r\n", "PROXY unrecognized signature"),
    # one field short: aiosmtpd's reason is the text of an internal exception, so only the refusal is asserted
    (b"PROXY TCP4 192.0.2.1 127.0.0.1 4242\r\n", None),
    (b"PROXY TCP4 300.0.0.1 127.0.0.1 1 2\r\n", "PROXYv1 address malformed"),
    (b"PROXY TCP5 192.0.2.1 127.0.0.1 1 2\r\n", "PROXYv1 unrecognized family"),
    (V2_SIGNATURE + b"\x31\x11\x00\x00", "PROXYv2 illegal version"),
])
def test_a_bad_header_gets_421_and_the_connection_closes(lb: Sandbox, wire, first: bytes,
                                                         reason: str | None) -> None:
    w = wire(lb.endpoints.smtp, banner=False)
    w.send(first)
    prefix = "421 4.7.0 sandbox.smtpdbg.test Bad PROXY protocol header: "
    reply = w.reply()
    assert reply.startswith(prefix) and reply[len(prefix):].strip()
    if reason is not None:
        assert reply == prefix + reason
    assert w.at_eof()
    assert lb.wait_for_connections(1, where=lambda c: c.closed)[0].proxy is None


def test_a_silent_client_is_dropped_after_the_timeout(monkeypatch: pytest.MonkeyPatch, wire) -> None:
    monkeypatch.setattr("smtpdbg.sandbox.proxy.PROXY_TIMEOUT", 0.2)
    with Sandbox(SandboxConfig(proxy_protocol=True, lmtp=False)) as sb:
        w = wire(sb.endpoints.smtp, banner=False)
        assert w.at_eof()  # well within the 5 s socket timeout


def test_without_proxy_protocol_a_header_is_just_a_bad_command(wire, ep) -> None:
    w = wire(ep.smtp)
    assert w.command(v1().rstrip()) == '500 5.5.2 Error: command "PROXY" not recognized'


def test_a_client_that_hangs_up_before_the_header_is_closed_on_our_side(lb: Sandbox) -> None:
    with socket.create_connection(lb.endpoints.smtp, timeout=TIMEOUT) as sock:
        sock.sendall(b"PRO")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""  # the server closed its side too (no half-open socket)
    assert lb.wait_for_connections(1, where=lambda c: c.closed)
