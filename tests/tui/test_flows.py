"""Pilot tests of the app's flows against the sandbox running in a subprocess."""

from __future__ import annotations

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.composer import ComposerScreen
from smtpdbg.tui.screens.password import PasswordScreen
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.widgets.inspector import Inspector
from smtpdbg.tui.widgets.prompt import CommandPrompt, CompletionMenu
from smtpdbg.tui.widgets.transcript import TranscriptView
from tests.servers import FakeServer, esmtp
from tests.tui.conftest import transcript_text, wait_for

SIZE = (120, 40)


def make_app(sandbox, history, **kwargs) -> SmtpdbgApp:
    return SmtpdbgApp(sandbox.target(), sandbox.options(), history=history, latency=False, **kwargs)


async def ready(pilot, app: SmtpdbgApp, count: int = 2) -> None:
    await wait_for(pilot, lambda: len(app.outcomes) >= count and not app.state.busy, what=f"{count} outcomes")


async def run(pilot, app: SmtpdbgApp, text: str, **kwargs) -> None:
    before = len(app.outcomes)
    app.submit(text, **kwargs)
    await wait_for(pilot, lambda: len(app.outcomes) > before and not app.state.busy, what=text)


def _plain(static) -> str:
    """The text a Static shows (its content is a Rich renderable or a string)."""
    import io

    from rich.console import Console

    content = static.content
    if isinstance(content, str):
        return content
    console = Console(width=100, file=io.StringIO(), record=True)
    console.print(content)
    return console.export_text()


async def test_opens_connected_and_ehlo_fills_the_inspector(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        assert [o.command for o in app.outcomes] == ["connect", "ehlo"]
        assert app.state.does_esmtp and app.state.features.has("starttls")
        features = _plain(app.query_one("#inspect-features"))
        assert "STARTTLS" in features and "SIZE" in features and "32 MiB" in features
        assert "True" in _plain(app.query_one("#inspect-greeting"))
        assert "starttls" in _plain(app.query_one("#inspect-next"))
        text = transcript_text(app)
        assert "<-  220 sandbox.smtpdbg.test" in text and "<-  250 HELP" in text.replace("250-", "250 ")


async def test_completion_of_arguments_from_the_live_session(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        prompt = app.query_one(CommandPrompt)
        menu = app.query_one(CompletionMenu)

        def options() -> list[str]:
            return [str(menu.get_option_at_index(i).prompt).split()[0] for i in range(menu.option_count)]

        await pilot.press(*"eh")  # typing opens the menu
        await wait_for(pilot, lambda: menu.display, what="menu")
        assert options()[:2] == ["ehlo", "ehlo_or_helo_if_needed"]
        await pilot.press("tab", "tab", "tab", "enter")  # Tab cycles (and wraps); Enter takes the candidate
        await wait_for(pilot, lambda: prompt.input.value == "ehlo ", what="ehlo completed")
        await wait_for(pilot, lambda: menu.display and "client.smtpdbg.test" in options(), what="hostname candidates")

        prompt.set_text("auth ")
        await pilot.press("tab")
        await wait_for(pilot, lambda: menu.display, what="mechanisms")
        assert options()[:3] == ["PLAIN", "LOGIN", "CRAM-MD5"]  # advertised ones first
        await pilot.press("tab", "tab", "enter")  # second candidate
        await wait_for(pilot, lambda: prompt.input.value == "auth LOGIN ", what="LOGIN")
        await wait_for(pilot, lambda: "expects USER" in _plain(prompt.query_one("#hint")), what="hint")

        prompt.set_text("docmd ")
        await pilot.press("tab")
        await wait_for(pilot, lambda: menu.display, what="docmd verbs")
        assert "ETRN" in options()[:8]  # advertised by this sandbox: offered first

        prompt.set_text("data @tests/tui/sandbox_ser")
        await pilot.press("tab")
        await wait_for(pilot, lambda: prompt.input.value == "data @tests/tui/sandbox_server.py ", what="file completion")

        prompt.set_text("")
        await pilot.press(*"mail x y --bogus")
        await wait_for(pilot, lambda: prompt.input.has_class("-invalid"), what="invalid marker")
        await pilot.press("enter")
        assert prompt.input.value == "mail x y --bogus"  # not sent
        assert len(app.outcomes) == 2


async def test_starttls_then_auth_with_the_masked_prompt(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await run(pilot, app, "starttls")
        await run(pilot, app, "ehlo")
        assert app.state.tls is not None and app.state.tls.verified
        assert "verified" in _plain(app.query_one("#inspect-tls"))
        prompt = app.query_one(CommandPrompt)
        prompt.set_text("auth PLAIN alice")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen), what="password prompt")
        await pilot.press(*"wonderland")
        screenshot = app.export_screenshot()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.authenticated, what="authenticated")
        assert app.state.auth_user == "alice"
        view = app.query_one(TranscriptView)
        assert any(view.store.kinds[i] & R.MASKED for i in range(len(view.store)))
        everything = transcript_text(app) + "\n".join(view.store.notes.values()) + "\n".join(view.store.texts)
        history_file = history.path.read_text()
        assert "auth PLAIN alice" in history_file
        for place in (everything, history_file, screenshot, app.export_screenshot()):
            # the sandbox's public demo credentials are announced on purpose in the welcome line
            place = place.replace("alice / wonderland", "").replace("alice&#160;/&#160;wonderland", "")
            assert "wonderland" not in place
            assert "d29uZGVybGFuZA" not in place  # base64 of it, too


