"""App actions: connect dialog, palette, save, copy, timestamps (scripted session unless a real one is needed)."""

from __future__ import annotations

import os
import stat

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.connect import ConnectScreen, build_request
from smtpdbg.tui.screens.password import PasswordScreen
from smtpdbg.tui.screens.pickers import AskScreen, HistoryScreen
from smtpdbg.tui.widgets.transcript import TranscriptView
from tests.tui.conftest import transcript_text, wait_for
from tests.tui.fakes import FakeSession


def fake_app(tmp_path, **kwargs) -> SmtpdbgApp:
    kwargs.setdefault("startup", ("connect", "ehlo"))
    kwargs.setdefault("history", History(tmp_path / "history"))
    return SmtpdbgApp(Target("smtp", "mx.example.test", 25), SessionOptions(local_hostname="client.smtpdbg.test"),
                      session_factory=FakeSession, latency=False, **kwargs)


def test_build_request_validates_fields(tmp_path):
    base = SessionOptions()
    request = build_request("mail.example.org", "smtps", "12", "me.example", "", False, True, False, base)
    assert request.target == Target("smtps", "mail.example.org", 465)
    assert request.options.insecure and request.options.timeout == 12 and request.options.local_hostname == "me.example"
    assert request.startup == ("connect", "ehlo")
    assert build_request("h:2525", "smtp", "5", "", "", True, True, True, base).startup == ("connect", "ehlo", "starttls", "ehlo")
    for args, field in ((("h:99999", "smtp", "5"), "target"), (("h", "smtp", "x"), "timeout"), (("h", "smtp", "0"), "timeout")):
        with pytest.raises(ValueError, match=field):
            build_request(*args, "", "", True, True, False, base)
    with pytest.raises(ValueError, match="CA file"):
        build_request("h", "smtp", "5", "", str(tmp_path / "missing.pem"), True, True, False, base)


async def test_connect_dialog_opens_a_new_session_over_implicit_tls(sandbox_remote, history):
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) >= 2, what="startup")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnectScreen), what="dialog")
        host, port = sandbox_remote.smtps
        app.screen.query_one("#target").value = f"smtps://{host}:{port}"
        await pilot.click("#connect")
        await wait_for(pilot, lambda: app.state.tls is not None and app.state.does_esmtp, what="smtps session")
        assert app.state.transport == "smtps" and app.state.tls.verified and app.state.tls.implicit
        assert len(app.sessions) == 2
        assert "a new session starts" in transcript_text(app)


async def test_palette_lists_actions_in_group_form(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for expected in ("session: connect…", "session: sandbox", "view: toggle inspector", "view: timestamps absolute",
                         "transcript: save as text…", "app: change theme", "app: screenshot (SVG)", "command: ehlo"):
            assert expected in titles
        assert all(": " in title for title in titles)


async def test_save_transcript_is_private_and_has_no_password(tmp_path):
    app = fake_app(tmp_path, startup=("connect", "ehlo", "starttls", "ehlo"))
    async with app.run_test(size=(120, 40)) as pilot:
        app.submit("auth PLAIN alice", secret="s3cr3t-password")
        await pilot.pause()
        path = tmp_path / "out.txt"
        app.save_transcript(str(path))
        await app.workers.wait_for_complete()
        text = path.read_text()
        assert "AUTH PLAIN ********" in text and "s3cr3t" not in text and "<-  220 mx.example.test" in text
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_copy_exchange_and_timestamps(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(TranscriptView)
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        await pilot.pause()
        view.focus()
        [ehlo] = [i for i in range(view.line_count) if view.line_text(i).startswith("  ▸ ehlo")]
        view.move_cursor(ehlo + 3)
        await pilot.press("c")
        copied = app.clipboard.splitlines()
        assert copied[0].startswith("  ▸ ehlo") and copied[1] == " -> ehlo client.smtpdbg.test"
        assert copied[-1] == "<-  250 SMTPUTF8"
        await pilot.press("t")
        assert view.timestamps == "absolute" and view.line_text(0)[2] == ":"
        await pilot.press("t")
        second = next(i for i in range(1, view.line_count) if not view.part_at(i))  # a wrapped line's piece has no time
        assert view.timestamps == "delta" and view.line_text(second).startswith("+")


async def test_follow_tail_pauses_when_scrolled_up(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TranscriptView)
        for _ in range(10):
            app.submit("noop")
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y > 0
        view.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert not view.follow
        app.submit("noop")
        await pilot.pause()
        assert view.scroll_y == 0 and view.unseen > 0 and "new" in view.border_subtitle
        view.focus()
        await pilot.press("end")
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y


async def test_typed_text_with_brackets_is_shown_literally_in_pickers_and_dialogs(tmp_path):
    # option lists and Statics parse strings as markup: "[/]" would end the app, "[b]" would vanish
    history = History(tmp_path / "history")
    history.append("docmd X [b]not bold[/b]")
    history.append("raw [/] oops")
    app = fake_app(tmp_path, history=history)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.query("#history-list"),
                       what="history search")
        await pilot.pause()
        options = app.screen.query_one("#history-list")
        assert [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)] == [
            "raw [/] oops", "docmd X [b]not bold[/b]"]
        await pilot.press("enter")
        assert app.query_one("CommandPrompt").input.value == "raw [/] oops"
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnectScreen) and app.screen.query("#target"),
                       what="connect dialog")
        app.screen.query_one("#target").value = "[/]x:25"
        await pilot.click("#connect")
        await pilot.pause()
        assert "'smtp://[/]x:25'" in str(app.screen.query_one("#connect-error").render())


