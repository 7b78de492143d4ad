"""The sandbox's lesson modes against stdlib smtplib: the DNS zone of the MX lesson (RFC 5321 §5.1, RFC 7505),
the relay rule (RFC 5321 §3.6.2), the providers' policy rejections (RFC 7208, RFC 7372, RFC 7489, RFC 7505) and
the STARTTLS-stripping middlebox (RFC 3207 §6)."""

from __future__ import annotations

import smtplib
import ssl

import dns.resolver
import pytest

from smtpdbg.sandbox import Sandbox, SandboxConfig
from smtpdbg.sandbox.dns import DnsServer, lesson_zone

DATE = "Date: Fri, 4 Dec 2026 11:00:00 +0000\r\n"


@pytest.fixture(scope="module")
def lab():
    sandbox = Sandbox(SandboxConfig(dns=True, relay=True, provider_policy=True, strip_starttls=True))
    endpoints = sandbox.start()
    yield sandbox, endpoints
    sandbox.stop()


def resolver_for(address: str) -> dns.resolver.Resolver:
    host, port = address.rsplit(":", 1)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [host], int(port), 3
    return resolver


def smtp(endpoints) -> smtplib.SMTP:
    client = smtplib.SMTP(*endpoints.smtp, timeout=10)
    client.ehlo("client.example")
    return client


# --- the DNS zone (RFC 5321 §5.1, RFC 7505) ---

def test_mx_records_have_preferences_and_the_backup_is_the_sandbox(lab):
    _, ep = lab
    resolver = resolver_for(ep.dns)
    answer = sorted((r.preference, r.exchange.to_text()) for r in resolver.resolve("example.test", "MX"))
    assert answer == [(10, "mx1.example.test."), (20, "mx2.example.test.")]
    assert [r.to_text() for r in resolver.resolve("mx2.example.test", "A")] == [ep.smtp[0]]
    assert [r.to_text() for r in resolver.resolve("mx1.example.test", "A")] != [ep.smtp[0]]


def test_a_domain_without_mx_has_an_address_the_implicit_mx(lab):
    resolver = resolver_for(lab[1].dns)
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("implicit.example.test", "MX")
    assert [r.to_text() for r in resolver.resolve("implicit.example.test", "A")] == [lab[1].smtp[0]]


def test_null_mx_is_preference_0_and_the_root(lab):
    answer = list(resolver_for(lab[1].dns).resolve("nomail.example.test", "MX"))
    assert [(r.preference, r.exchange.to_text()) for r in answer] == [(0, ".")]


def test_unknown_names_are_nxdomain(lab):
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver_for(lab[1].dns).resolve("nowhere.example.test", "MX")


def test_the_dns_server_is_stopped_with_the_sandbox():
    sandbox = Sandbox(SandboxConfig(dns=True))
    ep = sandbox.start()
    sandbox.stop()
    with pytest.raises(dns.exception.DNSException):
        resolver_for(ep.dns).resolve("example.test", "MX", lifetime=0.5)


def test_recipient_in_a_null_mx_domain_is_refused_556_5_1_10(lab):
    with smtp(lab[1]) as client:
        client.mail("alice@sandbox.smtpdbg.test")
        code, text = client.rcpt("bob@nomail.example.test")
    assert code == 556 and text.startswith(b"5.1.10 ")


def test_tests_dns_server_is_the_sandbox_one():
    from tests.dns_server import DnsServer as TestDns

    assert TestDns is DnsServer
    with DnsServer(lesson_zone()) as server:
        assert server.address.startswith("127.0.0.1:")


# --- relaying (RFC 5321 §3.6.2, RFC 6409) ---

def test_relay_to_another_domain_is_denied_without_auth(lab):
    with smtp(lab[1]) as client:
        client.mail("alice@sandbox.smtpdbg.test")
        assert client.rcpt("friend@elsewhere.test") == (554, b"5.7.1 <friend@elsewhere.test>: Relay access denied")


