"""The sandbox's decision log and its reply faults (``drop@``, ``delay@``), over raw sockets.

The decision log (``Connection.decisions``) is what the server itself said
about each recipient; the faults make the reply after a whole message go
missing (``drop@``: the connection closes) or come late (``delay@``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig
from smtpdbg.sandbox.cli import build_parser, config_from_args
from smtpdbg.sandbox.model import Decision
from smtpdbg.sandbox.outcomes import reply_fault

MESSAGE = b"Subject: t\r\n\r\nhello\r\n"


@pytest.fixture
def w(ep: Endpoints, wire):
    client = wire(ep.smtp)
    client.ehlo()
    return client


@pytest.fixture(scope="module")
def quick() -> Iterator[Sandbox]:
    """A sandbox whose delay@ reply comes after 1 s, with a 100-byte SIZE limit."""
    with Sandbox(SandboxConfig(reply_delay=1.0, data_size_limit=100)) as sb:
        yield sb


def decisions(sandbox: Sandbox, w) -> tuple[Decision, ...]:
    """The decisions on the test's one connection (NOOP first: the server has handled everything before it)."""
    w.command("NOOP")
    [connection] = sandbox.connections
    return connection.decisions


def envelope(w, *rcpts: str, sender: str = "s@example.com") -> None:
    assert w.command(f"MAIL FROM:<{sender}>").startswith("250 ")
    for rcpt in rcpts:
        w.command(f"RCPT TO:<{rcpt}>")


# -- the decision log -----------------------------------------------------------


def test_refusals_at_rcpt_are_logged_with_their_reply_and_transaction(sandbox: Sandbox, w) -> None:
    assert w.command("RCPT TO:<early@example.com>").startswith("503 ")  # no MAIL yet: no decision about it
    envelope(w, "reject@example.com", "greylist@example.com", "full@example.com", "ok@example.com")
    log = decisions(sandbox, w)
    assert [(d.transaction, d.address, d.stage, d.code) for d in log] == [
        (1, "reject@example.com", "RCPT", 550),
        (1, "greylist@example.com", "RCPT", 451),
        (1, "full@example.com", "RCPT", 452),
    ]
    assert log[0].reply.startswith("550 5.1.1 <reject@example.com>") and log[0].fault is None


def test_the_reply_after_the_message_is_logged_per_recipient(sandbox: Sandbox, w) -> None:
    envelope(w, "a@example.com", "b@example.com")
    assert w.command("DATA").startswith("354 ")
    assert w.command(MESSAGE + b".").startswith("250 ")
    assert w.command("RSET").startswith("250 ")
    envelope(w, "c@example.com")
    assert w.command("DATA").startswith("354 ")
    assert w.command(b"X-Sandbox-Reject: yes\r\n\r\nno\r\n.").startswith("554 ")
    log = decisions(sandbox, w)
    assert [(d.transaction, d.address, d.stage, d.code) for d in log] == [
        (1, "a@example.com", "end of data", 250),
        (1, "b@example.com", "end of data", 250),
        (2, "c@example.com", "end of data", 554),
    ]
    [message] = sandbox.messages
    assert (message.transaction, message.rcpt_tos, message.fault) == (1, ("a@example.com", "b@example.com"), None)


def test_bdat_and_a_refused_data_are_logged(sandbox: Sandbox, w) -> None:
    envelope(w, "a@example.com")
    w.send(b"BDAT 3\r\nabc")
    assert w.reply().startswith("250 ")
    assert w.command("DATA").startswith("503 ")  # RFC 3030: DATA after BDAT
    w.send(b"BDAT 2 LAST\r\nde")
    assert w.reply().startswith("250 ")
    log = decisions(sandbox, w)
    assert [(d.address, d.stage, d.code) for d in log] == [
        ("a@example.com", "DATA", 503), ("a@example.com", "BDAT LAST", 250)]
    assert sandbox.messages[0].chunks == (3, 2)


def test_a_refused_chunk_is_logged_for_every_recipient(quick: Sandbox, wire) -> None:
    quick.clear_connections()
    w = wire(quick.endpoints.smtp)
    w.ehlo()
    envelope(w, "a@example.com", "b@example.com")
    w.send(b"BDAT 200\r\n" + b"x" * 200)
    assert w.reply().startswith("552 5.3.4")
    assert [(d.address, d.stage, d.code) for d in decisions(quick, w)] == [
        ("a@example.com", "BDAT", 552), ("b@example.com", "BDAT", 552)]


