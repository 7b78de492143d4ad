"""The sandbox obeys the rules its lessons teach; stdlib smtplib is the client."""

from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage

import pytest

from smtpdbg.sandbox import Endpoints, Sandbox
from smtpdbg.sandbox.replies import with_enhanced_code

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


ENHANCED_TEXT = re.compile(rb"^[245]\.\d{1,3}\.\d{1,3}( |\r\n)")


def test_every_reply_but_the_greeting_and_ehlo_carries_an_enhanced_code(ep: Endpoints) -> None:
    """RFC 2034 §3, on the raw wire: aiosmtpd's own replies (NOOP, RSET, 500, 503, HELP, QUIT) and the sandbox's."""
    with socket.create_connection(ep.smtp, timeout=10) as sock:
        reader = sock.makefile("rb")
        greeting = reader.readline()
        assert greeting.startswith(b"220 ") and not ENHANCED_TEXT.match(greeting[4:])
        sock.sendall(b"EHLO c.example\r\n")
        while (line := reader.readline())[3:4] == b"-":
            assert not ENHANCED_TEXT.match(line[4:])  # the EHLO reply lists keywords, no codes
        commands = [b"NOOP", b"FOO", b"RCPT TO:<a@example.org>", b"MAIL FROM:<s@example.org>",
                    b"MAIL FROM:<s@example.org>", b"RCPT TO:<bob@example.org>", b"RSET", b"VRFY nobody", b"HELP",
                    b"DATA", b"QUIT"]
        for command in commands:
            sock.sendall(command + b"\r\n")
            reply = reader.readline()
            assert ENHANCED_TEXT.match(reply[4:]), (command, reply)
            assert reply[4:5] == reply[:1], (command, reply)  # the classes agree (RFC 3463 §2)


def test_starttls_is_answered_with_an_enhanced_code(ep: Endpoints) -> None:
    with smtplib.SMTP(*ep.smtp, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.starttls(context=ep.client_ssl_context()) == (220, b"2.0.0 Ready to start TLS")


@pytest.mark.parametrize(("line", "expected"), [
    ("250 OK", "250 2.0.0 OK"),
    ("250 2.1.5 OK", "250 2.1.5 OK"),
    ("503 Error: need MAIL command", "503 5.5.1 Error: need MAIL command"),
    ("354 End data with <CR><LF>.<CR><LF>", "354 End data with <CR><LF>.<CR><LF>"),
    ("334 VXNlcm5hbWU6", "334 VXNlcm5hbWU6"),
    ("220 sandbox.smtpdbg.test ready", "220 sandbox.smtpdbg.test ready"),
    ("221", "221 2.0.0"),
    ("not a reply", "not a reply"),
])
def test_enhanced_codes_are_added_only_where_missing(line: str, expected: str) -> None:
    assert with_enhanced_code(line) == expected
