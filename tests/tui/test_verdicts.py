"""The app shows what the core decided: one verdict per reply, the ledger's fates, the state (Pilot, real sessions).

A reply refused however it was typed (``rcpt``, ``docmd``, ``raw``) is coloured and lights the stage strip the
same way; a code outside 200-599 is a violation in the app, the REPL and the text renderer alike; per-recipient
outcomes of an LMTP message appear in the transcript, the strip and the inspector; SMTPS lights TLS at once; the
status bar forgets the authentication with the connection.
"""

from __future__ import annotations

import io

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.core.render import TextRenderer
from smtpdbg.core.session import Session
from smtpdbg.repl.printer import TranscriptPrinter
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.model.stages import DATA, MAIL, RCPT, TLS
from smtpdbg.tui.widgets.inspector import Inspector
from smtpdbg.tui.widgets.stages import StageStrip
from smtpdbg.tui.widgets.status import StatusBar
from smtpdbg.tui.widgets.transcript import TranscriptView
from tests.servers import FakeServer, esmtp
from tests.tui.conftest import transcript_text, wait_for
from tests.tui.fakes import FakeSession

SIZE = (140, 40)
BODY = b"Subject: fates\r\n\r\nhi\r\n"


def strip_text(app) -> str:
    return app.query_one(StageStrip).render().plain


def styled_lines(app, prefix: str) -> list[tuple[str, str]]:
    """(style, text) of each transcript line whose text starts with ``prefix`` (after its marker; not the
    explanations of a failure, which may start the same)."""
    view = app.query_one(TranscriptView)
    found = []
    for index in range(view.line_count):
        parts = view.line_parts(index)
        if len(parts) > 1 and parts[1][0].startswith(prefix) and parts[1][1] != "explain":
            found.append((parts[1][1], parts[0][0] + parts[1][0]))
    return found


def command_verdict(app, command: str) -> tuple[str, str]:
    """(style, text) of the verdict on the last command row for ``command``."""
    view = app.query_one(TranscriptView)
    found = None
    for index in range(view.line_count):
        parts = view.line_parts(index)
        if len(parts) > 2 and parts[1][0].startswith(command) and parts[1][1] == "command":
            found = (parts[2][1], parts[2][0].strip())
    assert found is not None, f"no {command} row"
    return found


def inspector_text(app, section: str) -> str:
    from rich.console import Console

    console = Console(width=60, record=True, file=io.StringIO())
    console.print(app.query_one(f"#inspect-{section}").content)
    return " ".join(console.export_text().split())  # the panel wraps: compare words


async def run(pilot, app, *commands: str, body: bytes = BODY) -> None:
    for command in commands:
        before = len(app.outcomes)
        app.submit(command, body=body if command == "data" else None)
        await wait_for(pilot, lambda: len(app.outcomes) > before and not app.state.busy, what=command)


def fake_app(tmp_path) -> SmtpdbgApp:
    return SmtpdbgApp(Target("smtp", "mx.example.test", 25), SessionOptions(local_hostname="client.smtpdbg.test"),
                      session_factory=FakeSession, history=History(tmp_path / "history"), latency=False,
                      startup=("connect", "ehlo"))


@pytest.mark.parametrize("typed", ["mail reject@example.test", "docmd MAIL FROM:<reject@example.test>",
                                   "raw MAIL FROM:<reject@example.test>"])
async def test_a_refused_mail_is_red_and_fails_mail_on_the_strip_however_it_was_typed(tmp_path, typed):
    app = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="ehlo")
        await run(pilot, app, typed)
        [(style, line)] = styled_lines(app, "550 5.1.0")
        assert style == "recv-5" and line.startswith("<** ")
        assert app.query_one(StageStrip).track.segments()[MAIL].code == 550 and "MAIL ✗550" in strip_text(app)


@pytest.mark.parametrize("typed", ["rcpt reject@example.org", "docmd RCPT TO:<reject@example.org>",
                                   "raw RCPT TO:<reject@example.org>"])
async def test_a_refused_recipient_is_red_and_fails_rcpt_on_a_real_server(sandbox_remote, history, typed):
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2 and not app.state.busy, what="ehlo")
        await run(pilot, app, "mail a@example.org", typed)
        [(style, line)] = styled_lines(app, "550 5.1.1")
        assert style == "recv-5" and line.startswith("<** ")
        segments = app.query_one(StageStrip).track.segments()
        assert segments[MAIL].status == "current" and segments[RCPT].status == "failed" and segments[RCPT].code == 550
        assert "RCPT ✗550" in strip_text(app)


