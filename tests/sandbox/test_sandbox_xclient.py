"""Postfix XCLIENT and XFORWARD: replies, session restart, line limit, accumulation, records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig
from smtpdbg.sandbox.xclient import parse_attributes, xtext_decode

XCLIENT_LINE = "XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT"
XFORWARD_LINE = "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE"
GREETING = "220 sandbox.smtpdbg.test smtpdbg sandbox"


def xtext(value: str) -> str:
    """RFC 3461 §4 encoding, written independently of the server's decoder."""
    return "".join(chr(b) if 33 <= b <= 126 and b not in (43, 61) else f"+{b:02X}"
                   for b in value.encode("utf-8"))


@pytest.fixture(scope="module")
def proxy_mta() -> Iterator[Sandbox]:
    """A sandbox that offers XCLIENT and XFORWARD."""
    with Sandbox(SandboxConfig(xclient=True)) as sb:
        yield sb


@pytest.fixture
def w(proxy_mta: Sandbox, wire):
    proxy_mta.clear_messages()
    proxy_mta.clear_connections()
    client = wire(proxy_mta.endpoints.smtp)
    client.ehlo("proxy.example")
    return client


def send_message(w, body: bytes = b"Subject: x\r\n\r\nx\r\n") -> str:
    w.send(b"MAIL FROM:<s@example.com>\r\nRCPT TO:<r@example.com>\r\n"
           + f"BDAT {len(body)} LAST\r\n".encode() + body)
    return [w.reply() for _ in range(3)][-1]


# -- advertising -------------------------------------------------------------------


def test_ehlo_advertises_both_with_their_attributes(w) -> None:
    keywords = w.ehlo()
    assert XCLIENT_LINE in keywords and XFORWARD_LINE in keywords


def test_off_by_default(ep: Endpoints, wire) -> None:
    w = wire(ep.smtp)
    assert not any(k.startswith(("XCLIENT", "XFORWARD")) for k in w.ehlo())
    assert w.command("XCLIENT ADDR=192.0.2.1") == '500 5.5.2 Error: command "XCLIENT" not recognized'
    assert w.command("XFORWARD ADDR=192.0.2.1") == '500 5.5.2 Error: command "XFORWARD" not recognized'


def test_lmtp_offers_them_too(proxy_mta: Sandbox, wire) -> None:
    assert proxy_mta.endpoints.lmtp is not None
    assert XCLIENT_LINE in wire(proxy_mta.endpoints.lmtp).ehlo(verb="LHLO")


# -- XCLIENT ------------------------------------------------------------------------------


def test_xclient_greets_again_and_the_session_starts_over(w, proxy_mta: Sandbox) -> None:
    assert w.command("XCLIENT NAME=mail.example.org ADDR=192.0.2.7 PORT=4242 PROTO=ESMTP "
                     "HELO=relay+2Bone.example") == GREETING
    assert w.command("MAIL FROM:<s@example.com>") == "503 5.5.1 Error: send HELO first"
    w.ehlo("after.xclient")
    assert send_message(w) == "250 2.0.0 OK: message accepted"
    (message,) = proxy_mta.wait_for_messages(1)
    assert message.xclient == (("NAME", "mail.example.org"), ("ADDR", "192.0.2.7"),
                               ("PORT", "4242"), ("PROTO", "ESMTP"), ("HELO", "relay+one.example"))
    assert message.helo == "after.xclient"
    assert message.xforward == ()


def test_attributes_accumulate_and_later_values_win(w, proxy_mta: Sandbox) -> None:
    assert w.command("xclient name=first.example ADDR=192.0.2.1") == GREETING
    assert w.command("XCLIENT PORT=25 NAME=second.example") == GREETING  # no EHLO needed between
    assert w.command("XCLIENT DESTADDR=IPV6:2001:db8::25 DESTPORT=587") == GREETING
    w.ehlo()
    assert send_message(w).startswith("250 ")
    assert proxy_mta.wait_for_messages(1)[0].xclient == (
        ("NAME", "second.example"), ("ADDR", "192.0.2.1"), ("PORT", "25"),
        ("DESTADDR", "IPV6:2001:db8::25"), ("DESTPORT", "587"))


