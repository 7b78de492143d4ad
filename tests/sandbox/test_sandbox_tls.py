"""What the server sees of a client's TLS options: SNI, client certificates, TLS version.

Client certificates come from a second trustme CA that the tests create (the
"client CA"), written to a PEM file and given to the sandbox as ``client_ca``.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig

HOSTNAME = "sandbox.smtpdbg.test"


def send_message(w) -> None:
    w.send(b"MAIL FROM:<s@example.com>\r\nRCPT TO:<r@example.com>\r\nBDAT 3 LAST\r\nx\r\n")
    assert [w.reply() for _ in range(3)][-1] == "250 2.0.0 OK: message accepted"


# -- SNI -----------------------------------------------------------------------------------


@pytest.mark.parametrize("server_hostname, sni", [
    ("localhost", "localhost"),
    (HOSTNAME, HOSTNAME),  # a verification name different from the address connected to
    ("127.0.0.1", None),  # clients send no SNI for an IP address
])
def test_starttls_sni_is_recorded(ep: Endpoints, sandbox: Sandbox, wire, ca_context: ssl.SSLContext,
                                  server_hostname: str, sni: str | None) -> None:
    w = wire(ep.smtp)
    w.ehlo()
    w.starttls(ca_context, server_hostname)
    w.ehlo()
    send_message(w)
    (message,) = sandbox.wait_for_messages(1)
    (connection,) = sandbox.connections
    assert message.sni == connection.sni == sni
    assert connection.tls and connection.tls_version in {"TLSv1.2", "TLSv1.3"}
    assert message.client_cert is None


def test_smtps_sni_is_recorded(ep: Endpoints, sandbox: Sandbox, wire, ca_context: ssl.SSLContext) -> None:
    w = wire(ep.smtps, tls=ca_context, server_hostname=HOSTNAME)
    w.ehlo()
    send_message(w)
    assert sandbox.wait_for_messages(1)[0].sni == HOSTNAME


def test_plain_connections_have_no_tls_facts(ep: Endpoints, sandbox: Sandbox, wire) -> None:
    w = wire(ep.smtp)
    w.ehlo()
    send_message(w)
    (message,) = sandbox.wait_for_messages(1)
    (connection,) = sandbox.connections
    assert (message.tls, message.sni, message.client_cert) == (False, None, None)
    assert (connection.tls, connection.tls_version, connection.sni) == (False, None, None)


# -- client certificates ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA(organization_name="smtpdbg test clients")
    path = tmp_path_factory.mktemp("client-ca") / "clients.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture(scope="module")
def mutual(client_ca) -> Iterator[Sandbox]:
    """A sandbox that asks TLS clients for a certificate from the client CA."""
    with Sandbox(SandboxConfig(client_ca=str(client_ca[1]), lmtp=False)) as sb:
        yield sb


@pytest.fixture
def mtls(mutual: Sandbox) -> Sandbox:
    mutual.clear_messages()
    mutual.clear_connections()
    return mutual


def context_with(sb: Sandbox, leaf: trustme.LeafCert | None) -> ssl.SSLContext:
    context = sb.endpoints.client_ssl_context()
    if leaf is not None:
        leaf.configure_cert(context)
    return context


@pytest.mark.parametrize("issue, name", [
    (lambda ca: ca.issue_cert("client@example"), "client@example"),  # no CN: the SAN names it
    (lambda ca: ca.issue_cert("client.example", common_name="Client One"), "Client One"),
])
def test_starttls_client_certificate_is_recorded(mtls: Sandbox, wire, client_ca, issue, name) -> None:
    w = wire(mtls.endpoints.smtp)
    w.ehlo()
    w.starttls(context_with(mtls, issue(client_ca[0])), "localhost")
    w.ehlo()
    send_message(w)
    (message,) = mtls.wait_for_messages(1)
    assert message.client_cert == name
    assert mtls.connections[0].client_cert == name


def test_smtps_client_certificate_is_recorded(mtls: Sandbox, wire, client_ca) -> None:
    context = context_with(mtls, client_ca[0].issue_cert("robot@example"))
    w = wire(mtls.endpoints.smtps, tls=context, server_hostname="localhost")
    w.ehlo()
    send_message(w)
    assert mtls.wait_for_messages(1)[0].client_cert == "robot@example"


def test_a_client_without_a_certificate_still_gets_in(mtls: Sandbox, wire) -> None:
    w = wire(mtls.endpoints.smtps, tls=context_with(mtls, None), server_hostname="localhost")
    w.ehlo()
    send_message(w)
    assert mtls.wait_for_messages(1)[0].client_cert is None


def test_a_certificate_from_another_ca_fails_the_handshake(mtls: Sandbox, wire) -> None:
    stranger = trustme.CA().issue_cert("stranger@example")
    w = wire(mtls.endpoints.smtp)
    w.ehlo()
    with pytest.raises((ssl.SSLError, ConnectionError)):
        # With TLS 1.3 the client finishes first and hears of the refusal on its next read.
        w.starttls(context_with(mtls, stranger), "localhost")
        w.ehlo()
    assert mtls.messages == []
    assert mtls.wait_for_connections(1, where=lambda c: c.closed)[0].client_cert is None


def test_without_client_ca_no_certificate_is_asked_for(ep: Endpoints, sandbox: Sandbox, wire,
                                                       client_ca) -> None:
    context = ep.client_ssl_context()
    client_ca[0].issue_cert("client@example").configure_cert(context)
    w = wire(ep.smtps, tls=context, server_hostname="localhost")
    w.ehlo()
    send_message(w)
    assert sandbox.wait_for_messages(1)[0].client_cert is None


def test_a_missing_client_ca_file_fails_start(tmp_path: Path) -> None:
    sb = Sandbox(SandboxConfig(client_ca=str(tmp_path / "nope.pem"), lmtp=False))
    with pytest.raises(OSError):
        sb.start()
    assert not sb.running


@pytest.mark.parametrize(("target", "name"), [("mx:example.test#2", "mx2.example.test"),
                                              ("mx:implicit.example.test", "implicit.example.test")])
def test_starttls_verifies_for_the_lesson_dns_names_of_the_sandbox(target, name):
    """Lesson 08: the zone's names that lead to the sandbox are in its certificate, as a real MX's would be."""
    from smtpdbg.core.lessons import find_lesson, lesson_options, lesson_target
    from smtpdbg.core.session import Session, SessionOptions

    lesson = find_lesson("finding-the-server")
    with Sandbox(SandboxConfig(**lesson.sandbox)) as sandbox:
        endpoints = sandbox.endpoints
        session = Session(lesson_target(lesson, endpoints), lesson_options(SessionOptions(timeout=10), endpoints))
        try:
            for command in (f"connect {target}", "ehlo client.example", "starttls"):
                outcome = session.execute(command)
                assert outcome.ok, (command, outcome)
            tls = session.state.tls
            assert tls is not None and tls.verified and tls.server_name == name
        finally:
            session.shutdown()
