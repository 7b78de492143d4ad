"""The app's password dialog asks for explicit consent before a password goes out without TLS."""

from __future__ import annotations

from textual.widgets import Button, Checkbox

from smtpdbg.core import SessionOptions, parse_target
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.password import PasswordScreen
from smtpdbg.tui.widgets.prompt import CommandPrompt
from tests.servers import FakeServer, esmtp
from tests.tui.conftest import wait_for

EHLO = b"250-plain.test\r\n250 AUTH PLAIN LOGIN\r\n"


def received(server: FakeServer) -> bytes:
    return b"".join(bytes(conn.received) for conn in server.connections)


async def test_the_password_goes_out_in_cleartext_only_once_the_box_is_ticked(history):
    with FakeServer(esmtp(EHLO=EHLO, AUTH=b"235 2.7.0 ok\r\n")) as server:
        app = SmtpdbgApp(parse_target(server.target), SessionOptions(timeout=5, local_hostname="client.test"),
                         history=history, startup=("connect", "ehlo"), latency=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: len(app.outcomes) >= 2 and not app.pending, what="startup")
            app.query_one(CommandPrompt).set_text("auth PLAIN alice")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen) and app.screen.query("#plaintext"),
                           what="password dialog with the consent box")
            dialog = app.screen
            assert dialog.query_one("#ok", Button).disabled
            await pilot.press(*"wonderland", "enter")  # Enter alone does not send it
            await pilot.pause()
            assert app.screen is dialog and b"AUTH" not in received(server)
            dialog.query_one("#plaintext", Checkbox).value = True
            await pilot.pause()
            assert not dialog.query_one("#ok", Button).disabled
            dialog.query_one("#password").focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.state.authenticated, what="authenticated")
            commands = [o.command for o in app.outcomes]
            assert commands[-2:] == ["set plaintext-auth once", "auth PLAIN alice"]  # the consent is on record
            # once means once: the next AUTH asks again
            app.query_one(CommandPrompt).set_text("auth LOGIN alice")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen) and app.screen.query("#plaintext"),
                           what="the consent box again")
            await pilot.press("escape")
    assert received(server).upper().count(b"AUTH") == 1


async def test_the_dialog_asks_for_consent_only_when_the_core_would_refuse(history):
    """The consent box follows the core's decision (Needs.consent): a `set plaintext-auth once` typed first is
    honoured, and the password typed later on a command line is kept masked in the history."""
    with FakeServer(esmtp(EHLO=EHLO, AUTH=b"235 2.7.0 ok\r\n")) as server:
        app = SmtpdbgApp(parse_target(server.target), SessionOptions(timeout=5, local_hostname="client.test"),
                         history=history, startup=("connect", "ehlo"), latency=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: len(app.outcomes) >= 2 and not app.pending, what="startup")
            for line in ("set plaintext-auth once", "auth PLAIN alice"):
                app.query_one(CommandPrompt).set_text(line)
                await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen), what="password dialog")
            dialog = app.screen
            assert not dialog.query("#plaintext") and not dialog.query_one("#ok", Button).disabled
            await pilot.press(*"wonder-pw", "enter")
            await wait_for(pilot, lambda: app.state.authenticated, what="authenticated")
            app.query_one(CommandPrompt).set_text("docmd NOOP wonder-pw")  # typed again by mistake
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.outcomes[-1].command.startswith("docmd") and not app.pending,
                           what="docmd")
    assert "wonder-pw" not in "\n".join(history.entries) and "docmd NOOP ********" in history.entries


async def test_no_password_dialog_opens_for_a_login_after_the_connection_is_gone(history):
    """The session's needs say the login cannot be sent: it is submitted as it is and says "not connected"."""
    with FakeServer(esmtp(EHLO=lambda conn, line: conn.close())) as server:
        app = SmtpdbgApp(parse_target(server.target), SessionOptions(timeout=5, local_hostname="client.test"),
                         history=history, startup=("connect", "ehlo"), latency=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: len(app.outcomes) >= 2 and not app.pending, what="startup")
            assert not app.state.connected
            app.query_one(CommandPrompt).set_text("login alice")
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(app.outcomes) >= 3 and not app.pending, what="the login's outcome")
            assert not isinstance(app.screen, PasswordScreen)
            outcome = app.outcomes[-1]
            assert outcome.command == "login alice" and outcome.category == "not-connected", outcome