def test_unavailable_values_are_accepted(w, proxy_mta: Sandbox) -> None:
    assert w.command("XCLIENT NAME=[UNAVAILABLE] ADDR=[TEMPUNAVAIL] PORT=[UNAVAILABLE]") == GREETING
    (connection,) = [c for c in proxy_mta.connections if c.xclient]
    assert connection.xclient == (("NAME", "[UNAVAILABLE]"), ("ADDR", "[TEMPUNAVAIL]"),
                                  ("PORT", "[UNAVAILABLE]"))


@pytest.mark.parametrize("arg, reply", [
    ("", "501 5.5.4 Syntax: XCLIENT attribute=value..."),
    ("NAME", "501 5.5.4 Syntax: XCLIENT attribute=value..."),
    ("FOO=bar", "501 5.5.4 Bad XCLIENT attribute name: FOO"),
    ("NAME=ok.example ident=x", "501 5.5.4 Bad XCLIENT attribute name: IDENT"),
    ("NAME=a+2", "501 5.5.4 Bad XCLIENT syntax: NAME=a+2"),
    ("NAME=a+ZZ", "501 5.5.4 Bad XCLIENT syntax: NAME=a+ZZ"),
    ("ADDR=999.0.0.1", "501 5.5.4 Bad ADDR syntax: 999.0.0.1"),
    ("ADDR=2001:db8::1", "501 5.5.4 Bad ADDR syntax: 2001:db8::1"),  # IPv6 needs IPV6:
    ("PORT=70000", "501 5.5.4 Bad PORT syntax: 70000"),
    ("DESTPORT=-1", "501 5.5.4 Bad DESTPORT syntax: -1"),
    ("PROTO=HTTP", "501 5.5.4 Bad PROTO syntax: HTTP"),
])
def test_xclient_refusals(w, proxy_mta: Sandbox, arg: str, reply: str) -> None:
    assert w.command(f"XCLIENT {arg}".rstrip()) == reply
    assert w.command("NOOP") == "250 2.0.0 OK"  # still the same session: no restart
    assert all(c.xclient == () for c in proxy_mta.connections)


def test_a_refused_command_changes_nothing(w, proxy_mta: Sandbox) -> None:
    assert w.command("XCLIENT NAME=kept.example") == GREETING
    assert w.command("XCLIENT NAME=dropped.example PORT=99999").startswith("501 ")
    w.ehlo()
    send_message(w)
    assert proxy_mta.wait_for_messages(1)[0].xclient == (("NAME", "kept.example"),)


def test_xclient_inside_a_transaction_is_503(w, proxy_mta: Sandbox) -> None:
    assert w.command("MAIL FROM:<s@example.com>").startswith("250 ")
    assert w.command("XCLIENT ADDR=192.0.2.1") == "503 5.5.1 Error: MAIL transaction in progress"
    assert w.command("RSET") == "250 2.0.0 OK"
    assert w.command("XCLIENT ADDR=192.0.2.1") == GREETING


def test_xclient_login_authenticates_and_plain_xclient_forgets_auth(w, proxy_mta: Sandbox) -> None:
    assert w.command("XCLIENT LOGIN=bob") == GREETING
    w.ehlo()
    send_message(w)
    assert w.command("XCLIENT NAME=other.example") == GREETING
    w.ehlo()
    send_message(w)
    first, second = proxy_mta.wait_for_messages(2)
    assert (first.auth_user, first.auth_mechanism) == ("bob", "XCLIENT")
    assert (second.auth_user, second.auth_mechanism) == (None, None)


# -- the line limit -------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["XCLIENT", "XFORWARD"])
def test_512_octets_with_crlf_is_the_limit(w, verb: str) -> None:
    prefix = f"{verb} NAME="
    fits = prefix + "a" * (510 - len(prefix))  # 510 + CRLF = 512
    assert w.command(fits) in (GREETING, "250 2.0.0 Ok")
    if verb == "XCLIENT":
        w.ehlo()
    assert w.command(fits + "a") == "500 5.5.2 Line too long"
    assert w.command(prefix + "b" * 5000) == "500 5.5.2 Line too long"
    assert w.command("NOOP") == "250 2.0.0 OK"