def test_local_domains_are_accepted_from_anyone(lab):
    with smtp(lab[1]) as client:
        client.mail("someone@elsewhere.test")
        assert client.rcpt("bob@sandbox.smtpdbg.test")[0] == 250
        assert client.rcpt("bob@example.test")[0] == 250


def test_relay_is_accepted_after_auth(lab):
    _, ep = lab
    with smtplib.SMTP(*ep.smtp, timeout=10) as client:
        client.starttls(context=ep.client_ssl_context())
        client.ehlo("client.example")
        client.login(ep.user, ep.password)
        client.mail("alice@sandbox.smtpdbg.test")
        assert client.rcpt("friend@elsewhere.test")[0] == 250


def test_without_relay_mode_any_domain_is_accepted():
    sandbox = Sandbox(SandboxConfig())
    ep = sandbox.start()
    try:
        with smtp(ep) as client:
            client.mail("alice@sandbox.smtpdbg.test")
            assert client.rcpt("friend@elsewhere.test")[0] == 250
    finally:
        sandbox.stop()


# --- the providers' policy rejections ---

@pytest.mark.parametrize(("sender", "code", "enhanced"), [
    ("x@spoofed.example.test", 550, b"5.7.23"),
    ("x@noptr.example.test", 550, b"5.7.25"),
    ("x@listed.example.test", 550, b"5.7.1"),
    ("x@nomail.example.test", 550, b"5.7.27"),
])
def test_sender_domains_are_refused_at_rcpt(lab, sender, code, enhanced):
    with smtp(lab[1]) as client:
        assert client.mail(sender)[0] == 250
        got_code, text = client.rcpt("bob@sandbox.smtpdbg.test")
    assert got_code == code and text.startswith(enhanced)


def test_ptr_rejection_is_multiline_with_the_enhanced_code_on_each_line(lab):
    with smtp(lab[1]) as client:
        client.mail("x@noptr.example.test")
        _, text = client.rcpt("bob@sandbox.smtpdbg.test")
    assert all(line.startswith(b"5.7.25 ") for line in text.split(b"\n")) and b"PTR" in text


def test_dmarc_rejection_comes_after_the_final_dot(lab):
    message = DATE + "From: ceo@bank.example.test\r\nTo: bob@sandbox.smtpdbg.test\r\nSubject: pay\r\n\r\nPay now.\r\n"
    with smtp(lab[1]) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail("bounce@elsewhere.test", ["bob@sandbox.smtpdbg.test"], message)
    assert refused.value.smtp_code == 550 and refused.value.smtp_error.startswith(b"5.7.26 ")


def test_an_aligned_sender_passes(lab):
    message = DATE + "From: alice@sandbox.smtpdbg.test\r\nTo: bob@sandbox.smtpdbg.test\r\nSubject: hi\r\n\r\nHi.\r\n"
    with smtp(lab[1]) as client:
        assert client.sendmail("alice@sandbox.smtpdbg.test", ["bob@sandbox.smtpdbg.test"], message) == {}


# --- STARTTLS stripping (RFC 3207 §6) and implicit TLS (RFC 8314) ---

def test_the_middlebox_hides_starttls(lab):
    _, ep = lab
    with smtplib.SMTP(*ep.stripped, timeout=10) as client:
        client.ehlo("client.example")
        assert not client.has_extn("starttls") and client.has_extn("xxxxxxxa")
        assert client.docmd("STARTTLS")[0] == 500  # the server saw XXXXXXXX


def test_the_plain_listener_itself_offers_starttls(lab):
    with smtp(lab[1]) as client:
        assert client.has_extn("starttls")


def test_implicit_tls_needs_no_starttls(lab):
    _, ep = lab
    with smtplib.SMTP_SSL(*ep.smtps, timeout=10, context=ep.client_ssl_context()) as client:
        assert client.ehlo("client.example")[0] == 250
        assert isinstance(client.sock, ssl.SSLSocket)
