"""CHUNKING / BDAT and BINARYMIME (RFC 3030) on the wire, over raw sockets.

Most tests use the module sandbox from conftest.py (CHUNKING is on by default);
the byte counts are exact, and the message must arrive byte for byte.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig
from smtpdbg.sandbox.chunking import parse_bdat_argument
from tests.fuzz import fuzz

ALL_BYTES = bytes(range(256))
NASTY = b"Subject: bin\r\n\r\n.\r\n..\r\n.\r\nbare CR\r here, bare LF\n there\x00NUL\r\n.\r\n"


def envelope(w, mail: str = "MAIL FROM:<s@example.com>", *rcpts: str) -> None:
    assert w.command(mail).startswith("250 ")
    for rcpt in rcpts or ("r@example.com",):
        assert w.command(f"RCPT TO:<{rcpt}>").startswith("250 ")


@pytest.fixture
def w(ep: Endpoints, wire):
    """A raw client on the plain listener after EHLO."""
    client = wire(ep.smtp)
    client.ehlo()
    return client


@pytest.fixture(scope="module")
def small() -> Iterator[Sandbox]:
    """A sandbox with a 100-byte SIZE limit."""
    with Sandbox(SandboxConfig(data_size_limit=100, lmtp=False)) as sb:
        yield sb


@pytest.fixture(scope="module")
def without() -> Iterator[Sandbox]:
    """A sandbox with CHUNKING turned off."""
    with Sandbox(SandboxConfig(chunking=False, lmtp=False)) as sb:
        yield sb


# -- advertising ----------------------------------------------------------------


def test_ehlo_advertises_chunking_and_binarymime(w) -> None:
    w.send(b"EHLO client.example\r\n")
    lines = w.lines()
    keywords = [line[4:] for line in lines]
    assert "CHUNKING" in keywords and "BINARYMIME" in keywords
    assert lines[-1] == "250 HELP"


def test_smtps_and_lmtp_advertise_chunking_too(ep: Endpoints, wire, ca_context) -> None:
    assert "CHUNKING" in wire(ep.smtps, tls=ca_context, server_hostname="localhost").ehlo()
    assert ep.lmtp is not None
    assert {"CHUNKING", "BINARYMIME"} <= set(wire(ep.lmtp).ehlo(verb="LHLO"))


def test_help_lists_bdat(w) -> None:
    assert "BDAT" in w.command("HELP").split()
    assert w.command("HELP BDAT") == "250 2.0.0 Syntax: BDAT <size> [LAST]"


# -- delivery -------------------------------------------------------------------


def test_chunks_are_acknowledged_and_the_last_one_delivers(w, sandbox: Sandbox) -> None:
    envelope(w)
    w.send(b"BDAT 15\r\nSubject: hi\r\n\r\n")
    assert w.reply() == "250 2.0.0 15 octets received"
    w.send(b"BDAT 7 LAST\r\nbody\r\n.")
    assert w.reply() == "250 2.0.0 OK: message accepted"
    (message,) = sandbox.wait_for_messages(1)
    assert message.content == b"Subject: hi\r\n\r\nbody\r\n."
    assert message.chunks == (15, 7)
    assert (message.mail_from, message.rcpt_tos, message.listener) == (
        "s@example.com", ("r@example.com",), "smtp")
    assert w.command("NOOP") == "250 2.0.0 OK"  # in step afterwards


def test_binary_content_arrives_byte_exact_with_binarymime(w, sandbox: Sandbox) -> None:
    body = NASTY + ALL_BYTES * 3
    envelope(w, "MAIL FROM:<s@example.com> BODY=BINARYMIME")
    w.send(b"BDAT 100\r\n" + body[:100])
    assert w.reply() == "250 2.0.0 100 octets received"
    w.send(f"BDAT {len(body) - 100} LAST\r\n".encode() + body[100:])
    assert w.reply() == "250 2.0.0 OK: message accepted"
    (message,) = sandbox.wait_for_messages(1)
    assert message.content == body
    assert message.mail_options == ("BODY=BINARYMIME",)
    assert message.chunks == (100, len(body) - 100)


def test_a_chunk_may_trickle_in_over_many_writes(w, sandbox: Sandbox) -> None:
    envelope(w)
    w.send(b"BDAT 256 LAST\r\n")
    for start in range(0, 256, 10):
        w.send(ALL_BYTES[start:start + 10])
    assert w.reply() == "250 2.0.0 OK: message accepted"
    assert sandbox.wait_for_messages(1)[0].content == ALL_BYTES


def test_pipelined_bdat_commands_get_their_replies_in_order(w, sandbox: Sandbox) -> None:
    w.send(b"MAIL FROM:<s@example.com>\r\nRCPT TO:<r@example.com>\r\n"
           b"BDAT 3\r\nabcBDAT 0\r\nbdat 2 last\r\ndeNOOP\r\n")
    replies = [w.reply() for _ in range(6)]
    assert replies == ["250 2.1.0 OK", "250 2.1.5 OK", "250 2.0.0 3 octets received",
                       "250 2.0.0 0 octets received", "250 2.0.0 OK: message accepted", "250 2.0.0 OK"]
    (message,) = sandbox.wait_for_messages(1)
    assert (message.content, message.chunks) == (b"abcde", (3, 0, 2))


def test_bdat_0_last_alone_is_an_empty_message(w, sandbox: Sandbox) -> None:
    envelope(w)
    assert w.command("BDAT 0 LAST") == "250 2.0.0 OK: message accepted"
    assert sandbox.wait_for_messages(1)[0].content == b""


def test_data_messages_have_no_chunks(client: smtplib.SMTP, sandbox: Sandbox) -> None:
    client.sendmail("s@example.com", ["r@example.com"], b"Subject: d\r\n\r\nx\r\n")
    assert sandbox.wait_for_messages(1)[0].chunks == ()


def test_rset_discards_the_chunks_so_far(w, sandbox: Sandbox) -> None:
    envelope(w)
    w.send(b"BDAT 3\r\nold")
    assert w.reply().startswith("250 ")
    assert w.command("RSET") == "250 2.0.0 OK"
    envelope(w)
    w.send(b"BDAT 3 LAST\r\nnew")
    assert w.reply() == "250 2.0.0 OK: message accepted"
    (message,) = sandbox.wait_for_messages(1)
    assert (message.content, message.chunks) == (b"new", (3,))


def test_reject_header_refuses_at_the_last_chunk(w, sandbox: Sandbox) -> None:
    envelope(w)
    body = b"X-Sandbox-Reject: yes\r\n\r\nx\r\n"
    w.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
    assert w.reply() == "554 5.6.0 Message rejected by sandbox policy"
    assert w.command("NOOP") == "250 2.0.0 OK"
    assert sandbox.messages == []


def test_bdat_after_starttls_and_over_smtps(ep: Endpoints, wire, ca_context, sandbox: Sandbox) -> None:
    plain = wire(ep.smtp)
    plain.ehlo()
    plain.starttls(ca_context, "localhost")
    plain.ehlo()
    secure = wire(ep.smtps, tls=ca_context, server_hostname="localhost")
    secure.ehlo()
    for client in (plain, secure):
        envelope(client)
        client.send(b"BDAT 256 LAST\r\n" + ALL_BYTES)
        assert client.reply() == "250 2.0.0 OK: message accepted"
    messages = sandbox.wait_for_messages(2)
    assert [(m.listener, m.tls, m.content) for m in messages] == [
        ("smtp", True, ALL_BYTES), ("smtps", True, ALL_BYTES)]


def test_lmtp_answers_the_last_chunk_once_per_recipient(ep: Endpoints, wire, sandbox: Sandbox) -> None:
    assert ep.lmtp is not None
    w = wire(ep.lmtp)
    w.ehlo(verb="LHLO")
    envelope(w, "MAIL FROM:<s@example.com>", "a@example.com", "full@example.com", "c@example.com")
    w.send(b"BDAT 4\r\nSubj")
    assert w.reply() == "250 2.0.0 4 octets received"  # one reply for a chunk that is not LAST
    w.send(b"BDAT 7 LAST\r\nect\r\n\r\nNOOP\r\n")
    assert [w.reply() for _ in range(4)] == [
        "250 2.0.0 <a@example.com> delivered",
        "452 4.2.2 <full@example.com> Mailbox full",
        "250 2.0.0 <c@example.com> delivered",
        "250 2.0.0 OK",
    ]
    (message,) = sandbox.wait_for_messages(1)
    assert (message.rcpt_tos, message.chunks) == (("a@example.com", "c@example.com"), (4, 7))


# -- errors ---------------------------------------------------------------------------


def test_bdat_without_mail_is_503_and_its_octets_are_skipped(w, sandbox: Sandbox) -> None:
    w.send(b"BDAT 6\r\nNOOP\r\n")  # the chunk looks like a command: it must not run
    assert w.reply() == "503 5.5.1 Error: need MAIL command"
    assert w.command("NOOP") == "250 2.0.0 OK"


def test_bdat_without_rcpt_is_503(w) -> None:
    assert w.command("MAIL FROM:<s@example.com>").startswith("250 ")
    w.send(b"BDAT 4 LAST\r\nRSET")
    assert w.reply() == "503 5.5.1 Error: need RCPT command"
    assert w.command("NOOP") == "250 2.0.0 OK"


def test_refused_recipients_do_not_count(w) -> None:
    assert w.command("MAIL FROM:<s@example.com>").startswith("250 ")
    assert w.command("RCPT TO:<reject@example.com>").startswith("550 ")
    w.send(b"BDAT 1 LAST\r\nx")
    assert w.reply() == "503 5.5.1 Error: need RCPT command"


def test_bdat_before_ehlo_is_503(ep: Endpoints, wire) -> None:
    w = wire(ep.smtp)
    w.send(b"BDAT 2\r\nxy")
    assert w.reply() == "503 5.5.1 Error: need MAIL command"
    assert w.command("NOOP") == "250 2.0.0 OK"


@pytest.mark.parametrize("arg", ["", " ", "abc", "-1", "+5", "0x10", "10 FIRST", "10 LAST more",
                                 "1.5", "10LAST", "１０"])
def test_a_bad_size_is_501(w, arg: str) -> None:
    envelope(w)
    assert w.command(f"BDAT {arg}".rstrip() if arg.strip() else "BDAT") == (
        "501 5.5.4 Syntax: BDAT <size> [LAST]")
    assert w.command("NOOP") == "250 2.0.0 OK"


def test_data_after_bdat_in_one_transaction_is_503(w, sandbox: Sandbox) -> None:
    envelope(w)
    w.send(b"BDAT 3\r\nabc")
    assert w.reply().startswith("250 ")
    assert w.command("DATA") == "503 5.5.1 Error: DATA not allowed after BDAT"
    w.send(b"BDAT 2 LAST\r\nde")  # the transaction goes on
    assert w.reply() == "250 2.0.0 OK: message accepted"
    assert sandbox.wait_for_messages(1)[0].content == b"abcde"


def test_binarymime_refuses_data(w) -> None:
    envelope(w, "MAIL FROM:<s@example.com> BODY=BINARYMIME")
    assert w.command("DATA") == "503 5.6.1 BINARYMIME requires BDAT"
    w.send(b"BDAT 1 LAST\r\nx")
    assert w.reply() == "250 2.0.0 OK: message accepted"


def test_binarymime_is_case_insensitive_and_other_bodies_still_checked(w) -> None:
    assert w.command("MAIL FROM:<s@example.com> body=binarymime") == "250 2.1.0 OK"
    assert w.command("RSET") == "250 2.0.0 OK"
    assert w.command("MAIL FROM:<s@example.com> BODY=8BITMIME") == "250 2.1.0 OK"
    assert w.command("RSET") == "250 2.0.0 OK"
    assert w.command("MAIL FROM:<s@example.com> BODY=BINARY").startswith("501 ")


def test_chunks_over_the_size_limit_are_552_and_end_the_transaction(small: Sandbox, wire) -> None:
    w = wire(small.endpoints.smtp)
    w.ehlo()
    envelope(w)
    w.send(b"BDAT 60\r\n" + b"a" * 60)
    assert w.reply() == "250 2.0.0 60 octets received"
    w.send(b"BDAT 41\r\n" + b"b" * 41)  # 101 > 100: read anyway, then refused
    assert w.reply() == "552 5.3.4 Error: message size exceeds fixed maximum message size"
    w.send(b"BDAT 1 LAST\r\nc")  # a chunk still in the pipeline: skipped, no transaction
    assert w.reply() == "503 5.5.1 Error: need MAIL command"
    assert w.command("NOOP") == "250 2.0.0 OK"
    envelope(w)
    w.send(b"BDAT 100 LAST\r\n" + b"d" * 100)  # exactly the limit is fine
    assert w.reply() == "250 2.0.0 OK: message accepted"
    assert small.wait_for_messages(1)[0].content == b"d" * 100


# -- turned off ------------------------------------------------------------------------


def test_chunking_can_be_turned_off(without: Sandbox, wire) -> None:
    w = wire(without.endpoints.smtp)
    keywords = w.ehlo()
    assert "CHUNKING" not in keywords and "BINARYMIME" not in keywords
    assert w.command("BDAT 0 LAST") == '500 5.5.2 Error: command "BDAT" not recognized'
    assert "BDAT" not in w.command("HELP").split()
    # aiosmtpd's own refusal of a body type it does not know:
    assert w.command("MAIL FROM:<s@example.com> BODY=BINARYMIME").startswith("501 ")


# -- properties -------------------------------------------------------------------------


@pytest.mark.parametrize("arg, parsed", [
    ("0", (0, False)), ("10 LAST", (10, True)), ("10 last", (10, True)), ("7\tLAST", (7, True)),
    (" 3 ", (3, False)), ("00012", (12, False)),
    (None, None), ("", None), ("LAST", None), ("-1", None), ("1 2", None), ("5 LASTLY", None),
])
def test_parse_bdat_argument(arg, parsed) -> None:
    assert parse_bdat_argument(arg) == parsed


@settings(max_examples=fuzz(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=5))
def test_any_bytes_in_any_chunks_round_trip(sandbox: Sandbox, wire, body: bytes, cuts: list[int]) -> None:
    sandbox.clear_messages()
    bounds = sorted({0, len(body), *(c for c in cuts if c <= len(body))})
    pieces = [body[a:b] for a, b in zip(bounds, bounds[1:])] or [b""]
    w = wire(sandbox.endpoints.smtp)
    w.ehlo()
    envelope(w, "MAIL FROM:<s@example.com> BODY=BINARYMIME")
    for i, piece in enumerate(pieces):
        last = " LAST" if i == len(pieces) - 1 else ""
        w.send(f"BDAT {len(piece)}{last}\r\n".encode() + piece)
        assert w.reply().startswith("250 ")
    (message,) = sandbox.wait_for_messages(1)
    assert message.content == body
    assert message.chunks == tuple(len(p) for p in pieces)