async def test_palette_help_shows_usages_with_their_brackets(tmp_path):
    from textual.content import Content

    app = fake_app(tmp_path)
    async with app.run_test(size=(120, 40)):
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        shown = Content.from_markup(commands["command: connect"].help).plain  # what the palette draws
        assert shown.startswith("connect [--timeout SECONDS] [TARGET] — ")


async def test_palette_saves_a_replay_script_of_the_session(sandbox_remote, history, tmp_path):
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) >= 2 and not app.state.busy, what="startup")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "transcript: save as a replay script…" in titles and "transcript: save as JSON Lines…" in titles
        app.action_save_as("script")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen) and app.screen.query("#ask"), what="file name")
        (tmp_path / "my saves").mkdir()
        path = tmp_path / "my saves" / "replay one.smtp"  # spaces: the save command gets the path quoted
        app.screen.query_one("#ask").value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: path.exists() and not app.state.busy, what="saved")
        assert "ehlo\nexpect 250\n" in path.read_text()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_save_as_refuses_a_path_no_command_can_carry(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        before = len(app.outcomes)
        app.action_save_as("text")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen) and app.screen.query("#ask"), what="file name")
        app.screen.query_one("#ask").value = str(tmp_path / 'say "hi".txt')
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("double quote" in n.message for n in app._notifications), what="refusal")
        assert len(app.outcomes) == before and not list(tmp_path.glob("say*"))


async def test_abort_is_offered_in_the_footer_only_while_something_runs(sandbox_remote, history):
    # the session's last snapshot (not busy) reaches the app before the command's outcome: the footer must follow both
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) >= 2 and not app.state.busy and not app.pending, what="startup")
        for command in ("noop", "login alice"):  # the second through the password dialog, as it went stale
            app.query_one("CommandPrompt").set_text(command)
            await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen) and app.screen.query("#password"),
                       what="password dialog")
        await pilot.press(*"wonderland", "enter")
        await wait_for(pilot, lambda: len(app.outcomes) == 4 and not app.pending, what="commands")
        await pilot.pause()
        keys = [key.action for key in app.query("FooterKey")]
        assert "help" in keys and "abort" not in keys


async def test_a_command_typed_at_the_prompt_brings_the_tail_back(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TranscriptView)
        for _ in range(10):
            app.submit("noop")
        await pilot.pause()
        view.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert not view.follow
        app.query_one("CommandPrompt").set_text("rset")
        await pilot.press("enter")
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y
        assert "RSET" in view.line_text(view.line_count - 2)


async def test_toggling_meanings_or_a_filter_at_the_tail_keeps_following(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TranscriptView)
        for _ in range(10):
            app.submit("noop")
        await pilot.pause()
        view.focus()
        await pilot.press("end")
        for key in ("a", "f", "f", "f", "f", "a"):
            await pilot.press(key)
            await pilot.pause()
            assert view.follow and view.scroll_y == view.max_scroll_y, key


async def test_search_matches_stay_readable_on_the_cursor_line(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        view = app.query_one(TranscriptView)
        view.focus()
        view.search("ehlo")
        await pilot.pause()
        match = view._style("match")
        assert match.color is not None and match.bgcolor is not None and match.color != match.bgcolor
        assert match.color != view._style("send").color  # client lines (where EHLO is) do not vanish in the match
        strip = view._build_strip(view.cursor, None)
        styled = [segment.style for segment in strip if segment.text.lower() == "ehlo"]
        assert styled and all(style.bgcolor == match.bgcolor for style in styled)  # the cursor does not paint over it
