"""Teaching in the app: a guided lesson, the stage strip, explanations of the selected line, annotations."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.core.lessons import find_lesson
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.composer import ComposerScreen
from smtpdbg.tui.screens.pickers import LessonScreen
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.widgets.explain import LineExplainer
from smtpdbg.tui.widgets.lesson import LessonPane
from smtpdbg.tui.widgets.prompt import CommandPrompt
from smtpdbg.tui.widgets.stages import StageStrip
from smtpdbg.tui.widgets.transcript import TranscriptView
from tests.tui.conftest import transcript_text, wait_for
from tests.tui.fakes import FakeSession

SIZE = (120, 40)


def pane_text(app) -> str:
    """Everything the lesson pane shows, as plain text."""
    console = Console(width=60, file=io.StringIO(), record=True)
    for static in app.query_one(LessonPane).query("Static"):
        if static.display:
            console.print(static.content)
    return " ".join(console.export_text().split())


def strip_text(app) -> str:
    return app.query_one(StageStrip).render().plain


def fake_app(tmp_path, **kwargs) -> SmtpdbgApp:
    kwargs.setdefault("startup", ("connect", "ehlo"))
    return SmtpdbgApp(Target("smtp", "mx.example.test", 25), SessionOptions(local_hostname="client.smtpdbg.test"),
                      session_factory=FakeSession, history=History(tmp_path / "history"), latency=False, **kwargs)


async def enter(pilot, app, command: str) -> None:
    """Type ``command`` at the prompt and press Enter, as a student does; wait until it ran."""
    before = len(app.outcomes)
    app.query_one(CommandPrompt).set_text(command)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(app.outcomes) > before and not app.state.busy, what=command)


async def test_a_lesson_followed_step_by_step_in_the_app(sandbox_remote, history):
    lesson = find_lesson("first-conversation")
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False, lesson=lesson)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 1 and not app.state.busy, what="connected")
        assert [o.command for o in app.outcomes] == ["connect"]  # the student greets, not the app
        pane = app.query_one(LessonPane)
        assert pane.display and not app.query_one("#inspector").display
        assert "step 1 of 5" in pane_text(app) and "Say who you are" in pane_text(app)

        await enter(pilot, app, "mail alice@sandbox.smtpdbg.test")  # skipping ahead: refused, and out of order
        assert "not yet: this step wants helo, not mail" in pane_text(app)
        assert "Hint: type helo client.example" in pane_text(app)
        assert app.lesson.index == 0
        view = app.query_one(TranscriptView)
        assert any(view.store.kinds[i] & R.KIND == R.ORDER for i in range(len(view.store)))
        assert any(n.title.startswith("Breaks RFC") and "sent anyway" in n.title for n in app._notifications)

        await enter(pilot, app, "explain 503")  # looking something up is not an attempt
        assert app.lesson.index == 0 and "not yet" in pane_text(app)

        await pilot.press("f4")  # the suggested command goes into the prompt
        assert app.query_one(CommandPrompt).input.value == "helo client.example"
        await enter(pilot, app, "helo client.example")
        assert "✓ Say who you are" in pane_text(app) and "step 2 of 5" in pane_text(app)
        await enter(pilot, app, "mail alice@sandbox.smtpdbg.test")
        await enter(pilot, app, "rcpt bob@sandbox.smtpdbg.test")
        assert "step 4 of 5" in pane_text(app) and "Send the message" in pane_text(app)
        assert "RCPT" in strip_text(app)

        app.query_one(CommandPrompt).set_text("data")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen), what="composer")
        assert app.screen.query_one("#editor").text == lesson.steps[3].body  # pre-filled by the lesson
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.lesson.index == 4, what="data passed")
        [(envelope, content)] = sandbox_remote.messages()
        assert b"Subject: my first message" in content
        assert "done" in strip_text(app)

        await enter(pilot, app, "quit")
        assert app.lesson.done
        assert "lesson complete" in pane_text(app) and "All steps done" in pane_text(app)
        assert any(n.title.startswith("Lesson complete") for n in app._notifications)
        assert "lesson: ✓ Say goodbye" in transcript_text(app)


async def test_lessons_are_picked_from_the_palette(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "lesson: pick a lesson…" in titles and "lesson: first-conversation" in titles
        assert "view: toggle reply meanings" in titles
        app.action_lessons()
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen), what="picker")
        await pilot.pause()
        options = app.screen.query_one("#lesson-list")
        assert options.option_count >= 6
        started = []
        app.begin_lesson = started.append  # the real one starts a sandbox
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: started, what="a lesson chosen")
        assert started == ["reading-ehlo"]


async def test_the_selected_line_is_explained(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.submit("mail alice@example.test")
        app.submit("rcpt reject@example.test")
        await pilot.pause()
        view = app.query_one(TranscriptView)
        explainer = app.query_one(LineExplainer)
        assert not explainer.display
        await pilot.press("f6")  # into the transcript

        def select(prefix: str) -> None:
            view.move_cursor(next(i for i in range(view.line_count) if view.line_text(i).startswith(prefix)))

        select("<** 550 5.1.1")
        await wait_for(pilot, lambda: explainer.display and "5.1.1" in explainer.text, what="explanation")
        text = explainer.text
        assert "550 5.1.1 at RCPT → permanent failure: no such recipient" in text  # in context: at RCPT
        assert "5.1.1 Bad destination mailbox address" in text
        assert "next: Check the address for typos" in text and "transaction: goes on" in text
        select("<-  250-SIZE")
        await wait_for(pilot, lambda: "SIZE" in explainer.text, what="extension")
        assert "Message size declaration" in explainer.text and "50 MiB maximum message size" in explainer.text
        select(" -> mail FROM:")
        await wait_for(pilot, lambda: "envelope sender" in explainer.text, what="client line")
        assert "smtplib: smtp.mail(sender, options)" in explainer.text
        await pilot.press("f6")  # back to the prompt: the panel goes away
        await wait_for(pilot, lambda: not explainer.display, what="hidden")


async def test_annotations_toggle_under_each_reply(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.submit("mail alice@example.test")
        app.submit("rcpt reject@example.test")
        await pilot.pause()
        view = app.query_one(TranscriptView)
        plain = [view.line_text(i) for i in range(view.line_count) if not view.part_at(i)]
        view.focus()
        await pilot.press("a")
        lines = [view.line_text(i) for i in range(view.line_count) if not view.part_at(i)]  # whole lines
        assert view.annotate and len(lines) > len(plain)
        rejected = next(i for i, line in enumerate(lines) if line.startswith("<** 550 5.1.1"))
        assert lines[rejected + 1] == "      ↳ 550 5.1.1 at RCPT → permanent failure: no such recipient"
        size = next(i for i, line in enumerate(lines) if line.startswith("<-  250-SIZE"))
        assert lines[size + 1] == "      ↳ SIZE → 50 MiB maximum message size"
        greeting = next(i for i, line in enumerate(lines) if line.startswith("<-  250-mx.example.test"))
        assert not lines[greeting + 1].startswith("      ↳")  # the first line of EHLO names the server
        assert "meanings" in view.border_subtitle
        app.submit("noop")  # new replies are annotated as they arrive
        await pilot.pause()
        assert view.line_text(view.index_of(view.row_at(view.line_count - 1)[0]) + 1).startswith(
            "      ↳ 250 2.0.0 to NOOP → ok")
        view.filter = "server"
        await pilot.pause()
        assert view.line_text(1).startswith("      ↳ 220 as the greeting → ok")
        view.filter = "all"
        await pilot.press("a")
        assert [view.line_text(i) for i in range(view.line_count) if not view.part_at(i)][:len(plain)] == plain
        assert not view.annotate


async def test_the_stage_strip_lights_up_and_resets(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        strip = app.query_one(StageStrip)
        statuses = lambda: {s.index: s.status for s in strip.track.segments()}  # noqa: E731
        assert statuses()[2] == "current" and statuses()[1] == "done"  # EHLO
        for command in ("starttls", "ehlo"):
            app.submit(command)
        app.submit("auth PLAIN alice", secret="x")
        app.submit("mail alice@example.test")
        app.submit("rcpt reject@example.test")
        await pilot.pause()
        segments = {s.index: s for s in strip.track.segments()}
        assert [segments[i].status for i in range(7)] == ["done"] * 6 + ["current"]
        assert segments[7].status == "failed" and segments[7].code == 550
        assert segments[6].latency == pytest.approx(0.001)
        assert "RCPT ✗550" in strip_text(app) and "EHLO² 1.0ms" in strip_text(app)
        app.submit("rset")
        await pilot.pause()
        assert statuses()[5] == "current" and statuses()[6] == "todo" and "↺ RSET" in strip_text(app)
        for command in ("mail alice@example.test", "rcpt bob@example.test"):
            app.submit(command)
        app.submit("data", body=b"Subject: x\r\n\r\nhi\r\n")
        await pilot.pause()
        assert statuses()[9] == "current" and statuses()[8] == "done" and "RSET" not in strip_text(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert strip.render().cell_len <= 78  # abbreviated to fit


async def test_a_lesson_started_in_the_app_gets_a_sandbox_with_its_settings(sandbox_remote, history):
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2 and not app.state.busy, what="ready")
        app.begin_lesson("starttls")  # as the palette does: its sandbox offers AUTH only after STARTTLS
        await wait_for(pilot, lambda: app.lesson is not None and len(app.outcomes) == 3 and not app.state.busy,
                       what="lesson session")
        assert app.state.target != str(sandbox_remote.target())  # a new sandbox, not the one the app was on
        assert len(app.lesson_sandboxes) == 1 and app.query_one(LessonPane).display
        app.submit("ehlo client.example", typed=True)
        await wait_for(pilot, lambda: app.lesson.index == 1, what="step 1 passed")
        assert app.state.features.has("starttls") and not app.state.features.has("auth")
        app.action_lesson_stop()
        assert app.lesson is None and not app.query_one(LessonPane).display


async def test_smtpdbg_s_own_lines_are_repeated_whole_in_the_panel(tmp_path):
    # notes and errors can be longer than the transcript is wide; the panel under it wraps them
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.submit("mail alice@example.test")
        app.submit("rcpt reject@example.test")
        await pilot.pause()
        view = app.query_one(TranscriptView)
        explainer = app.query_one(LineExplainer)
        await pilot.press("f6")
        [advice] = [i for i in range(view.line_count) if view.line_text(i).startswith("  ↳ next: ")]
        view.move_cursor(advice)
        await wait_for(pilot, lambda: "next: Check the address" in explainer.text, what="explanation row")
        assert explainer.text.startswith("smtpdbg's explanation of the failure above:\n")
        assert view.store.texts[view.row_at(advice)[0]] in explainer.text
        view.move_cursor(next(i for i in range(view.line_count) if view.line_text(i).startswith("=== connected to")))
        await wait_for(pilot, lambda: "a note from smtpdbg" in explainer.text, what="note row")
        assert "connected to 192.0.2.25:25 from 192.0.2.10:40000" in explainer.text


async def test_a_closed_connection_is_set_apart_from_the_stages(tmp_path):
    app = fake_app(tmp_path, startup=())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert strip_text(app).startswith("○ not connected │ connected › greeted")
