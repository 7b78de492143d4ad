"""MX targets against a DNS server on loopback: resolution, ordering, the chosen exchanger, fallbacks."""

from __future__ import annotations

import pytest

from smtpdbg.core import Info, Session, SessionOptions, parse_target
from smtpdbg.core.target import Target, TargetError

from tests.dns_server import DnsServer


@pytest.fixture
def dns_zone(endpoints):
    host, port = endpoints.smtp
    records = {
        ("example.test", "MX"): ["20 mx2.example.test.", "10 mx1.example.test."],
        ("mx1.example.test", "A"): ["127.0.0.1"],
        ("mx2.example.test", "A"): ["127.0.0.2"],
        ("implicit.test", "A"): ["127.0.0.1"],
        ("nullmx.test", "MX"): ["0 ."],
        ("nohost.test", "TXT"): ['"nothing here"'],
    }
    with DnsServer(records) as server:
        yield server, port


def mx_session(dns, port: int, target: str, endpoints) -> Session:
    parsed = parse_target(target)
    parsed = Target(parsed.transport, parsed.host, port, mx=parsed.mx)
    return Session(parsed, SessionOptions(timeout=3, dns_server=dns.address, ca=endpoints.ca_path,
                                          local_hostname="client.test"))


@pytest.mark.parametrize("text, host, index", [("mx:example.test", "example.test", 1), ("mx:example.test#2", "example.test", 2),
                                               ("MX:Example.Test.", "Example.Test", 1)])
def test_mx_target_forms(text, host, index):
    target = parse_target(text)
    assert (target.host, target.mx, target.port) == (host, index, 25)
    assert parse_target(str(target)) == target


@pytest.mark.parametrize("text", ["mx:", "mx:example.test#0", "mx:example.test#x", "mx:a/b"])
def test_bad_mx_targets(text):
    with pytest.raises(TargetError):
        parse_target(text)


def test_connects_to_the_best_exchanger_and_lists_all(dns_zone, endpoints):
    dns, port = dns_zone
    with mx_session(dns, port, "mx:example.test", endpoints) as session:
        outcome = session.execute("connect")
        assert outcome.ok, outcome
        texts = [e.text for e in session.transcript.snapshot() if isinstance(e, Info)]
        assert "→ MX #1 mx1.example.test (preference 10): 127.0.0.1" in texts
        assert "  MX #2 mx2.example.test (preference 20): 127.0.0.2" in texts
        assert "if this one fails: connect mx:example.test#2" in texts
        state = session.state
        assert state.mx.startswith("mx1.example.test (preference 10) #1 of 2 for example.test, at 127.0.0.1")
        assert state.peer.startswith("127.0.0.1:")
        session.execute("ehlo")
        tls = session.execute("starttls")
        # the sandbox certificate does not cover mx1.example.test: verification uses the MX name, not the IP
        assert tls.category == "tls-verify" and "mx1.example.test" in tls.message


def test_second_exchanger_can_be_chosen(dns_zone, endpoints):
    dns, port = dns_zone
    with mx_session(dns, port, "mx:example.test#2", endpoints) as session:
        outcome = session.execute("connect")
        assert not outcome.ok  # nothing listens on 127.0.0.2 at the sandbox port (or it is refused)
        assert session.state.mx.startswith("mx2.example.test")


def test_implicit_mx_null_mx_and_nxdomain(dns_zone, endpoints):
    dns, port = dns_zone
    with mx_session(dns, port, "mx:implicit.test", endpoints) as session:
        assert session.execute("connect").ok
        assert "implicit" in session.state.mx
    with mx_session(dns, port, "mx:nullmx.test", endpoints) as session:
        outcome = session.execute("connect")
        assert "null MX (RFC 7505)" in outcome.message
    with mx_session(dns, port, "mx:nowhere.test", endpoints) as session:
        outcome = session.execute("connect")
        assert "does not exist (NXDOMAIN)" in outcome.message
    with mx_session(dns, port, "mx:nohost.test", endpoints) as session:
        outcome = session.execute("connect")
        assert "no MX record and no address" in outcome.message
