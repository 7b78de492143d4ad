"""Guided lessons in the app: start one, follow the student's commands, show the verdicts.

A mixin of :class:`smtpdbg.tui.app.SmtpdbgApp`. A lesson runs on a sandbox
with the lesson's own settings: ``smtpdbg learn ID`` starts that sandbox and
hands its target over; picking a lesson from the palette starts one here (in
a worker thread, reused for lessons with the same settings). Every command the
student submits is recorded in the :class:`~smtpdbg.core.lessons.LessonProgress`
(looking things up with ``explain`` or ``show`` in between is not an attempt)
and the lesson pane shows the verdict. Nothing here is lesson-specific: the
lessons are data files.
"""

from __future__ import annotations

from dataclasses import replace

from textual import work

from smtpdbg.core.lessons import (Lesson, LessonError, LessonProgress, find_lesson, lesson_options, lesson_target,
                                  load_lessons)
from smtpdbg.core.session import Outcome, SessionOptions
from smtpdbg.core.target import Target
from smtpdbg.tui.screens.pickers import LessonScreen
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.widgets.lesson import LessonPane
from smtpdbg.tui.widgets.prompt import CommandPrompt
from smtpdbg.tui.widgets.transcript import TranscriptView


class LessonActions:
    """Starting, following and leaving a lesson (palette entries and F4 call these)."""

    lesson: LessonProgress | None = None
    """The lesson in progress, if any."""

    def start_lesson(self, lesson: Lesson, target: Target | None = None, options: SessionOptions | None = None) -> None:
        """Show the lesson pane and open a session for it on ``target`` (or on a sandbox started for it)."""
        if target is None:
            self.note(f"starting a sandbox for the lesson {lesson.id!r}…")
            self._lesson_sandbox(lesson)
            return
        self.lesson = LessonProgress(lesson)
        pane = self.query_one(LessonPane)
        pane.display = True
        pane.show(self.lesson)
        self._inspector_auto = False
        self.show_inspector = False
        self.query_one(TranscriptView).annotate = True
        self.refresh_bindings()
        self.start_session(target, options or self.options, ("connect",))
        self.note(f"lesson: {lesson.title} · {len(lesson.steps)} steps · F4 puts the suggested command in the prompt")

    @work(thread=True, exit_on_error=False, group="sandbox")
    def _lesson_sandbox(self, lesson: Lesson) -> None:
        """Start (or reuse) a sandbox with the lesson's settings, then start the lesson on it."""
        key = tuple(sorted((name, repr(value)) for name, value in lesson.sandbox.items()))
        try:
            from smtpdbg.sandbox import Sandbox, SandboxConfig

            sandbox = self.lesson_sandboxes.get(key)
            if sandbox is None:
                sandbox = Sandbox(SandboxConfig(**lesson.sandbox))
                sandbox.start()
                self.lesson_sandboxes[key] = sandbox
            endpoints = sandbox.endpoints
            target = lesson_target(lesson, endpoints)
        except Exception as error:  # noqa: BLE001 - reported, the app keeps running
            self.call_from_thread(self.notify, f"cannot start the sandbox for {lesson.id}: {error}", severity="error",
                                  markup=False)
            return
        options = lesson_options(replace(self.options, insecure=False, mailbox=sandbox), endpoints)
        self.call_from_thread(self.start_lesson, lesson, target, options)

    def begin_lesson(self, lesson_id: str) -> None:
        """Start the lesson named ``lesson_id`` on a sandbox of its own."""
        try:
            lesson = find_lesson(lesson_id)
        except LessonError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.start_lesson(lesson)

    def action_lessons(self) -> None:
        """Pick a lesson from a list."""
        try:
            lessons = load_lessons()
        except LessonError as error:
            self.notify(str(error), title="A lesson file cannot be used", severity="error", markup=False)
            return
        self.push_screen(LessonScreen(lessons), lambda chosen: self.begin_lesson(chosen) if chosen else None)

    def action_lesson_try(self) -> None:
        """Put the current step's command in the prompt."""
        step = self.lesson.step if self.lesson is not None else None
        if step is None:
            self.notify("no lesson step to try: Ctrl+P → lesson: pick a lesson…", timeout=3, markup=False)
            return
        prompt = self.query_one(CommandPrompt)
        prompt.set_text(step.command)
        prompt.input.focus()

    def action_lesson_restart(self) -> None:
        if self.lesson is not None:
            self.begin_lesson(self.lesson.lesson.id)

    def action_lesson_stop(self) -> None:
        """Leave the lesson (the session stays open)."""
        if self.lesson is None:
            return
        self.note(f"lesson {self.lesson.lesson.id!r} closed; the session stays open")
        self.lesson = None
        self.query_one(LessonPane).display = False
        self.refresh_bindings()

    def action_mailbox(self) -> None:
        """Open the embedded sandbox's mailbox: every message it delivered, as stored."""
        from rich.text import Text

        from smtpdbg.core.errors import CommandError
        from smtpdbg.core.handlers.mailbox import delivered, message_lines, summary_lines
        from smtpdbg.core.render import safe_text
        from smtpdbg.tui.screens.help import InfoScreen

        try:
            messages = delivered(self.options.mailbox, bool(self.state.sandbox))
        except CommandError as error:
            self.notify(str(error), severity="warning", markup=False)
            return
        lines = summary_lines(messages)
        for index in range(len(messages)):
            lines += ["", *message_lines(messages, index)]
        self.push_screen(InfoScreen("Sandbox mailbox", Text("\n".join(safe_text(line) for line in lines))))

    def record_lesson(self, outcome: Outcome) -> None:
        """Check the current step against a command the student ran, and show the verdict."""
        progress = self.lesson
        if progress is None or progress.done or not progress.concerns(outcome.command):
            return
        verdict = progress.record(outcome.command, outcome, self.state)
        self.query_one(LessonPane).show(progress, verdict)
        self.note(f"lesson: {verdict.message.replace('`', '')}", R.INFO if verdict.passed else R.WARN)
        if progress.done:
            self.notify(f"{progress.lesson.title}: every step done", title="Lesson complete ✓", timeout=8, markup=False)
        self.refresh_bindings()

    def lesson_body(self, text: str) -> str | None:
        """The current step's suggested message, when ``text`` is the step's command (the composer starts with it)."""
        return self.lesson.body_for(text) if self.lesson is not None else None
