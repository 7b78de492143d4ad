"""The sandbox's reply policy as pure functions: tables and properties, no sockets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpdbg.sandbox import SandboxConfig
from smtpdbg.sandbox.policy import (
    _oauth_last,
    is_policy_reject,
    lmtp_delivery_reply,
    rcpt_reply,
    vrfy_reply,
)
from smtpdbg.sandbox.protocol import extension_parameters

CFG = SandboxConfig(reject=frozenset({"no@example.com"}), greylist=frozenset({"wait@example.com"}))
SPECIAL = {"reject", "greylist", "full"}


@pytest.mark.parametrize(
    "address, lmtp, code",
    [
        ("reject@x.test", False, "550"),
        ("REJECT@x.test", True, "550"),
        ("No@Example.com", False, "550"),
        ("greylist@x.test", False, "451"),
        ("wait@example.com", True, "451"),
        ("full@x.test", False, "452"),
        ("full@x.test", True, None),  # LMTP refuses it per recipient after DATA instead
        ("fuller@x.test", False, None),
        ("user@reject.test", False, None),  # only the local part counts
    ],
)
def test_rcpt_reply(address: str, lmtp: bool, code: str | None) -> None:
    reply = rcpt_reply(address, CFG, lmtp=lmtp)
    assert (reply[:3] if reply else None) == code


local_parts = st.from_regex(r"[a-z0-9._+-]{1,20}", fullmatch=True).filter(
    lambda local: local not in SPECIAL
)


@given(local=local_parts, lmtp=st.booleans())
def test_ordinary_recipients_are_accepted(local: str, lmtp: bool) -> None:
    assert rcpt_reply(f"{local}@example.org", CFG, lmtp=lmtp) is None


@given(local=local_parts)
def test_lmtp_delivers_ordinary_recipients(local: str) -> None:
    assert lmtp_delivery_reply(f"{local}@x.test") == f"250 2.0.0 <{local}@x.test> delivered"


@pytest.mark.parametrize(
    "address, code",
    [("alice", "250"), ("ALICE@sandbox.smtpdbg.test", "250"), ("carol", "250"),
     ("eve", "550"), ("eve@sandbox.smtpdbg.test", "550"), ("eve@elsewhere.test", "252"),
     ("alice@elsewhere.test", "252")],
)
def test_vrfy_reply(address: str, code: str) -> None:
    assert vrfy_reply(address, CFG)[:3] == code


def test_vrfy_knows_a_configured_demo_user() -> None:
    reply = vrfy_reply("dora", SandboxConfig(user="dora"))
    assert reply == "250 2.1.5 dora <dora@sandbox.smtpdbg.test>"


@pytest.mark.parametrize(
    "content, rejected",
    [
        (b"X-Sandbox-Reject: yes\r\n\r\nbody\r\n", True),
        (b"Subject: a\r\nx-sandbox-reject:   YES  \r\n\r\n", True),
        (b"Subject: a\nX-Sandbox-Reject: yes\n\nbody\n", True),  # bare LF line ends
        (b"X-Sandbox-Reject: yes", True),  # header only, no body
        (b"X-Sandbox-Reject: no\r\n\r\n", False),
        (b"X-Sandbox-Reject: yes please\r\n\r\n", False),
        (b"X-Sandbox-Rejected: yes\r\n\r\n", False),
        (b"Subject: a\r\n\r\nX-Sandbox-Reject: yes\r\n", False),  # in the body
    ],
)
def test_is_policy_reject(content: bytes, rejected: bool) -> None:
    assert is_policy_reject(content) is rejected


@given(body=st.binary(max_size=300))
def test_a_body_never_triggers_the_reject_header(body: bytes) -> None:
    assert not is_policy_reject(b"Subject: s\r\n\r\n" + body)


def test_extension_parameters() -> None:
    assert extension_parameters(()) == (frozenset(), frozenset())
    mail, rcpt = extension_parameters(("dsn", "X-UNKNOWN", "", "DELIVERBY 120"))
    assert mail == {"RET", "ENVID", "BY"}
    assert rcpt == {"NOTIFY", "ORCPT"}


@pytest.mark.parametrize("line, reordered", [
    ("250-AUTH CRAM-MD5 LOGIN OAUTHBEARER PLAIN XOAUTH2", "250-AUTH CRAM-MD5 LOGIN PLAIN XOAUTH2 OAUTHBEARER"),
    ("250-AUTH CRAM-MD5 LOGIN PLAIN", "250-AUTH CRAM-MD5 LOGIN PLAIN"),
    ("250-SIZE 1000", "250-SIZE 1000"),
])
def test_oauth_mechanisms_are_advertised_last(line: str, reordered: str) -> None:
    assert _oauth_last(line) == reordered
