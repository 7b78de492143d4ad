"""Inline meanings for the line-mode frontends (smtpdbg.core.describe.Annotator), from a real session's events."""

from __future__ import annotations

from smtpdbg.core.describe import Annotator


def annotate(session, annotator: Annotator) -> list[str]:
    return [line for event in session.transcript.snapshot() for line in annotator.lines(event)]


def test_replies_are_annotated_in_their_context(session):
    for command in ("ehlo", "mail alice@sandbox.smtpdbg.test", "rcpt reject@sandbox.smtpdbg.test",
                    "rcpt greylist@sandbox.smtpdbg.test", "rcpt bob@sandbox.smtpdbg.test"):
        session.execute(command)
    session.execute("data", body=b"Subject: hi\r\n\r\nhello\r\n")
    lines = annotate(session, Annotator())
    assert lines[0] == "220 as the greeting → ok: service ready"
    assert "SIZE → 32 MiB maximum message size" in lines
    assert not any(line.startswith("250 to EHLO") for line in lines)  # the extension lines said it all
    assert "550 5.1.1 at RCPT → permanent failure: no such recipient" in lines
    assert any(line.startswith("451 4.7.1 at RCPT → temporary failure: deferred by policy: greylisting")
               for line in lines)
    assert "354 to DATA → go on: go ahead: send the message" in lines
    assert any(line.startswith("250 2.0.0 after the final dot → ok: message accepted") for line in lines)


def test_run_gets_failures_with_the_next_step(session):
    session.execute("ehlo")
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt reject@sandbox.smtpdbg.test")
    lines = annotate(session, Annotator(failures_only=True))
    assert lines[0] == "550 5.1.1 at RCPT → permanent failure: no such recipient"
    assert lines[1].startswith("next: Check the address")
    assert lines[2].startswith("transaction: goes on")
    assert len(lines) == 3