async def test_data_through_the_composer(sandbox_remote, history):
    class Pinned(SmtpdbgApp):
        def message_headers(self):
            return {"date": "Mon, 01 Jan 2024 00:00:00 +0000", "message_id": "<fixed@client.smtpdbg.test>"}

    app = Pinned(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await run(pilot, app, "mail alice@sandbox.smtpdbg.test")
        await run(pilot, app, "rcpt bob@sandbox.smtpdbg.test")
        app.query_one(CommandPrompt).set_text("data")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen), what="composer")
        composer = app.screen
        editor = composer.query_one("#editor")
        editor.text = "Subject: dots\n\n.leading dot\nplain\n"
        await pilot.pause()
        assert "1 dot-stuffed" in _plain(composer.query_one("#wire-summary"))
        expected = composer.body
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.outcomes[-1].command == "data", what="data outcome")
        assert app.outcomes[-1].ok and app.outcomes[-1].code == 250
        await wait_for(pilot, lambda: sandbox_remote.messages(), what="message spooled")
        [(envelope, content)] = sandbox_remote.messages()
        assert envelope["mail_from"] == "alice@sandbox.smtpdbg.test" and envelope["rcpt_tos"] == ["bob@sandbox.smtpdbg.test"]
        assert expected == b"Subject: dots\r\n\r\n.leading dot\r\nplain\r\n"
        assert content.rstrip(b"\r\n") == expected.rstrip(b"\r\n")
        assert " -> ..leading dot" in transcript_text(app)  # the wire form, dot-stuffed


async def test_composer_template_and_cancel(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await run(pilot, app, "mail carol@sandbox.smtpdbg.test")
        await run(pilot, app, "rcpt dave@sandbox.smtpdbg.test")
        app.query_one(CommandPrompt).set_text("data")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen), what="composer")
        text = app.screen.query_one("#editor").text
        assert "From: <carol@sandbox.smtpdbg.test>" in text and "To: <dave@sandbox.smtpdbg.test>" in text
        assert "Message-ID: <" in text and "Date: " in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposerScreen), what="closed")
        assert "cancelled in the composer, nothing sent" in transcript_text(app)
        assert app.outcomes[-1].command.startswith("rcpt")


async def test_the_sendmail_composer_addresses_the_message_like_the_command(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        app.query_one(CommandPrompt).set_text("sendmail carol@sandbox.smtpdbg.test dave@sandbox.smtpdbg.test,"
                                              "erin@sandbox.smtpdbg.test")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen) and app.screen.query("#editor"),
                       what="composer")
        text = app.screen.query_one("#editor").text
        assert "From: <carol@sandbox.smtpdbg.test>\nTo: <dave@sandbox.smtpdbg.test>, <erin@sandbox.smtpdbg.test>\n" in text
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(app.outcomes) == 3 and not app.state.busy, what="sent")
        [(envelope, content)] = sandbox_remote.messages()
        assert b"To: <dave@sandbox.smtpdbg.test>, <erin@sandbox.smtpdbg.test>" in content


async def test_error_reply_is_explained_and_notified(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot, app)
        await run(pilot, app, "mail alice@sandbox.smtpdbg.test")
        await run(pilot, app, "rcpt reject@sandbox.smtpdbg.test")
        assert app.outcomes[-1].code == 550
        text = transcript_text(app)
        assert "<** 550 5.1.1" in text
        assert "5.1.1 Bad destination mailbox address" in text
        assert any("550" in n.message for n in app._notifications)
        view = app.query_one(TranscriptView)
        assert any(view.store.kinds[i] & R.KIND == R.EXPLAIN for i in range(len(view.store)))
        await run(pilot, app, "rcpt bob@sandbox.smtpdbg.test")  # the app keeps working
        assert app.outcomes[-1].ok


