"""`mailbox`: what the embedded sandbox delivered, as stored (Return-Path, Received, headers)."""

from __future__ import annotations

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.events import Info
from smtpdbg.core.handlers.mailbox import EMPTY, NOT_SANDBOX

MESSAGE = (b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
           b"Subject: Lunch\r\n\r\nNoon?\r\n")


def infos(session: Session, command: str) -> list[str]:
    mark = len(session.transcript.snapshot())
    assert session.execute(command).ok
    return [event.text for event in session.transcript.snapshot()[mark:] if isinstance(event, Info)]


def test_mailbox_lists_and_shows_what_was_delivered(make_session, sandbox) -> None:
    session = make_session(mailbox=sandbox)
    assert session.execute("connect").ok
    assert infos(session, "mailbox") == [EMPTY]
    assert session.execute("ehlo").ok
    assert session.execute("sendmail bounce@example.com bob@example.com,carol@example.com", body=MESSAGE).ok
    listing = infos(session, "mailbox")
    assert listing[1].startswith("  1. from <bounce@example.com> to <bob@example.com>, <carol@example.com>  — Lunch")
    shown = "\n".join(infos(session, "mailbox 1"))
    assert "envelope sender (MAIL FROM): <bounce@example.com>" in shown
    assert "    Return-Path: <bounce@example.com>" in shown
    assert "    Received: from client.smtpdbg.test ([127.0.0.1])" in shown
    assert "    Subject: Lunch" in shown and "    Noon?" in shown


def test_mailbox_number_out_of_range_is_an_error_not_a_traceback(make_session, sandbox) -> None:
    session = make_session(mailbox=sandbox)
    outcome = session.execute("mailbox 7")
    assert not outcome.ok and "mailbox" in outcome.message


def test_mailbox_says_so_when_the_target_is_not_the_embedded_sandbox(sandbox, endpoints) -> None:
    host, port = endpoints.smtp
    with Session(Target("smtp", host, port), SessionOptions(timeout=5, mailbox=sandbox)) as session:
        outcome = session.execute("mailbox")
    assert not outcome.ok and NOT_SANDBOX in outcome.message


def test_mailbox_without_a_sandbox_object_says_so(make_session) -> None:
    outcome = make_session().execute("mailbox")
    assert not outcome.ok and NOT_SANDBOX in outcome.message
