"""Tests for TARGET parsing (smtpdbg.core.target)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdbg.core.target import Target, TargetError, parse_target
from tests.fuzz import fuzz

VALID = [
    ("mx.example.org", ("smtp", "mx.example.org", 25)),
    ("mx.example.org:2525", ("smtp", "mx.example.org", 2525)),
    ("  mx.example.org  ", ("smtp", "mx.example.org", 25)),
    ("127.0.0.1:587", ("smtp", "127.0.0.1", 587)),
    ("[::1]:2525", ("smtp", "::1", 2525)),
    ("[::1]", ("smtp", "::1", 25)),
    ("::1", ("smtp", "::1", 25)),
    ("2001:db8::25", ("smtp", "2001:db8::25", 25)),
    ("smtp://mx.example.org", ("smtp", "mx.example.org", 25)),
    ("smtp://mx.example.org:26/", ("smtp", "mx.example.org", 26)),
    ("SMTP://mx.example.org", ("smtp", "mx.example.org", 25)),
    ("smtps://mx.example.org", ("smtps", "mx.example.org", 465)),
    ("smtps://[2001:db8::1]:4650", ("smtps", "2001:db8::1", 4650)),
    ("lmtp://mx.example.org", ("lmtp", "mx.example.org", 24)),
    ("lmtp://[::1]", ("lmtp", "::1", 24)),
    ("h:1", ("smtp", "h", 1)),
    ("h:65535", ("smtp", "h", 65535)),
    ("h:00025", ("smtp", "h", 25)),
    ("/run/dovecot/lmtp", ("lmtp", "/run/dovecot/lmtp", None)),
    ("lmtp:///run/dovecot/lmtp", ("lmtp", "/run/dovecot/lmtp", None)),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[row[0] for row in VALID])
def test_valid_targets(text: str, expected: tuple) -> None:
    target = parse_target(text)
    assert (target.transport, target.host, target.port) == expected
    assert target.unix is (expected[2] is None)
    assert target.sandbox is False


@pytest.mark.parametrize(("text", "default", "expected"), [
    ("mx.example.org", "smtps", ("smtps", "mx.example.org", 465)),
    ("mx.example.org", "lmtp", ("lmtp", "mx.example.org", 24)),
    ("smtp://mx.example.org", "smtps", ("smtp", "mx.example.org", 25)),
])
def test_default_transport(text: str, default: str, expected: tuple) -> None:
    target = parse_target(text, default_transport=default)
    assert (target.transport, target.host, target.port) == expected


INVALID = [
    ("", "empty target"),
    ("   ", "empty target"),
    ("h:abc", "bad port 'abc'"),
    ("h:", "bad port ''"),
    ("h:-1", "bad port '-1'"),
    ("h:+25", "bad port '+25'"),
    ("h:²", "bad port '²'"),  # str.isdigit() is true for it, int() is not
    ("h:٢٥", "bad port '٢٥'"),  # Arabic-Indic digits are not a port
    ("h:0", "port 0"),
    ("h:70000", "port 70000"),
    ("[::1]:0", "port 0"),
    ("ftp://h", "unknown scheme 'ftp'"),
    ("http://h:25", "unknown scheme 'http'"),
    ("smtp:///run/x", "needs lmtp://, not smtp://"),
    ("smtps:///run/x", "needs lmtp://, not smtps://"),
    ("[::1", "unclosed ["),
    ("[::1]:25x", "bad port '25x'"),
    ("[::1]x", "unexpected 'x' after ]"),
    ("h/path", "unexpected path"),
    ("smtp://h:25/path", "unexpected path"),
    (":25", "no host"),
    ("smtp://", "no host"),
    ("[]:25", "no host"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[repr(row[0]) for row in INVALID])
def test_invalid_targets(text: str, message: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    assert message in str(info.value)
    if text.strip():
        assert repr(text) in str(info.value)  # the message quotes what was typed


def test_range_message_says_the_range() -> None:
    with pytest.raises(TargetError, match=r"out of range \(1-65535\)"):
        parse_target("h:70000")
    with pytest.raises(TargetError, match="use smtp://, smtps:// or lmtp://"):
        parse_target("ftp://h")


@pytest.mark.parametrize(("target", "text"), [
    (Target("smtp", "mx.example.org", 25), "smtp://mx.example.org:25"),
    (Target("smtps", "::1", 465), "smtps://[::1]:465"),
    (Target("lmtp", "/run/lmtp", None), "lmtp:///run/lmtp"),
])
def test_str(target: Target, text: str) -> None:
    assert str(target) == text


@pytest.mark.parametrize("text", [row[0] for row in VALID])
def test_str_roundtrips_valid_table(text: str) -> None:
    target = parse_target(text)
    assert parse_target(str(target)) == target


HOSTNAMES = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}\Z")
HOSTS = st.one_of(HOSTNAMES, st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str))


@settings(max_examples=fuzz(200), deadline=None)
@given(st.sampled_from(["smtp", "smtps", "lmtp"]), HOSTS, st.integers(1, 65535))
def test_str_roundtrip_property(transport: str, host: str, port: int) -> None:
    target = Target(transport, host, port)
    assert parse_target(str(target)) == target


@settings(max_examples=fuzz(200), deadline=None)
@given(st.text(max_size=30))
def test_parse_target_raises_only_target_error(text: str) -> None:
    try:
        target = parse_target(text)
    except TargetError as error:
        assert str(error)
    else:
        assert target.transport in ("smtp", "smtps", "lmtp")
        assert target.host
        assert target.port is None or 1 <= target.port <= 65535
