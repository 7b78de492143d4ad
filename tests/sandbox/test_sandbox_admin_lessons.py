"""The sandbox obeys the rules lessons 08-11 teach, with stdlib smtplib as the client.

MX records and their preferences, the implicit MX and the null MX (RFC 5321 §5.1, RFC 7505) from the
sandbox's DNS server; relaying only after AUTH (RFC 5321 §3.6.2, 554 5.7.1 as Postfix sends it); policy
rejections as the big providers send them (RFC 7372 codes); a middlebox that strips STARTTLS (RFC 3207 §6)
and implicit TLS (RFC 8314).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator

import pytest

from smtpdbg.core.mx import resolve_exchangers
from smtpdbg.sandbox import Sandbox, SandboxConfig
from smtpdbg.sandbox.dns import DnsServer, has_null_mx, lesson_zone
from smtpdbg.sandbox.relay import is_local
from smtpdbg.sandbox.stripping import masked_command_line, masked_reply_line

TIMEOUT = 5.0
MESSAGE = b"Date: Fri, 4 Dec 2026 09:00:00 +0000\r\nFrom: alice@sandbox.smtpdbg.test\r\nSubject: t\r\n\r\nhello\r\n"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(dns=True, relay=True, provider_policy=True, strip_starttls=True, lmtp=False)
    with Sandbox(config) as sb:
        yield sb


# -- 08: finding the server --------------------------------------------------------------------------
def test_the_dns_server_gives_the_exchangers_in_preference_order(sandbox):
    best, second = resolve_exchangers("example.test", server=sandbox.endpoints.dns, timeout=TIMEOUT)
    assert (best.preference, best.host, best.addresses) == (10, "mx1.example.test", ("127.0.0.2",))
    assert (second.preference, second.host, second.addresses) == (20, "mx2.example.test", ("127.0.0.1",))


def test_the_best_exchanger_is_down_and_the_next_one_is_the_sandbox(sandbox):
    port = sandbox.endpoints.smtp[1]
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.2", port, timeout=TIMEOUT)
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as client:
        assert client.sendmail("alice@sandbox.smtpdbg.test", ["bob@example.test"], MESSAGE) == {}


def test_implicit_mx_and_null_mx(sandbox):
    (implicit,) = resolve_exchangers("implicit.example.test", server=sandbox.endpoints.dns, timeout=TIMEOUT)
    assert implicit.implicit and implicit.addresses == ("127.0.0.1",)
    with pytest.raises(Exception, match=r"null MX \(RFC 7505\)"):
        resolve_exchangers("nomail.example.test", server=sandbox.endpoints.dns, timeout=TIMEOUT)
    with pytest.raises(Exception, match="NXDOMAIN"):
        resolve_exchangers("elsewhere.test", server=sandbox.endpoints.dns, timeout=TIMEOUT)


def test_a_recipient_in_a_null_mx_domain_is_refused_with_556(client):
    client.mail("alice@sandbox.smtpdbg.test")
    code, text = client.rcpt("bob@nomail.example.test")
    assert code == 556 and text.startswith(b"5.1.10 <bob@nomail.example.test>: Recipient address rejected")
    assert has_null_mx("Bob@NoMail.Example.Test.") and not has_null_mx("bob@example.test")


def test_zone_follows_the_sandbox_address_and_the_dns_server_can_stop_early():
    zone = lesson_zone("127.0.0.2")
    assert zone[("mx1.example.test", "A")] == ["127.0.0.3"] and zone[("mx2.example.test", "A")] == ["127.0.0.2"]
    DnsServer({}).stop()  # never started: stopping is still clean


def test_the_dns_server_stops_with_the_sandbox():
    with Sandbox(SandboxConfig(dns=True, lmtp=False)) as sb:
        address = sb.endpoints.dns
        assert resolve_exchangers("example.test", server=address, timeout=TIMEOUT)
    with pytest.raises(Exception, match="DNS timed out"):
        resolve_exchangers("example.test", server=address, timeout=0.5)


def test_nothing_is_started_or_refused_unless_the_settings_ask():
    with Sandbox(SandboxConfig(lmtp=False)) as sb:
        assert sb.endpoints.dns is None and sb.endpoints.stripped is None
        with smtplib.SMTP(*sb.endpoints.smtp, timeout=TIMEOUT) as client:
            client.ehlo("client.example")
            client.mail("x@spoofed.example.test")
            assert client.rcpt("bob@nomail.example.test")[0] == 250
            assert client.rcpt("friend@elsewhere.test")[0] == 250  # no relay rule: any domain


# -- 09: submission vs relay -------------------------------------------------------------------------
def test_relaying_is_refused_without_auth_as_postfix_does(sandbox, client):
    client.mail("friend@elsewhere.test")  # any sender may deliver to the server's own domains
    assert client.rcpt("bob@sandbox.smtpdbg.test")[0] == 250
    assert client.rcpt("bob@mx2.example.test")[0] == 250  # a subdomain of a local domain is local
    assert client.rcpt("carol@elsewhere.test") == (554, b"5.7.1 <carol@elsewhere.test>: Relay access denied")
    assert client.data(MESSAGE)[0] == 250
    (message,) = sandbox.messages
    assert message.rcpt_tos == ("bob@sandbox.smtpdbg.test", "bob@mx2.example.test")


def test_relaying_is_accepted_after_auth(sandbox, client):
    client.starttls(context=sandbox.endpoints.client_ssl_context())
    client.ehlo()
    client.login(sandbox.endpoints.user, sandbox.endpoints.password)
    assert client.sendmail("alice@sandbox.smtpdbg.test", ["carol@elsewhere.test"], MESSAGE) == {}
    (message,) = sandbox.messages
    assert (message.rcpt_tos, message.auth_user, message.tls) == (("carol@elsewhere.test",), "alice", True)


def test_implicit_tls_offers_auth_at_once_and_no_starttls(sandbox):
    context = sandbox.endpoints.client_ssl_context()
    with smtplib.SMTP_SSL(*sandbox.endpoints.smtps, context=context, timeout=TIMEOUT) as client:
        client.ehlo("client.example")
        assert client.has_extn("auth") and not client.has_extn("starttls")
        client.login(sandbox.endpoints.user, sandbox.endpoints.password)
        assert client.sendmail("alice@sandbox.smtpdbg.test", ["carol@elsewhere.test"], MESSAGE) == {}


@pytest.mark.parametrize("address, local", [
    ("bob@sandbox.smtpdbg.test", True), ("bob@SANDBOX.smtpdbg.test.", True), ("bob@a.example.test", True),
    ("bob@example.test", True), ("postmaster", True), ("bob@notexample.test", False), ("bob@smtpdbg.test", False),
])
def test_local_domains(address, local):
    assert is_local(address, "sandbox.smtpdbg.test") == local


# -- 10: policy rejections -----------------------------------------------------------------------------
@pytest.mark.parametrize("domain, code, enhanced, words", [
    ("spoofed.example.test", 550, b"5.7.23", b"because of Sender Policy Framework violation"),
    ("noptr.example.test", 550, b"5.7.25", b"does not have a\n5.7.25 PTR record setup"),
    ("listed.example.test", 550, b"5.7.1", b"on our block list (S3150)"),
    ("nomail.example.test", 550, b"5.7.27", b"Sender address rejected: Domain nomail.example.test does not accept"),
])
def test_the_sender_domain_decides_the_refusal_at_rcpt(client, domain, code, enhanced, words):
    assert client.mail(f"alice@{domain}")[0] == 250
    reply = client.rcpt("bob@sandbox.smtpdbg.test")
    assert reply[0] == code and reply[1].startswith(enhanced + b" ") and words in reply[1]
    assert b"[127.0.0.1]" in reply[1] or domain in ("spoofed.example.test", "nomail.example.test")


def test_every_line_of_a_multi_line_refusal_carries_the_code(sandbox):
    import socket

    with socket.create_connection(sandbox.endpoints.smtp, timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"HELO client.example\r\nMAIL FROM:<a@noptr.example.test>\r\nRCPT TO:<bob@sandbox.smtpdbg.test>\r\n")
        reader.readline(), reader.readline()
        lines = [reader.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(reader.readline())
    assert len(lines) == 5 and all(line.startswith((b"550-5.7.25 ", b"550 5.7.25 ")) for line in lines)


def test_dmarc_refuses_a_from_domain_that_nothing_aligns_with_after_the_final_dot(sandbox, client):
    forged = MESSAGE.replace(b"From: alice@sandbox.smtpdbg.test", b"From: \"Bank\" <CEO@Bank.Example.Test>")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail("alice@sandbox.smtpdbg.test", ["bob@sandbox.smtpdbg.test"], forged)
    assert refused.value.smtp_code == 550 and refused.value.smtp_error.startswith(
        b"5.7.26 Unauthenticated email from bank.example.test is not accepted due to")
    assert client.sendmail("alice@sandbox.smtpdbg.test", ["bob@sandbox.smtpdbg.test"], MESSAGE) == {}
    assert len(sandbox.messages) == 1


# -- 11: TLS on the open internet ---------------------------------------------------------------------
def test_the_middlebox_masks_starttls_both_ways_and_the_mail_goes_in_plaintext(sandbox):
    sandbox.clear_messages()
    with smtplib.SMTP(*sandbox.endpoints.stripped, local_hostname="client.example", timeout=TIMEOUT) as client:
        client.ehlo()
        assert not client.has_extn("starttls") and client.has_extn("xxxxxxxa")
        code, text = client.docmd("STARTTLS")
        assert code == 500 and b'command "XXXXXXXX" not recognized' in text
        assert client.sendmail("alice@sandbox.smtpdbg.test", ["bob@sandbox.smtpdbg.test"], MESSAGE) == {}
    (message,) = sandbox.messages
    assert not message.tls and b"STARTTLS" not in message.content


def test_the_direct_listener_still_offers_starttls(sandbox, client):
    assert client.has_extn("starttls")
    client.starttls(context=sandbox.endpoints.client_ssl_context())
    client.ehlo()
    assert not client.has_extn("starttls")


@pytest.mark.parametrize("line, masked", [
    (b"250-STARTTLS\r\n", b"250-XXXXXXXA\r\n"), (b"250 starttls\r\n", b"250 XXXXXXXA\r\n"),
    (b"250-STARTTLSX\r\n", b"250-STARTTLSX\r\n"), (b"Subject: STARTTLS\r\n", b"Subject: STARTTLS\r\n"),
])
def test_only_the_keyword_line_is_masked(line, masked):
    assert masked_reply_line(line) == masked


def test_only_the_command_is_masked():
    assert masked_command_line(b"starttls\r\n") == b"XXXXXXXX\r\n"
    assert masked_command_line(b"STARTTLS now\r\n") == b"STARTTLS now\r\n"


def test_stopping_the_sandbox_ends_a_connection_through_the_middlebox():
    with Sandbox(SandboxConfig(strip_starttls=True, lmtp=False)) as sb:
        client = smtplib.SMTP(*sb.endpoints.stripped, timeout=TIMEOUT)
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        client.noop()
    client.close()


def test_the_cli_turns_the_lesson_settings_on_and_names_the_helpers():
    import json

    from smtpdbg.sandbox.cli import build_parser, config_from_args, describe_endpoints, endpoints_json

    args = build_parser().parse_args(["--dns", "--relay", "--provider-policy", "--strip-starttls"])
    config = config_from_args(args)
    assert (config.dns, config.relay, config.provider_policy, config.strip_starttls) == (True, True, True, True)
    default = config_from_args(build_parser().parse_args([]))
    assert not (default.dns or default.relay or default.provider_policy or default.strip_starttls)
    with Sandbox(SandboxConfig(dns=True, strip_starttls=True, lmtp=False)) as sb:
        ep = sb.endpoints
        info = json.loads(endpoints_json(ep))
        assert info["dns"] == ep.dns and info["stripped"] == "%s:%d" % ep.stripped
        lines = describe_endpoints(ep).splitlines()
        assert f"  DNS (UDP)        {ep.dns}" in lines and f"  SMTP, stripped   %s:%d" % ep.stripped in lines