def test_the_limit_holds_right_after_the_new_greeting(w) -> None:
    assert w.command("XCLIENT NAME=x.example") == GREETING
    assert w.command("XCLIENT NAME=" + "a" * 600) == "500 5.5.2 Line too long"


def test_a_long_list_split_over_commands_accumulates(w, proxy_mta: Sandbox) -> None:
    name, helo = "n" * 300, "h" * 300
    assert w.command(f"XCLIENT NAME={name} HELO={helo}") == "500 5.5.2 Line too long"
    assert w.command(f"XCLIENT NAME={name}") == GREETING
    assert w.command(f"XCLIENT HELO={helo}") == GREETING
    w.ehlo()
    send_message(w)
    assert proxy_mta.wait_for_messages(1)[0].xclient == (("NAME", name), ("HELO", helo))


# -- XFORWARD ---------------------------------------------------------------------------------


def test_xforward_goes_with_the_next_message_only(w, proxy_mta: Sandbox) -> None:
    assert w.command("XFORWARD NAME=up.example ADDR=192.0.2.9 PROTO=ESMTPSA") == "250 2.0.0 Ok"
    assert w.command("XFORWARD IDENT=abc123 SOURCE=REMOTE NAME=upstream.example") == "250 2.0.0 Ok"
    assert send_message(w) == "250 2.0.0 OK: message accepted"  # no new greeting, no EHLO needed
    assert send_message(w).startswith("250 ")
    first, second = proxy_mta.wait_for_messages(2)
    assert first.xforward == (("NAME", "upstream.example"), ("ADDR", "192.0.2.9"),
                              ("PROTO", "ESMTPSA"), ("IDENT", "abc123"), ("SOURCE", "REMOTE"))
    assert second.xforward == ()
    assert first.xclient == ()


def test_rset_drops_xforward_attributes(w, proxy_mta: Sandbox) -> None:
    assert w.command("XFORWARD NAME=gone.example") == "250 2.0.0 Ok"
    assert w.command("RSET") == "250 2.0.0 OK"
    send_message(w)
    assert proxy_mta.wait_for_messages(1)[0].xforward == ()


@pytest.mark.parametrize("arg, reply", [
    ("LOGIN=bob", "501 5.5.4 Bad XFORWARD attribute name: LOGIN"),
    ("SOURCE=ELSEWHERE", "501 5.5.4 Bad SOURCE syntax: ELSEWHERE"),
    ("", "501 5.5.4 Syntax: XFORWARD attribute=value..."),
])
def test_xforward_refusals(w, arg: str, reply: str) -> None:
    assert w.command(f"XFORWARD {arg}".rstrip()) == reply


def test_xforward_inside_a_transaction_is_503(w) -> None:
    assert w.command("MAIL FROM:<s@example.com>").startswith("250 ")
    assert w.command("XFORWARD NAME=x") == "503 5.5.1 Error: MAIL transaction in progress"


def test_connection_record_shows_xclient_without_any_message(w, proxy_mta: Sandbox) -> None:
    assert w.command("XCLIENT ADDR=198.51.100.4") == GREETING
    connection = proxy_mta.wait_for_connections(1, where=lambda c: bool(c.xclient))[-1]
    assert (connection.xclient, connection.helo, connection.messages) == (
        (("ADDR", "198.51.100.4"),), None, 0)


# -- xtext ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, decoded", [
    ("plain", "plain"), ("a+2Bb", "a+b"), ("a+3Db", "a=b"), ("+20", " "), ("caf+C3+A9", "café"),
    ("lower+2b", "lower+"), ("", ""),
])
def test_xtext_decode(text: str, decoded: str) -> None:
    assert xtext_decode(text) == decoded


@pytest.mark.parametrize("text", ["a+", "a+2", "a=b", "tab\t", "é", "+G0"])
def test_xtext_decode_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        xtext_decode(text)


@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60))
def test_xtext_round_trip(value: str) -> None:
    assert parse_attributes("XFORWARD", f"IDENT={xtext(value)}", ("IDENT",)) == [("IDENT", value)]
