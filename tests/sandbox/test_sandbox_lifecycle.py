"""Sandbox life cycle and configuration: ports, start/stop, clean-up, options, quietness.

These start their own sandboxes (the module one from conftest.py is shared by
tests that only need a running server).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpdbg.sandbox import Endpoints, ReceivedMessage, Sandbox, SandboxConfig
from smtpdbg.sandbox.controllers import listening_socket

TIMEOUT = 5.0
BANNER = b"220 sandbox.smtpdbg.test smtpdbg sandbox\r\n"


def banner(address: tuple[str, int]) -> bytes:
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        return sock.makefile("rb").readline()


def sandbox_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("smtpdbg-*")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def strict() -> Iterator[Sandbox]:
    """AUTH only after STARTTLS, a tiny SIZE, no LMTP, no extra extensions."""
    with Sandbox(SandboxConfig(auth_require_tls=True, data_size_limit=1000, lmtp=False)) as sb:
        yield sb


# -- ports -------------------------------------------------------------------------


def test_port_zero_gives_distinct_real_ports_to_concurrent_sandboxes(sandbox: Sandbox) -> None:
    # aio-libs/aiosmtpd#388: a stock Controller(port=0) cannot even start.
    with Sandbox() as other:
        ports = [sandbox.endpoints.smtp[1], sandbox.endpoints.smtps[1],
                 other.endpoints.smtp[1], other.endpoints.smtps[1]]
        assert 0 not in ports
        assert len(set(ports)) == 4
        assert banner(other.endpoints.smtp) == banner(sandbox.endpoints.smtp) == BANNER
        assert other.endpoints.lmtp != sandbox.endpoints.lmtp


def test_fixed_ports_are_honoured() -> None:
    smtp_port, smtps_port = free_port(), free_port()
    with Sandbox(SandboxConfig(smtp_port=smtp_port, smtps_port=smtps_port, lmtp=False)) as sb:
        assert sb.endpoints.smtp == ("127.0.0.1", smtp_port)
        assert sb.endpoints.smtps == ("127.0.0.1", smtps_port)
        assert banner(sb.endpoints.smtp) == BANNER


def test_busy_port_fails_start_and_leaves_nothing_behind(sandbox: Sandbox) -> None:
    before = sandbox_dirs()
    sb = Sandbox(SandboxConfig(smtp_port=sandbox.endpoints.smtp[1]))
    with pytest.raises(OSError):
        sb.start()
    assert not sb.running
    assert sandbox_dirs() == before
    assert banner(sandbox.endpoints.smtp) == BANNER  # the owner of the port is unharmed


def test_accepted_connections_get_tcp_nodelay() -> None:
    # asyncio only sets TCP_NODELAY when the accepted socket's proto is IPPROTO_TCP;
    # without it multi-line replies crawl at one delayed ACK (~40 ms) per line.
    with listening_socket("127.0.0.1", 0) as server:
        with socket.create_connection(server.getsockname(), timeout=TIMEOUT):
            accepted, _ = server.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP


# -- start and stop ---------------------------------------------------------------


def test_stop_cleans_up_and_is_idempotent() -> None:
    threads_before = set(threading.enumerate())
    sb = Sandbox()
    ep = sb.start()
    directory = Path(ep.ca_path).parent
    assert Path(ep.ca_path).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert ep.lmtp is not None and Path(ep.lmtp).is_socket()
    assert oct(directory.stat().st_mode & 0o777) == oct(0o700)

    sb.stop()
    sb.stop()
    assert not directory.exists()
    assert not sb.running
    assert set(threading.enumerate()) <= threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(ep.smtp, timeout=TIMEOUT)
    with pytest.raises(RuntimeError):
        sb.endpoints


def test_sandbox_restarts_after_stop() -> None:
    sb = Sandbox(SandboxConfig(lmtp=False))
    with sb:
        first = sb.endpoints
    with sb:
        assert banner(sb.endpoints.smtp) == BANNER
        assert sb.endpoints.ca_path != first.ca_path


def test_start_twice_is_an_error(sandbox: Sandbox) -> None:
    with pytest.raises(RuntimeError):
        sandbox.start()


def test_stop_drops_open_sessions() -> None:
    sb = Sandbox(SandboxConfig(lmtp=False))
    ep = sb.start()
    plain = smtplib.SMTP(*ep.smtp, local_hostname="c", timeout=TIMEOUT)
    secure = smtplib.SMTP_SSL(*ep.smtps, local_hostname="c", timeout=TIMEOUT,
                              context=ep.client_ssl_context())
    plain.ehlo()
    secure.ehlo()
    sb.stop()
    for client in (plain, secure):
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
        client.close()


def test_banner_delay_tarpits_the_banner() -> None:
    with Sandbox(SandboxConfig(banner_delay=0.6, lmtp=False)) as sb:
        with socket.create_connection(sb.endpoints.smtp, timeout=0.2) as sock:
            with pytest.raises(socket.timeout):
                sock.recv(100)  # nothing yet, 0.2 s into a 0.6 s tarpit
            sock.settimeout(TIMEOUT)
            assert sock.makefile("rb").readline() == BANNER


# -- configuration ------------------------------------------------------------------


def test_auth_require_tls_hides_auth_until_starttls(strict: Sandbox) -> None:
    ep = strict.endpoints
    with smtplib.SMTP(*ep.smtp, local_hostname="c", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert "auth" not in smtp.esmtp_features
        assert smtp.docmd("AUTH", "PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")[0] == 538
        smtp.starttls(context=ep.client_ssl_context())
        smtp.ehlo()
        assert smtp.esmtp_features["auth"].split() == ["CRAM-MD5", "LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER"]
        assert smtp.login(ep.user, ep.password)[0] == 235


def test_auth_require_tls_still_offers_auth_on_smtps(strict: Sandbox) -> None:
    # aio-libs/aiosmtpd#281: stock aiosmtpd never offers AUTH on implicit TLS.
    ep = strict.endpoints
    with smtplib.SMTP_SSL(*ep.smtps, context=ep.client_ssl_context(), timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert "auth" in smtp.esmtp_features
        assert smtp.login(ep.user, ep.password)[0] == 235


def test_defaults_advertise_no_extras_and_refuse_their_parameters(strict: Sandbox) -> None:
    with smtplib.SMTP(*strict.endpoints.smtp, local_hostname="c", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert "dsn" not in smtp.esmtp_features
        assert "mt-priority" not in smtp.esmtp_features
        assert smtp.mail("s@example.com")[0] == 250
        assert smtp.docmd("RCPT", "TO:<r@example.com> NOTIFY=NEVER")[0] == 555


def test_data_size_limit_is_advertised_and_enforced(strict: Sandbox) -> None:
    with smtplib.SMTP(*strict.endpoints.smtp, local_hostname="c", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == "1000"
        smtp.mail("s@example.com")
        smtp.rcpt("r@example.com")
        assert smtp.docmd("DATA")[0] == 354
        smtp.send(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 20 + b".\r\n")
        assert smtp.getreply()[0] == 552
    assert strict.messages == []


def test_lmtp_can_be_turned_off(strict: Sandbox) -> None:
    assert strict.endpoints.lmtp is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "localhost", ""])
def test_only_loopback_addresses_are_allowed(host: str) -> None:
    with pytest.raises(ValueError):
        SandboxConfig(host=host)


def test_ipv6_loopback_listener() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    sb = Sandbox(SandboxConfig(host="::1", lmtp=False))
    try:
        ep = sb.start()
    except OSError as error:
        pytest.skip(f"no ::1 on this machine: {error}")
    try:
        assert ep.smtp[0] == "::1"
        with smtplib.SMTP_SSL(*ep.smtps, context=ep.client_ssl_context(), timeout=TIMEOUT) as smtp:
            assert smtp.noop()[0] == 250
    finally:
        sb.stop()


def test_recipient_lists_are_normalised() -> None:
    cfg = SandboxConfig(reject=["A@Example.COM"], greylist={"B@x.test"})  # type: ignore[arg-type]
    assert (cfg.reject, cfg.greylist) == (frozenset({"a@example.com"}), frozenset({"b@x.test"}))


def test_custom_identity_and_credentials() -> None:
    cfg = SandboxConfig(hostname="mx.example.test", ident="ESMTP lab", user="bob", password="pw",
                        lmtp=False)
    with Sandbox(cfg) as sb:
        ep = sb.endpoints
        assert (ep.hostname, ep.user, ep.password) == ("mx.example.test", "bob", "pw")
        assert banner(ep.smtp) == b"220 mx.example.test ESMTP lab\r\n"
        ctx = ssl.create_default_context(cafile=ep.ca_path)
        with socket.create_connection(ep.smtps, timeout=TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="mx.example.test") as sock:
                assert sock.makefile("rb").readline() == b"220 mx.example.test ESMTP lab\r\n"
        with smtplib.SMTP(*ep.smtp, local_hostname="c", timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            assert smtp.login("bob", "pw")[0] == 235
            assert smtp.verify("bob") == (250, b"2.1.5 Bob <bob@mx.example.test>")


# -- message log --------------------------------------------------------------------


def test_on_message_callback_and_wait() -> None:
    seen: list[ReceivedMessage] = []
    with Sandbox(SandboxConfig(lmtp=False), on_message=seen.append) as sb:
        with smtplib.SMTP(*sb.endpoints.smtp, local_hostname="c", timeout=TIMEOUT) as smtp:
            smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: 1\r\n\r\nx\r\n")
            smtp.sendmail("a@example.com", ["c@example.com"], b"Subject: 2\r\n\r\nx\r\n")
        messages = sb.wait_for_messages(2)
        assert [m.rcpt_tos for m in messages] == [("b@example.com",), ("c@example.com",)]
        assert seen == messages
        with pytest.raises(TimeoutError):
            sb.wait_for_messages(3, timeout=0.05)
        sb.clear_messages()
        assert sb.messages == []


def test_received_message_is_frozen(sandbox: Sandbox, ep: Endpoints) -> None:
    with smtplib.SMTP(*ep.smtp, local_hostname="c", timeout=TIMEOUT) as smtp:
        smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: f\r\n\r\nx\r\n")
    (message,) = sandbox.wait_for_messages(1)
    with pytest.raises(AttributeError):
        message.content = b""  # type: ignore[misc]


# -- an embedded server stays quiet and UI-free ---------------------------------------

QUIET_SCRIPT = """
import logging, smtplib, ssl, sys
logging.basicConfig(level=logging.DEBUG)  # an app that sends every log record to stderr
from smtpdbg.sandbox import Sandbox
with Sandbox() as sb:
    ep = sb.endpoints
    with smtplib.SMTP(*ep.smtp, local_hostname="c", timeout=5) as smtp:
        smtp.login(ep.user, ep.password)  # aiosmtpd logs a deprecation warning on AUTH
        smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: q\\r\\n\\r\\nx\\r\\n")
    with smtplib.SMTP(*ep.smtp, local_hostname="c", timeout=5) as smtp:
        try:
            smtp.starttls(context=ssl.create_default_context())  # CA not trusted
        except ssl.SSLError:
            pass
        else:
            sys.exit("STARTTLS should have failed")