@pytest.mark.parametrize("code", [150, 650, 999])
async def test_a_code_outside_the_classes_is_a_violation_in_the_app_the_repl_and_the_renderer(tmp_path, code):
    with FakeServer(esmtp(NOOP=f"{code} odd\r\n".encode())) as server:
        target = Target("smtp", server.host, server.port)
        app = SmtpdbgApp(target, SessionOptions(timeout=10, local_hostname="client.smtpdbg.test"),
                         history=History(tmp_path / "history"), latency=False, startup=("connect", "ehlo", "noop"))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(app.outcomes) == 3 and not app.state.busy, what="noop")
            [(style, line)] = styled_lines(app, f"{code} odd")
            assert style == "recv-bad" and line.startswith("<** ")
            assert [o.ok for o in app.outcomes] == [True, True, False]
            events = app.session.transcript.snapshot()
    renderer = TextRenderer(color=True)
    rendered = [line for event in events for line in renderer.render(event)]
    [line] = [line for line in rendered if f"{code} odd" in line]
    assert line == f"\x1b[35m<** {code} odd\x1b[0m"  # the violation colour, as junk gets
    out = io.StringIO()
    printer = TranscriptPrinter(out, False)
    for event in events:
        printer(event)
    assert f"<** {code} odd\n" in out.getvalue()
    assert f"<-  250 8BITMIME\n" in out.getvalue()  # while a valid reply stays plain


async def test_an_lmtp_message_shows_each_recipient_s_fate_in_the_transcript_strip_and_inspector(sandbox_remote, history):
    app = SmtpdbgApp(sandbox_remote.target("lmtp"), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2 and not app.state.busy, what="lhlo")
        await run(pilot, app, "mail a@example.org", "rcpt bob@example.org", "rcpt carol@example.org",
                  "rcpt full@example.org", "data")
        assert styled_lines(app, "bob@example.org: ") == [
            ("fate-ok", "  ⇒ bob@example.org: accepted at end of data (LMTP): 250 2.0.0")]
        assert styled_lines(app, "full@example.org: ") == [
            ("fate-temporary", "  ⇒ full@example.org: temporary failure at end of data (LMTP): 452 4.2.2")]
        [(style, _)] = styled_lines(app, "452 4.2.2 <full@example.org> Mailbox full")
        assert style == "recv-4"
        segment = app.query_one(StageStrip).track.segments()[DATA]
        assert (segment.tally, segment.tally_status) == ("2/3 ✓", "partial") and "DATA 2/3 ✓" in strip_text(app)
        panel = inspector_text(app, "transaction")
        assert "transaction 1: partly delivered" in panel
        assert "RCPT TO <bob@example.org> accepted at end of data (LMTP) (250 2.0.0)" in panel
        assert "RCPT TO <full@example.org> temporary failure at end of data (LMTP) (452 4.2.2)" in panel
        [(envelope, _)] = sandbox_remote.messages()
        assert envelope["rcpt_tos"] == ["bob@example.org", "carol@example.org"]
        # The DATA command's own row says what the ledger says (2 of 3 delivered), not "✗ 452".
        assert command_verdict(app, "data") == ("warning", "◐ 2/3 ✓")


async def test_an_unknown_outcome_is_shown_as_unknown_everywhere(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="ehlo")
        await run(pilot, app, "mail a@example.test", "rcpt bob@example.test", "data",
                  body=b"X-Fake-Drop: yes\r\n\r\nhi\r\n")
        text = transcript_text(app)
        assert "*** no reply after the message (its final dot): connection lost" in text
        assert "  ⇒ bob@example.test: unknown after end of data" in text
        assert "    the message may have been delivered: a retry may deliver a duplicate" in text
        segment = app.query_one(StageStrip).track.segments()[DATA]
        assert segment.tally == "?/1 unknown" and "DATA ?/1 unknown" in strip_text(app)
        panel = inspector_text(app, "transaction")
        assert "transaction 1: unknown" in panel and "a retry may deliver a duplicate" in panel
        assert any(n.title == "Outcome unknown" for n in app._notifications)


async def test_smtps_lights_tls_at_connect(sandbox_remote, history):
    app = SmtpdbgApp(sandbox_remote.target("smtps"), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2 and not app.state.busy, what="ehlo")
        assert app.state.tls is not None and app.state.tls.implicit
        segments = app.query_one(StageStrip).track.segments()
        assert segments[TLS].status == "done" and segments[TLS + 1].status == "skipped"


async def test_the_status_bar_and_inspector_forget_the_authentication_after_a_disconnect(sandbox_remote, history):
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2 and not app.state.busy, what="ehlo")
        await run(pilot, app, "starttls", "ehlo")
        before = len(app.outcomes)
        app.submit("auth PLAIN alice", secret="wonderland")
        await wait_for(pilot, lambda: len(app.outcomes) > before and not app.state.busy, what="auth")
        status = app.query_one(StatusBar)
        assert "auth alice" in status.content.plain and "alice" in inspector_text(app, "auth")
        await run(pilot, app, "close")
        await pilot.pause()
        assert not app.state.connected
        assert "auth alice" not in status.content.plain
        assert "not authenticated" in inspector_text(app, "auth")
