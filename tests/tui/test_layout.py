"""What stays readable where space is short: the command rows, the dropdown, the footer, the inspector, the lesson pane."""

from __future__ import annotations

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.core.lessons import find_lesson
from smtpdbg.core.state import Features, SessionState
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.widgets.inspector import features_panel
from smtpdbg.tui.widgets.prompt import CompletionMenu
from smtpdbg.tui.widgets.transcript import TranscriptView, format_elapsed
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeSession


def fake_app(tmp_path, **kwargs) -> SmtpdbgApp:
    kwargs.setdefault("startup", ("connect", "ehlo"))
    return SmtpdbgApp(Target("smtp", "mx.example.test", 25), SessionOptions(local_hostname="client.smtpdbg.test"),
                      session_factory=FakeSession, history=History(tmp_path / "history"), **kwargs)


async def test_a_command_row_says_its_verdict_before_the_smtplib_call(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        view = app.query_one(TranscriptView)
        [ehlo] = [view.line_text(i) for i in range(view.line_count) if view.line_text(i).startswith("  ▸ ehlo")]
        assert ehlo.startswith("  ▸ ehlo  ✓ 250  1.0 ms   smtp.ehlo(name)")
    assert format_elapsed(0.0024) == "2.4 ms" and format_elapsed(10.0052) == "10.0 s"


async def test_every_candidate_of_the_dropdown_takes_one_row(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        await pilot.press(*"save ")
        menu = app.query_one(CompletionMenu)
        await wait_for(pilot, lambda: menu.display and menu.option_count == 7, what="the formats")  # script, text, jsonl, python, swaks, html, cert
        await pilot.pause()
        assert menu.size.height == 7 and menu.max_scroll_y == 0  # long meanings end in "…", they do not wrap
        assert menu.outer_size.width <= 80


async def test_the_footer_offers_expand_only_on_a_collapsed_body(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        for command in ("mail a@example.test", "rcpt b@example.test"):
            app.submit(command)
        app.submit("data", body=b"".join(b"line %d\r\n" % n for n in range(40)))
        view = app.query_one(TranscriptView)
        view.focus()
        await pilot.press("end")
        await pilot.pause()
        footer = lambda: [key.action for key in app.query("FooterKey")]  # noqa: E731
        assert "toggle_body" not in footer() and "help" in footer()  # F1 survives 80 columns with the transcript focused
        [summary] = [i for i in range(view.line_count) if view.line_text(i).startswith(" -> DATA: ")]
        view.move_cursor(summary)
        await pilot.pause()
        assert "toggle_body" in footer()


def test_the_inspector_lines_up_auth_mechanisms_with_other_parameters():
    # smtplib keeps AUTH's mechanisms with a leading space (" PLAIN LOGIN")
    table = features_panel(SessionState(features=Features({"auth": " PLAIN LOGIN", "size": "1000"})))
    meanings = [cell.plain for cell in table.columns[1]._cells]
    assert meanings[0].startswith("PLAIN LOGIN  ") and meanings[1].startswith("1000  ")


async def test_the_lesson_command_and_verdict_stay_in_view_at_80x24(tmp_path):
    app = fake_app(tmp_path, lesson=find_lesson("starttls"), startup=("connect",))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.lesson is not None and len(app.outcomes) >= 1, what="lesson")
        app.query_one("CommandPrompt").set_text("rset")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query_one("#lesson-verdict").display, what="verdict")
        await pilot.pause()
        pane = app.query_one("#lesson").content_region
        for name in ("#lesson-try", "#lesson-verdict"):
            region = app.query_one(name).region
            assert region.height and pane.contains_region(region), name


async def test_the_composer_keeps_the_line_being_edited_in_view_on_the_wire_at_80x24(tmp_path):
    from smtpdbg.tui.screens.composer import ComposerScreen

    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        app.query_one("CommandPrompt").set_text("data")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen) and app.screen.query("#wire"), what="composer")
        await pilot.press(*".dot line", "enter", *"more", "enter", ".")
        await pilot.pause(0.1)
        screen = app.screen
        row = screen.query_one("#editor").cursor_location[0]
        wire = screen.query_one("#wire")
        assert wire.scroll_y <= row < wire.scroll_y + wire.scrollable_content_region.height
        summary = screen.query_one("#wire-summary")
        assert str(summary.render()).endswith("2 dot-stuffed") and summary.size.width >= len(str(summary.render()))


async def test_the_status_bar_always_shows_what_runs_and_how_to_abort_it(tmp_path):
    from dataclasses import replace

    from smtpdbg.tui.widgets.status import StatusBar

    app = fake_app(tmp_path, startup=())
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one(StatusBar)
        status.state = replace(status.state, busy=True, running="connect", insecure=True,
                               target="smtps://a-rather-long-mail-server-name.example.org:465")
        await pilot.pause()
        shown = str(status.render())
        assert "connect" in shown and shown.endswith("Esc aborts") and len(shown) <= status.content_region.width
        assert shown.startswith("○ smtps://a-rather-long")


async def test_the_inspector_can_be_scrolled_from_the_keyboard(tmp_path):
    from smtpdbg.tui.widgets.inspector import Inspector
    from smtpdbg.tui.widgets.prompt import CommandPrompt

    app = fake_app(tmp_path)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        inspector = app.query_one(Inspector)
        assert inspector.display and inspector.max_scroll_y > 0  # more than fits on 24 rows
        await pilot.press("f6")
        assert app.query_one(TranscriptView).has_focus
        await pilot.press("f6")
        assert inspector.has_focus
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: inspector.scroll_y > 0, what="the inspector scrolled")
        await pilot.press("f6")
        assert app.query_one(CommandPrompt).input.has_focus
