"""A certificate that fails verification: the chain the server sent is shown and can be saved (no rerun)."""

from __future__ import annotations

import datetime as dt
import socket
import ssl

import pytest
import trustme

from smtpdbg.cli import main
from tests.servers import FakeServer


def _implicit_tls(cert: trustme.LeafCert):
    """A server speaking TLS on connect with ``cert``; the client is expected to give up during the handshake."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)

    def behaviour(conn) -> None:
        try:
            with context.wrap_socket(conn.sock, server_side=True) as tls_sock:
                tls_sock.sendall(b"220 tls.test ESMTP\r\n")
                tls_sock.recv(1024)
        except (ssl.SSLError, OSError):
            pass

    return FakeServer(behaviour)


def _send(capsys, target: str, *words: str) -> tuple[int, str]:
    code = main(["send", "bob@example.org", target, "--tls-on-connect", "--helo", "c.test", "--from", "a@example.org",
                 "--timeout", "10", *words])
    return code, capsys.readouterr().out


def _first_der(path) -> bytes:
    pem = path.read_text()
    return ssl.PEM_cert_to_DER_cert(pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")


@pytest.mark.parametrize("case", ["untrusted CA", "wrong name", "expired"])
def test_a_rejected_certificate_is_shown_and_saved(capsys, tmp_path, case) -> None:
    ca = trustme.CA()
    past = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    names = ("elsewhere.test",) if case == "wrong name" else ("127.0.0.1",)
    cert = ca.issue_cert(*names, not_after=past, not_before=past - dt.timedelta(days=30)) if case == "expired" \
        else ca.issue_cert(*names)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    trust = [] if case == "untrusted CA" else ["--ca", str(ca_file)]
    saved = tmp_path / "peer.pem"
    with _implicit_tls(cert) as server:
        code, out = _send(capsys, server.target, *trust, "--tls-get-peer-cert", str(saved))
    assert code != 0
    assert "the certificate chain the server sent" in out and "NOT trusted" in out
    assert "TLS established" not in out  # nothing was sent over the look at the certificate
    shown = [line for line in out.splitlines() if "#1 subject" in line]
    assert shown and (names[0] in shown[0]) and "SHA-256" in shown[0]
    if case == "expired":
        assert "2020-01-01" in shown[0] and "days left" in shown[0]
    assert _first_der(saved) == ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    assert saved.stat().st_mode & 0o777 == 0o600


def test_save_cert_writes_the_chain_of_the_last_handshake(make_session, endpoints, tmp_path) -> None:
    """``save cert FILE`` at the prompt: nothing before TLS; after STARTTLS the certificate the server sent."""
    from smtpdbg.core.completion import complete

    session = make_session()
    assert session.execute("connect").ok
    path = tmp_path / "cert.pem"
    before = session.execute(f"save cert {path}")
    assert not before.ok and not path.exists()
    assert session.execute("ehlo").ok and session.execute("starttls").ok
    saved = session.execute(f"save cert {path}")
    assert saved.ok, saved
    assert path.stat().st_mode & 0o777 == 0o600
    context = ssl.create_default_context(cafile=endpoints.ca_path)
    with socket.create_connection(endpoints.smtps, timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=endpoints.smtps[0]) as client:
        assert _first_der(path) == client.getpeercert(binary_form=True)
    assert "cert" in [c.text for c in complete("save c").candidates]


def test_save_cert_after_a_failed_verification(make_session, tmp_path) -> None:
    session = make_session(ca=None)
    assert session.execute("connect").ok and session.execute("ehlo").ok
    assert not session.execute("starttls").ok  # the sandbox's CA is not trusted
    path = tmp_path / "cert.pem"
    assert session.execute(f"save cert {path}").ok
    assert path.read_text().startswith("-----BEGIN CERTIFICATE-----")