# aiosmtpd's PROXY parser warns on the "mail.debug" logger about a bad header.
import socket
from smtpdbg.sandbox import SandboxConfig
with Sandbox(SandboxConfig(proxy_protocol=True, lmtp=False)) as sb:
    with socket.create_connection(sb.endpoints.smtp, timeout=5) as sock:
        sock.sendall(b"EHLO not-a-proxy-header\\r\\n")
        assert sock.recv(200).startswith(b"421 ")
# aiosmtpd both warns (UserWarning) and logs when asked to require AUTH without TLS.
import asyncio
from aiosmtpd.smtp import SMTP
loop = asyncio.new_event_loop()
SMTP(None, hostname="x", auth_required=True, auth_require_tls=False, loop=loop)
loop.close()
print("ok", end="")
"""


def test_embedded_sandbox_writes_nothing_to_stderr(child_env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-W", "default", "-c", QUIET_SCRIPT], env=child_env,
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "ok"), done.stderr
    # asyncio's selector notice comes from the app's own DEBUG logging, not from us.
    noise = [line for line in done.stderr.splitlines()
             if not line.startswith("DEBUG:asyncio:Using selector")]
    assert noise == []


def test_sandbox_never_imports_a_ui_library(child_env: dict[str, str]) -> None:
    script = (
        "import sys\n"
        "import smtpdbg.sandbox.cli\n"
        "assert 'aiosmtpd' not in sys.modules, 'the CLI module must import aiosmtpd lazily'\n"
        "from smtpdbg.sandbox import Sandbox\n"
        "with Sandbox():\n"
        "    pass\n"
        "print(sorted(m for m in ('textual', 'prompt_toolkit', 'rich') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=child_env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
