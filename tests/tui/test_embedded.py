"""`smtpdbg` with no target: the app opens first, then starts the embedded sandbox and greets it."""

from __future__ import annotations

from smtpdbg.core import SessionOptions
from smtpdbg.tui.app import SmtpdbgApp
from tests.tui.conftest import transcript_text, wait_for
from tests.tui.test_flows import SIZE


async def test_the_embedded_sandbox_starts_after_the_first_frame(history):
    app = SmtpdbgApp(None, SessionOptions(timeout=10, local_hostname="client.test"), history=history, latency=False,
                     embedded=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.session is None or not app.state.connected  # on screen before the sandbox is up
        await wait_for(pilot, lambda: len(app.outcomes) >= 2 and not app.state.busy, timeout=15, what="connect + ehlo")
        assert [o.ok for o in app.outcomes[:2]] == [True, True]
        state = app.state
        assert state.sandbox and state.connected and state.does_esmtp
        assert "220 sandbox.smtpdbg.test" in transcript_text(app)
        assert "demo login alice / wonderland" in transcript_text(app)
    assert app.sandbox is not None and not app.sandbox.running  # stopped on exit


async def test_without_a_target_local_commands_work_at_once(history):
    """The app always holds a session: explain and ? answer with no server, and connect TARGET just works."""
    from textual.screen import ModalScreen

    app = SmtpdbgApp(None, SessionOptions(timeout=10, local_hostname="client.test"), history=history, latency=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.session is not None and not app.state.connected
        for key in "explain 550":
            await pilot.press("space" if key == " " else key)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.outcomes and not app.state.busy, what="explain")
        assert app.outcomes[-1].ok
        assert not isinstance(app.screen, ModalScreen)  # no connect dialog
        assert "550" in transcript_text(app) and "mailbox" in transcript_text(app).lower()
