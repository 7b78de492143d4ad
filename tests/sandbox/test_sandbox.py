"""The sandbox on the wire: banner, EHLO, TLS, AUTH, envelopes, policy replies, VRFY, LMTP.

Real sockets and real TLS against the module-scoped sandbox from conftest.py;
stdlib smtplib is the client, raw sockets where smtplib would hide the bytes.
"""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest

from smtpdbg.sandbox import Endpoints, Sandbox

HOSTNAME = "sandbox.smtpdbg.test"
BANNER = b"220 sandbox.smtpdbg.test smtpdbg sandbox\r\n"
TIMEOUT = 5.0
INVALID = (535, b"5.7.8 Authentication credentials invalid")
AUTH_METHODS = {"PLAIN": "auth_plain", "LOGIN": "auth_login", "CRAM-MD5": "auth_cram_md5"}


def authenticate(smtp: smtplib.SMTP, mechanism: str, user: str, password: str) -> tuple[int, bytes]:
    """Run exactly one SASL mechanism (smtplib.login() would pick its own)."""
    smtp.user, smtp.password = user, password
    return smtp.auth(mechanism, getattr(smtp, AUTH_METHODS[mechanism]))


def read_reply(stream) -> list[bytes]:
    """Read one (possibly multi-line) reply from a socket file."""
    lines = [stream.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(stream.readline())
    return lines


# -- banner and EHLO -----------------------------------------------------------


def test_plain_banner_is_deterministic(ep: Endpoints) -> None:
    with socket.create_connection(ep.smtp, timeout=TIMEOUT) as sock:
        assert sock.makefile("rb").readline() == BANNER


def test_smtps_banner_is_deterministic(ep: Endpoints, ca_context: ssl.SSLContext) -> None:
    with socket.create_connection(ep.smtps, timeout=TIMEOUT) as raw:
        with ca_context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            assert sock.makefile("rb").readline() == BANNER


def test_server_never_looks_up_its_fqdn(ep: Endpoints, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    monkeypatch.setattr(socket, "getfqdn", lambda *args: calls.append(args) or "machine.local")
    # local_hostname: smtplib itself would call getfqdn() for its EHLO name.
    with smtplib.SMTP(*ep.smtp, local_hostname="client.example", timeout=TIMEOUT) as smtp:
        code, text = smtp.ehlo()
    assert (code, text.splitlines()[0]) == (250, HOSTNAME.encode())
    assert calls == []


def test_ehlo_advertises_the_extensions(client: smtplib.SMTP) -> None:
    features = client.esmtp_features
    assert features["size"] == "33554432"
    # smtplib stores the AUTH value with a leading space, hence split().
    assert features["auth"].split() == ["CRAM-MD5", "LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER"]
    for keyword in ("8bitmime", "smtputf8", "starttls", "help", "dsn", "enhancedstatuscodes"):
        assert keyword in features, keyword
    assert client.ehlo_resp.splitlines()[-1] == b"HELP"  # extras go before the final line


def test_help_still_lists_the_overridden_commands(client: smtplib.SMTP) -> None:
    code, text = client.docmd("HELP")
    assert code == 250
    assert {"MAIL", "RCPT", "DATA", "VRFY", "STARTTLS"} <= set(text.decode().split(": ")[1].split())


# -- TLS ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_starttls_verifies_against_the_ca(
    ep: Endpoints, ca_context: ssl.SSLContext, host: str
) -> None:
    with smtplib.SMTP(host, ep.smtp[1], timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert smtp.starttls(context=ca_context)[0] == 220
        assert smtp.sock.version() in {"TLSv1.2", "TLSv1.3"}
        smtp.ehlo()
        assert "starttls" not in smtp.esmtp_features
        assert "auth" in smtp.esmtp_features


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_smtps_verifies_against_the_ca(
    ep: Endpoints, ca_context: ssl.SSLContext, host: str
) -> None:
    with smtplib.SMTP_SSL(host, ep.smtps[1], context=ca_context, timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert isinstance(smtp.sock, ssl.SSLSocket)
        assert "starttls" not in smtp.esmtp_features
        assert smtp.esmtp_features["auth"].split() == ["CRAM-MD5", "LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER"]


def test_certificate_also_covers_the_banner_hostname(
    ep: Endpoints, ca_context: ssl.SSLContext
) -> None:
    with socket.create_connection(ep.smtps, timeout=TIMEOUT) as raw:
        with ca_context.wrap_socket(raw, server_hostname=HOSTNAME) as sock:
            assert sock.makefile("rb").readline() == BANNER


def test_certificate_is_not_trusted_without_the_ca(ep: Endpoints) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(*ep.smtps, context=ssl.create_default_context(), timeout=TIMEOUT)


def test_endpoints_client_context_trusts_the_sandbox(ep: Endpoints) -> None:
    with smtplib.SMTP_SSL(*ep.smtps, context=ep.client_ssl_context(), timeout=TIMEOUT) as smtp:
        assert smtp.noop()[0] == 250


# -- AUTH ------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", list(AUTH_METHODS))
def test_auth_succeeds_before_starttls(client: smtplib.SMTP, ep: Endpoints, mechanism: str) -> None:
    assert authenticate(client, mechanism, ep.user, ep.password) == (
        235, b"2.7.0 Authentication successful"
    )


@pytest.mark.parametrize("mechanism", list(AUTH_METHODS))
def test_auth_succeeds_over_smtps(
    ep: Endpoints, ca_context: ssl.SSLContext, mechanism: str
) -> None:
    with smtplib.SMTP_SSL(*ep.smtps, context=ca_context, timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert authenticate(smtp, mechanism, ep.user, ep.password)[0] == 235


@pytest.mark.parametrize("mechanism", list(AUTH_METHODS))
@pytest.mark.parametrize("user, password", [("alice", "wrong"), ("mallory", "wonderland")])
def test_auth_with_wrong_credentials_is_535(
    client: smtplib.SMTP, mechanism: str, user: str, password: str
) -> None:
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        authenticate(client, mechanism, user, password)
    assert (failure.value.smtp_code, failure.value.smtp_error) == INVALID
    assert client.noop()[0] == 250  # the session is still in step


def test_cram_md5_refuses_an_initial_response(client: smtplib.SMTP) -> None:
    code, _ = client.docmd("AUTH", "CRAM-MD5 YWxpY2UgMTIz")
    assert code == 501


def test_authenticated_message_records_the_user(
    client: smtplib.SMTP, sandbox: Sandbox, ep: Endpoints
) -> None:
    authenticate(client, "PLAIN", ep.user, ep.password)
    client.sendmail("alice@example.com", ["bob@example.com"], b"Subject: a\r\n\r\nhi\r\n")
    (message,) = sandbox.wait_for_messages(1)
    assert message.auth_user == "alice"


# -- envelope and content ------------------------------------------------------


def test_message_bytes_and_envelope_are_recorded_exactly(
    client: smtplib.SMTP, sandbox: Sandbox
) -> None:
    client.mail("sender@example.com", ["BODY=8BITMIME"])
    client.rcpt("one@example.com")
    client.rcpt("two@example.com")
    assert client.docmd("DATA")[0] == 354
    # On the wire dot-stuffed (RFC 5321 4.5.2), with 8-bit bytes and a bare LF.
    client.send(b"Subject: exact\r\n\r\n..leading dot\r\ncaf\xc3\xa9\nbare LF\r\n.\r\n")
    assert client.getreply() == (250, b"2.0.0 OK: message accepted")

    (message,) = sandbox.wait_for_messages(1)
    assert message.content == b"Subject: exact\r\n\r\n.leading dot\r\ncaf\xc3\xa9\nbare LF\r\n"
    assert message.listener == "smtp"
    assert message.mail_from == "sender@example.com"
    assert message.mail_options == ("BODY=8BITMIME",)
    assert message.rcpt_tos == ("one@example.com", "two@example.com")
    assert message.rcpt_options == ((), ())
    assert message.peer == client.sock.getsockname()
    assert message.helo == "client.example"
    assert (message.tls, message.auth_user) == (False, None)


def test_sendmail_parameters_are_recorded_as_sent(client: smtplib.SMTP, sandbox: Sandbox) -> None:
    body = b"Subject: opts\r\n\r\nhello\r\n"
    client.sendmail("s@example.com", ["r@example.com"], body, mail_options=["SMTPUTF8"])
    (message,) = sandbox.wait_for_messages(1)
    # smtplib adds a lower-case SIZE; aiosmtpd would have upper-cased it.
    assert message.mail_options == (f"size={len(body)}", "SMTPUTF8")
    assert message.content == body


def test_dsn_parameters_are_accepted_when_dsn_is_advertised(
    client: smtplib.SMTP, sandbox: Sandbox
) -> None:
    assert client.docmd("MAIL", "FROM:<s@example.com> RET=HDRS ENVID=Id42")[0] == 250
    notify = "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.com"
    assert client.docmd("RCPT", f"TO:<a@example.com> {notify}")[0] == 250
    assert client.docmd("RCPT", "TO:<b@example.com>")[0] == 250
    assert client.docmd("RCPT", "TO:<c@example.com> BOGUS=1")[0] == 555
    assert client.docmd("DATA")[0] == 354
    client.send(b"Subject: dsn\r\n\r\nx\r\n.\r\n")
    assert client.getreply()[0] == 250
    (message,) = sandbox.wait_for_messages(1)
    assert message.mail_options == ("RET=HDRS", "ENVID=Id42")
    assert message.rcpt_tos == ("a@example.com", "b@example.com")
    assert message.rcpt_options == (("NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;a@example.com"), ())


def test_null_sender_is_recorded_as_empty(client: smtplib.SMTP, sandbox: Sandbox) -> None:
    client.sendmail("", ["postmaster@example.com"], b"Subject: bounce\r\n\r\nx\r\n")
    (message,) = sandbox.wait_for_messages(1)
    assert message.mail_from == ""


def test_starttls_message_is_marked_tls(
    client: smtplib.SMTP, sandbox: Sandbox, ca_context: ssl.SSLContext
) -> None:
    client.starttls(context=ca_context)
    client.ehlo("after.tls")
    client.sendmail("a@example.com", ["b@example.com"], b"Subject: t\r\n\r\nx\r\n")
    (message,) = sandbox.wait_for_messages(1)
    assert (message.listener, message.tls, message.helo) == ("smtp", True, "after.tls")


def test_smtps_message_is_marked_tls(
    ep: Endpoints, sandbox: Sandbox, ca_context: ssl.SSLContext
) -> None:
    with smtplib.SMTP_SSL(*ep.smtps, context=ca_context, timeout=TIMEOUT) as smtp:
        smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: s\r\n\r\nx\r\n")
    (message,) = sandbox.wait_for_messages(1)
    assert (message.listener, message.tls) == ("smtps", True)


# -- RCPT and DATA policy --------------------------------------------------------


@pytest.mark.parametrize(
    "address, reply",
    [
        ("reject@example.com",
         (550, b"5.1.1 <reject@example.com>: Recipient address rejected: User unknown")),
        ("blocked@example.com",
         (550, b"5.1.1 <blocked@example.com>: Recipient address rejected: User unknown")),
        ("greylist@example.com", (451, b"4.7.1 Greylisted, try again later")),
        ("Slow@Example.COM", (451, b"4.7.1 Greylisted, try again later")),
        ("full@example.com", (452, b"4.2.2 Mailbox full")),
        ("FULL@example.com", (452, b"4.2.2 Mailbox full")),
        ("anyone@example.com", (250, b"2.1.5 OK")),
        ("rejected@example.com", (250, b"2.1.5 OK")),
    ],
)
def test_rcpt_outcomes(client: smtplib.SMTP, address: str, reply: tuple[int, bytes]) -> None:
    assert client.mail("s@example.com") == (250, b"2.1.0 OK")
    assert client.rcpt(address) == reply


def test_refused_recipients_stay_out_of_the_envelope(
    client: smtplib.SMTP, sandbox: Sandbox
) -> None:
    refused = client.sendmail(
        "s@example.com", ["ok@example.com", "reject@example.com", "full@example.com"],
        b"Subject: partial\r\n\r\nx\r\n",
    )
    assert set(refused) == {"reject@example.com", "full@example.com"}
    (message,) = sandbox.wait_for_messages(1)
    assert message.rcpt_tos == ("ok@example.com",)


@pytest.mark.parametrize("header", [b"X-Sandbox-Reject: yes", b"x-sandbox-reject:YES "])
def test_reject_header_refuses_after_the_final_dot(
    client: smtplib.SMTP, sandbox: Sandbox, header: bytes
) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        body = b"Subject: no\r\n" + header + b"\r\n\r\nbody\r\n"
        client.sendmail("s@example.com", ["r@example.com"], body)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        554, b"5.6.0 Message rejected by sandbox policy"
    )
    assert client.noop()[0] == 250
    assert sandbox.messages == []


def test_reject_header_only_counts_in_the_header_section(
    client: smtplib.SMTP, sandbox: Sandbox
) -> None:
    body = b"Subject: ok\r\n\r\nX-Sandbox-Reject: yes\r\n"
    client.sendmail("s@example.com", ["r@example.com"], body)
    assert len(sandbox.wait_for_messages(1)) == 1


def test_size_limit_is_enforced_at_mail(client: smtplib.SMTP) -> None:
    assert client.docmd("MAIL", "FROM:<s@example.com> SIZE=33554433")[0] == 552


# -- VRFY --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, reply",
    [
        ("alice", (250, b"2.1.5 Alice <alice@sandbox.smtpdbg.test>")),
        ("Bob@sandbox.smtpdbg.test", (250, b"2.1.5 Bob <bob@sandbox.smtpdbg.test>")),
        ("carol@SANDBOX.smtpdbg.test", (250, b"2.1.5 Carol <carol@sandbox.smtpdbg.test>")),
        ("dave@sandbox.smtpdbg.test", (550, b"5.1.1 <dave@sandbox.smtpdbg.test>: User unknown")),
        ("dave", (550, b"5.1.1 <dave>: User unknown")),
        ("alice@example.com",
         (252, b"2.1.5 Cannot VRFY user, but will accept message and attempt delivery")),
    ],
)
def test_vrfy(client: smtplib.SMTP, address: str, reply: tuple[int, bytes]) -> None:
    assert client.verify(address) == reply


# -- LMTP --------------------------------------------------------------------------


def test_lmtp_sends_one_reply_per_recipient_after_data(ep: Endpoints, sandbox: Sandbox) -> None:
    assert ep.lmtp is not None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(ep.lmtp)
        replies = sock.makefile("rb")
        assert replies.readline() == BANNER
        sock.sendall(b"LHLO client.example\r\n")
        assert read_reply(replies)[-1] == b"250 HELP\r\n"
        for command in (b"MAIL FROM:<s@example.com>", b"RCPT TO:<a@example.com>",
                        b"RCPT TO:<full@example.com>", b"RCPT TO:<c@example.com>"):
            sock.sendall(command + b"\r\n")
            assert read_reply(replies)[0][:3] == b"250", command  # full@ only fails at DATA
        sock.sendall(b"DATA\r\n")
        assert replies.readline().startswith(b"354 ")
        sock.sendall(b"Subject: lmtp\r\n\r\nbody\r\n.\r\nNOOP\r\n")
        after_data = [replies.readline() for _ in range(4)]

    assert after_data == [
        b"250 2.0.0 <a@example.com> delivered\r\n",
        b"452 4.2.2 <full@example.com> Mailbox full\r\n",
        b"250 2.0.0 <c@example.com> delivered\r\n",
        b"250 2.0.0 OK\r\n",  # the NOOP's reply: no fourth DATA line came before it
    ]
    (message,) = sandbox.wait_for_messages(1)
    assert message.listener == "lmtp"
    assert message.rcpt_tos == ("a@example.com", "c@example.com")
    assert message.content == b"Subject: lmtp\r\n\r\nbody\r\n"
    assert (message.helo, message.tls) == ("client.example", False)


def test_lmtp_with_smtplib_reading_each_reply(ep: Endpoints) -> None:
    assert ep.lmtp is not None
    with smtplib.LMTP(ep.lmtp, timeout=TIMEOUT) as lmtp:
        lmtp.ehlo()  # smtplib.LMTP sends LHLO
        lmtp.mail("s@example.com")
        for rcpt in ("x@example.com", "full@example.com", "reject@example.com", "y@example.com"):
            lmtp.rcpt(rcpt)
        assert lmtp.docmd("DATA")[0] == 354
        lmtp.send(b"Subject: x\r\n\r\nx\r\n.\r\n")
        codes = [lmtp.getreply()[0] for _ in range(3)]  # reject@ was refused at RCPT
        assert codes == [250, 452, 250]
        assert lmtp.noop() == (250, b"2.0.0 OK")


def test_lmtp_reject_header_refuses_every_recipient(ep: Endpoints, sandbox: Sandbox) -> None:
    assert ep.lmtp is not None
    with smtplib.LMTP(ep.lmtp, timeout=TIMEOUT) as lmtp:
        lmtp.ehlo()
        lmtp.mail("s@example.com")
        lmtp.rcpt("x@example.com")
        lmtp.rcpt("y@example.com")
        lmtp.docmd("DATA")
        lmtp.send(b"X-Sandbox-Reject: yes\r\n\r\nx\r\n.\r\n")
        assert [lmtp.getreply()[0] for _ in range(2)] == [554, 554]
    assert sandbox.messages == []