def test_lmtp_logs_each_recipients_own_reply(sandbox: Sandbox, ep: Endpoints, wire) -> None:
    w = wire(ep.lmtp)
    w.ehlo(verb="LHLO")
    envelope(w, "full@example.com", "b@example.com")
    assert w.command("DATA").startswith("354 ")
    w.send(MESSAGE + b".\r\n")
    assert w.reply().startswith("452 ") and w.reply().startswith("250 ")
    assert [(d.address, d.stage, d.code) for d in decisions(sandbox, w)] == [
        ("full@example.com", "end of data", 452), ("b@example.com", "end of data", 250)]


# -- drop@ ------------------------------------------------------------------------


def test_drop_receives_the_whole_message_then_closes_without_a_reply(sandbox: Sandbox, w) -> None:
    envelope(w, "a@example.com", "drop@example.com")
    assert w.command("DATA").startswith("354 ")
    w.send(MESSAGE + b".\r\n")
    assert w.at_eof()
    [message] = sandbox.wait_for_messages(1)
    assert (message.content, message.rcpt_tos, message.fault) == (MESSAGE, ("a@example.com", "drop@example.com"), "drop")
    [connection] = sandbox.wait_for_connections(1, where=lambda c: c.closed)
    assert {(d.address, d.stage, d.fault) for d in connection.decisions} == {
        ("a@example.com", "end of data", "drop"), ("drop@example.com", "end of data", "drop")}


def test_drop_after_bdat_last(sandbox: Sandbox, w) -> None:
    envelope(w, "drop@example.com")
    w.send(b"BDAT 5 LAST\r\nhello")
    assert w.at_eof()
    [message] = sandbox.wait_for_messages(1)
    assert (message.content, message.chunks, message.fault) == (b"hello", (5,), "drop")


def test_drop_over_lmtp(sandbox: Sandbox, ep: Endpoints, wire) -> None:
    w = wire(ep.lmtp)
    w.ehlo(verb="LHLO")
    envelope(w, "drop@example.com", "b@example.com")
    assert w.command("DATA").startswith("354 ")
    w.send(MESSAGE + b".\r\n")
    assert w.at_eof()
    assert sandbox.wait_for_messages(1)[0].fault == "drop"


def test_a_drop_recipient_is_accepted_at_rcpt(sandbox: Sandbox, w) -> None:
    envelope(w, "drop@example.com")
    assert w.command("RSET").startswith("250 ")  # no message: nothing dropped
    assert decisions(sandbox, w) == ()


# -- delay@ -----------------------------------------------------------------------


def test_delay_outlasts_a_short_client_timeout_but_the_message_arrived(quick: Sandbox, wire) -> None:
    quick.clear_messages()
    quick.clear_connections()
    w = wire(quick.endpoints.smtp)
    w.ehlo()
    envelope(w, "delay@example.com")
    assert w.command("DATA").startswith("354 ")
    w.sock.settimeout(0.2)
    w.send(MESSAGE + b".\r\n")
    with pytest.raises(socket.timeout):
        w.reply()
    [message] = quick.wait_for_messages(1)
    assert (message.rcpt_tos, message.fault) == (("delay@example.com",), "delay")


def test_delay_answers_a_patient_client(quick: Sandbox, wire) -> None:
    quick.clear_messages()
    quick.clear_connections()
    w = wire(quick.endpoints.smtp)
    w.ehlo()
    envelope(w, "delay@example.com")
    w.send(b"BDAT 5 LAST\r\nhello")
    assert w.reply().startswith("250 2.0.0")
    assert w.command("NOOP").startswith("250")
    assert [(d.stage, d.fault) for d in decisions(quick, w)] == [("BDAT LAST", "delay")]


# -- configuration ----------------------------------------------------------------


@pytest.mark.parametrize("addresses, fault", [
    (["a@x", "DROP@x"], "drop"), (["Delay@x"], "delay"), (["delay@x", "drop@x"], "drop"),
    (["dropped@x", "a@delay"], None), ([], None),
])
def test_which_recipients_spoil_the_reply(addresses: list[str], fault: str | None) -> None:
    assert reply_fault(addresses) == fault


def test_reply_delay_option_and_help() -> None:
    parser = build_parser()
    assert config_from_args(parser.parse_args(["--reply-delay", "2.5"])).reply_delay == 2.5
    assert config_from_args(parser.parse_args([])).reply_delay == SandboxConfig().reply_delay == 10.0
    text = parser.format_help()
    assert "drop@" in text and "delay@" in text and "--reply-delay" in text
    with pytest.raises(ValueError):
        SandboxConfig(reply_delay=-1)
