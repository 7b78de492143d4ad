"""The sandbox obeys the rules its lessons teach; stdlib smtplib is the client."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from email.message import EmailMessage

import pytest

from smtpdbg.sandbox import Endpoints, Sandbox

TIMEOUT = 5.0


def test_auth_inside_a_transaction_is_503(client: smtplib.SMTP, ep: Endpoints) -> None:
    """RFC 4954 §4: AUTH during a mail transaction MUST be rejected with 503."""
    assert client.mail("a@example.com")[0] == 250
    code, text = client.docmd("AUTH", "PLAIN " + _plain(ep.user, ep.password))
    assert (code, text[:5]) == (503, b"5.5.1")
    client.rset()
    assert client.docmd("AUTH", "PLAIN " + _plain(ep.user, ep.password))[0] == 235


def test_auth_after_a_successful_auth_is_503(client: smtplib.SMTP, ep: Endpoints) -> None:
    client.login(ep.user, ep.password)
    assert client.docmd("AUTH", "PLAIN " + _plain(ep.user, ep.password))[0] == 503


def test_wrong_password_is_535(client: smtplib.SMTP, ep: Endpoints) -> None:
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        client.login(ep.user, "not-the-password")
    assert failure.value.smtp_code == 535


def test_auth_login_prompts_are_the_de_facto_ones(client: smtplib.SMTP) -> None:
    code, challenge = client.docmd("AUTH", "LOGIN")
    assert (code, challenge) == (334, b"VXNlcm5hbWU6")
    assert base64.b64decode(challenge) == b"Username:"
    code, challenge = client.docmd(base64.b64encode(b"alice").decode())
    assert (code, base64.b64decode(challenge)) == (334, b"Password:")
    client.docmd("*")


def test_starttls_under_tls_is_refused_and_no_longer_offered(ep: Endpoints) -> None:
    """RFC 3207 §4.2: after the handshake EHLO must not offer STARTTLS; asking again is out of sequence."""
    context = ssl.create_default_context(cafile=ep.ca_path)
    with smtplib.SMTP(*ep.smtp, local_hostname="client.example", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        smtp.starttls(context=context)
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        assert smtp.docmd("STARTTLS")[0] == 503
        assert smtp.noop()[0] == 250  # the connection carries on


@pytest.mark.parametrize("listener", ["smtp", "lmtp"])
def test_pipelining_and_enhanced_codes_are_advertised(ep: Endpoints, listener: str) -> None:
    """RFC 2033 §5: an LMTP server must offer both; the sandbox's replies carry enhanced codes."""
    if listener == "lmtp":
        smtp: smtplib.SMTP = smtplib.LMTP(ep.lmtp, timeout=TIMEOUT)
        smtp.ehlo_or_helo_if_needed()
    else:
        smtp = smtplib.SMTP(*ep.smtp, local_hostname="client.example", timeout=TIMEOUT)
        smtp.ehlo()
    with smtp:
        assert smtp.has_extn("pipelining")
        assert smtp.has_extn("enhancedstatuscodes")
        assert smtp.mail("a@example.com")[1].startswith(b"2.1.0")


def test_pipelined_commands_get_their_replies_in_order(ep: Endpoints, sandbox: Sandbox) -> None:
    """RFC 2920: MAIL, RCPT, RCPT and DATA written at once; one reply each, in order."""
    with socket.create_connection(ep.smtp, timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        sock.sendall(b"EHLO client.example\r\n")
        while not reader.readline().startswith(b"250 "):
            pass
        sock.sendall(
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
            b"RCPT TO:<reject@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n"
        )
        codes = [reader.readline()[:3] for _ in range(5)]
        assert codes == [b"250", b"250", b"550", b"250", b"354"]
        sock.sendall(b"Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        assert reader.readline()[:3] == b"250"
        assert reader.readline()[:3] == b"221"
    (message,) = sandbox.wait_for_messages(1)
    assert message.rcpt_tos == ("b@example.com", "c@example.com")


def test_delivery_adds_return_path_and_received(client: smtplib.SMTP, sandbox: Sandbox, ep: Endpoints) -> None:
    """RFC 5321 §4.4: the stored message starts with Return-Path and a Received trace line."""
    message = EmailMessage()
    message["From"] = "Alice <alice@example.com>"
    message["To"] = "bob@example.com"
    message["Bcc"] = "carol@example.com"
    message["Subject"] = "hello"
    message.set_content("hi")
    client.send_message(message, from_addr="bounces@example.com")
    (stored,) = sandbox.wait_for_messages(1)
    assert stored.rcpt_tos == ("bob@example.com", "carol@example.com")
    assert b"Bcc" not in stored.content  # send_message strips it
    lines = stored.stored.split(b"\r\n")
    assert lines[0] == b"Return-Path: <bounces@example.com>"
    assert lines[1] == b"Received: from client.example ([127.0.0.1])"
    assert lines[2].startswith(b"\tby " + ep.hostname.encode() + b" with ESMTP id ")
    assert b"for <" not in stored.trace  # two recipients: the Bcc one is not revealed
    assert stored.stored.endswith(stored.content)


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def test_smtps_offers_no_starttls_and_refuses_it_as_out_of_sequence(ep: Endpoints) -> None:
    with smtplib.SMTP_SSL(*ep.smtps, context=ssl.create_default_context(cafile=ep.ca_path), timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        assert smtp.docmd("STARTTLS")[0] == 503