async def test_search_and_filter(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await run(pilot, app, "mail alice@sandbox.smtpdbg.test")
        await run(pilot, app, "rcpt reject@sandbox.smtpdbg.test")
        view = app.query_one(TranscriptView)
        await pilot.press("ctrl+f")
        await pilot.press(*"8BITMIME", "enter")
        await wait_for(pilot, lambda: view.cursor >= 0 and "8BITMIME" in view.line_text(view.cursor), what="match")
        first = view.cursor
        assert not view.follow
        await pilot.press("escape")
        assert view.has_focus
        await pilot.press("n")  # only one match: wraps to itself
        assert view.cursor == first
        total = view.line_count
        before = [view.line_text(i) for i in range(total)]
        view.filter = "errors"
        await pilot.pause()
        lines = [view.line_text(i) for i in range(view.line_count)]
        assert 0 < len(lines) < total and all("250" not in line for line in lines)
        assert any(line.startswith("<** 550") for line in lines)
        view.filter = "client"
        await pilot.pause()
        assert all(view.line_text(i).startswith((" -> ", "  ▸ ")) for i in range(view.line_count) if not view.part_at(i))
        view.filter = "all"
        await pilot.pause()
        # Every line is back, in order (an event the pump delivers late may add one at the end).
        assert [view.line_text(i) for i in range(total)] == before


async def settled(pilot, view, quiet: int = 4) -> None:
    """Let the event pump deliver what is still under way: the view's line count stays the same a few frames."""
    count, same = view.line_count, 0
    for _ in range(100):
        await pilot.pause(0.05)
        same = same + 1 if view.line_count == count else 0
        count = view.line_count
        if same >= quiet:
            return


async def test_long_data_collapses_and_expands(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await run(pilot, app, "mail alice@sandbox.smtpdbg.test")
        await run(pilot, app, "rcpt bob@sandbox.smtpdbg.test")
        body = "Subject: long\r\n\r\n" + "".join(f"line {n}\r\n" for n in range(300))
        await run(pilot, app, "data", body=body)
        assert app.outcomes[-1].ok
        view = app.query_one(TranscriptView)
        [summary] = [i for i in range(view.line_count) if view.line_text(i).startswith(" -> DATA: 303 lines")]
        summary_row = view.row_at(summary)[0]
        await settled(pilot, view)  # late events may still add lines: the counts below start from a quiet view
        summary = view.index_of(summary_row)
        collapsed = view.line_count
        view.focus()
        view.move_cursor(summary)
        await pilot.press("enter")
        await pilot.pause()
        summary = view.index_of(summary_row)
        assert view.line_count > collapsed + 200
        # The body follows its summary (the summary row may take more than one display line when it wraps).
        start = next(i for i in range(summary, view.line_count) if view.line_text(i) == " -> Subject: long")
        assert start - summary <= 3 and view.line_text(start + 2) == " -> line 0"
        assert "▾ Enter collapses" in view.line_text(summary)
        view.filter = "client"  # expansions survive a filter
        await pilot.pause()
        assert any(view.line_text(i) == " -> line 5" for i in range(view.line_count))
        view.filter = "all"
        await pilot.pause()
        view.move_cursor(view.index_of(summary_row))
        await pilot.press("enter")
        await settled(pilot, view)
        assert view.line_count == collapsed


async def test_abort_of_a_hung_command(history):
    def hang(conn, line):
        conn.hang(30)

    with FakeServer(esmtp(NOOP=hang)) as server:
        app = SmtpdbgApp(Target("smtp", server.host, server.port), SessionOptions(timeout=30, local_hostname="client.test"),
                         history=history, latency=False, startup=("connect", "ehlo"))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            app.submit("noop")
            await wait_for(pilot, lambda: app.state.busy, what="busy")
            assert app.check_action("abort", ()) is True
            await pilot.press("escape")
            await wait_for(pilot, lambda: len(app.outcomes) == 3, what="aborted outcome")
            assert app.outcomes[-1].category == "aborted"
            assert "abort" in transcript_text(app)
            assert not app.state.busy
            await run(pilot, app, "reconnect")  # still usable
            assert app.outcomes[-1].ok


async def test_history_is_persisted_and_walked(sandbox_remote, history):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        prompt = app.query_one(CommandPrompt)
        prompt.set_text("noop")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.outcomes) == 3, what="noop")
        prompt.set_text("help")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.outcomes) == 4, what="help")
        await pilot.press("up")
        assert prompt.input.value == "help"
        await pilot.press("up")
        assert prompt.input.value == "noop"
        await pilot.press("down", "down")
        assert prompt.input.value == ""
    assert history.path.read_text().splitlines()[-2:] == ["noop", "help"]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_layout_adapts_to_the_terminal(sandbox_remote, history, size):
    app = make_app(sandbox_remote, history)
    async with app.run_test(size=size) as pilot:
        await ready(pilot, app)
        inspector = app.query_one(Inspector)
        assert inspector.display is (size[0] >= 100)
        await pilot.press("f2")
        assert inspector.display is (size[0] < 100)
        assert app.query_one(TranscriptView).size.height >= 14
