"""The palette's "paste a swaks command": a swaks line runs as a session in the app, password asked masked."""

from __future__ import annotations

import base64

import pytest

from smtpdbg.sandbox.model import DEFAULT_PASSWORD
from smtpdbg.send.paste import PasteError, plan_from_swaks
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.password import PasswordScreen
from smtpdbg.tui.screens.pickers import AskScreen
from smtpdbg.tui.swaks_paste import ask_swaks
from tests.tui.conftest import transcript_text, wait_for


@pytest.mark.parametrize(("line", "why"), [
    ("swaks --to", "needs a value"),
    ("swaks --server mail.example.org", "recipient"),
    ("swaks --to a@example.org --auth-password hunter2", "password"),
    ("swaks 'unbalanced", "cannot split"),
])
def test_a_line_that_cannot_run_says_why(line, why):
    with pytest.raises(PasteError, match=why):
        plan_from_swaks(line)


async def test_a_pasted_swaks_line_runs_starttls_auth_and_a_message(sandbox_remote, history):
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    host, port = sandbox_remote.smtp
    line = (f"swaks --to bob@example.org --from alice@example.org --server {host}:{port} --tls "
            f"--tls-ca-path {sandbox_remote.ca} --auth LOGIN --auth-user alice --header 'Subject: pasted'")
    titles = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) >= 2, what="startup")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        ask_swaks(app)
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen) and bool(app.screen.query("#ask")), what="dialog")
        app.screen.query_one("#ask").value = line
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen), what="password dialog")
        await pilot.press(*DEFAULT_PASSWORD, "enter")
        await wait_for(pilot, lambda: len(sandbox_remote.messages()) == 1, what="delivery")
        await wait_for(pilot, lambda: app.state is not None and not app.state.connected, what="QUIT")
        text = transcript_text(app)
    assert "session: paste a swaks command…" in titles
    envelope, content = sandbox_remote.messages()[0]
    assert envelope["rcpt_tos"] == ["bob@example.org"] and envelope["tls"] and envelope["auth_user"] == "alice"
    assert b"Subject: pasted" in content
    assert "STARTTLS" in text and "AUTH LOGIN" in text
    # The password went out base64-encoded (AUTH LOGIN): the transcript shows a mask, never those bytes.
    assert base64.b64encode(DEFAULT_PASSWORD.encode()).decode() not in text
    assert text.count("wonderland") == text.count("alice / wonderland")  # only the sandbox's own welcome names it


async def test_a_bad_line_is_reported_and_the_session_stays(sandbox_remote, history):
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) >= 2, what="startup")
        before = app.session
        ask_swaks(app)
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen) and bool(app.screen.query("#ask")), what="dialog")
        app.screen.query_one("#ask").value = "swaks --server mail.example.org"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("recipient" in str(n.message) for n in app._notifications), what="notice")
        assert app.session is before and app.state.connected
