"""A certificate that fails verification: the chain the server sent is shown and can be saved (no rerun)."""

from __future__ import annotations

import datetime as dt
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
