"""The lesson pane: a guided lesson beside the transcript.

It shows the lesson's title, how far the student is (step n of m), the
current step's explanation, the command to try (Enter on it, a click or F4
puts it in the prompt) and the verdict on the last command: ✓ when the step's
check held, otherwise "not yet" with the reason and the hint. It only renders
a :class:`~smtpdbg.core.lessons.LessonProgress`; the app records commands in it.
Lesson texts are data written by teachers: shown as plain text, with
`backticks` set in bold, never parsed as markup.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from smtpdbg.core.lessons import LessonProgress, Verdict


def reflow(text: str) -> str:
    """Join the lines of each paragraph (TOML strings are wrapped by hand), keep blank lines between them."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)


def with_code(text: str, style: str = "", code_style: str = "bold") -> Text:
    """``text`` with its `backticked` parts in ``code_style`` (and the backticks dropped)."""
    out = Text(end="")
    for number, part in enumerate(text.split("`")):
        out.append(part, code_style if number % 2 else style)
    return out


class TryCommand(Static, can_focus=True):
    """The command to try: Enter or a click puts it in the prompt."""

    BINDINGS = [Binding("enter", "use", "Use it", tooltip="Put the suggested command in the prompt")]

    class Use(Message):
        """The student wants ``command`` in the prompt."""

        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    command = ""
    """The suggested command line."""

    def action_use(self) -> None:
        if self.command:
            self.post_message(self.Use(self.command))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_use()


class LessonPane(Vertical):
    """Title, progress, explanation, the command to try and the last verdict.

    The texts scroll; the command to try and the verdict stay under them, always
    in view (on 24 rows a step's explanation alone can fill the pane).
    """

    COMPONENT_CLASSES = {"lesson--passed", "lesson--failed", "lesson--code", "lesson--done"}

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="lesson-text", can_focus=False):
            yield Static(id="lesson-title")
            yield Static(id="lesson-progress")
            yield Static(id="lesson-summary")
            yield Static(id="lesson-step")
            yield Static(id="lesson-keys")
        with Vertical(id="lesson-act"):
            yield TryCommand(id="lesson-try")
            yield Static(id="lesson-verdict")

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Let the texts take what the command and the verdict leave (``max-height: 1fr`` does not do it)."""
        act = self.query_one("#lesson-act")
        self.query_one("#lesson-text").styles.max_height = max(3, self.content_size.height - act.outer_size.height)

    def _style(self, name: str):
        return self.get_component_rich_style(f"lesson--{name}", partial=True)

    def show(self, progress: LessonProgress, verdict: Verdict | None = None) -> None:
        """Draw where ``progress`` is, and the verdict on the last command (None: nothing tried yet)."""
        lesson = progress.lesson
        total = len(lesson.steps)
        code = self._style("code")
        self.query_one("#lesson-title", Static).update(Text(lesson.title, style="bold"))
        done = min(progress.index, total)
        bar = Text("■" * done, style=self._style("passed"))
        bar.append("□" * (total - done), style="dim")
        label = "lesson complete" if progress.done else f"step {progress.index + 1} of {total}"
        self.query_one("#lesson-progress", Static).update(Text.assemble(bar, "  ", (label, "bold")))
        summary = self.query_one("#lesson-summary", Static)
        summary.display = progress.index == 0 and verdict is None and bool(lesson.summary)
        summary.update(with_code(reflow(lesson.summary), "italic", code))
        step = progress.step
        explanation = self.query_one("#lesson-step", Static)
        attempt = self.query_one("#lesson-try", TryCommand)
        if step is None:
            explanation.update(Text.assemble(("✓ All steps done. ", self._style("done")), with_code(
                "Ctrl+P → lesson: pick a lesson… for another one. The sandbox keeps running: explore on "
                "(`reconnect` after a quit).", "", code)))
            attempt.display = False
            attempt.command = ""
        else:
            text = Text(end="")
            text.append(step.title + "\n", "bold")
            text.append_text(with_code(reflow(step.explain), "", code))
            explanation.update(text)
            attempt.display = True
            attempt.command = step.command
            attempt.update(Text.assemble(("try  ", "dim"), (step.command, code), ("   F4", "dim")))
        verdict_view = self.query_one("#lesson-verdict", Static)
        verdict_view.display = verdict is not None
        if verdict is not None:
            verdict_view.set_class(verdict.passed, "-passed")
            verdict_view.set_class(not verdict.passed, "-failed")
            message = verdict.message if verdict.message.startswith(("✓", "not yet")) else f"✓ {verdict.message}"
            verdict_view.update(with_code(message, self._style("passed" if verdict.passed else "failed"), code))
        self.query_one("#lesson-keys", Static).update(
            Text("F4 puts the command in the prompt · F2 inspector · Ctrl+P → lesson: …", style="dim"))
        self.query_one("#lesson-text", VerticalScroll).scroll_home(animate=False)
        self.call_after_refresh(self._fit)
