"""``smtpdbg learn --repl ID``: a guided lesson in line mode.

:class:`LessonCoach` turns a :class:`~smtpdbg.core.lessons.LessonProgress`
into printed lines: the lesson's title and summary, each step's explanation
and the command to try, and after every command the verdict (✓, or "not yet"
with the reason and the hint). The interactive REPL shows them between the
commands and in a third toolbar line, and pre-fills the message lines of a
step that suggests one; with stdin not a terminal the piped reader runs the
commands and the coach prints the verdicts (the exit status is 0 when the
lesson was completed, 1 otherwise). Replies are annotated with their meaning
throughout. Nothing here knows a particular lesson: they are data files.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import textwrap
from collections.abc import Iterable, Iterator

from smtpdbg.core.lessons import Lesson, LessonProgress
from smtpdbg.core.render import ANSI, RESET
from smtpdbg.core.session import Outcome, Session, SessionOptions
from smtpdbg.core.state import SessionState
from smtpdbg.core.target import Target

WIDTH = 76
"""Explanations are wrapped to this width."""


class LessonCoach:
    """The printed side of a lesson in progress."""

    def __init__(self, lesson: Lesson, *, color: bool = False) -> None:
        self.progress = LessonProgress(lesson)
        self.color = color

    def _paint(self, text: str, style: str) -> str:
        codes = {"title": "\x1b[1m", "try": "\x1b[36;1m", "pass": ANSI["2"], "fail": "\x1b[33m", "dim": ANSI["info"]}
        return f"{codes[style]}{text}{RESET}" if self.color else text

    def intro(self) -> list[str]:
        """The lesson's title and summary, and the first step."""
        lesson = self.progress.lesson
        lines = [self._paint(f"=== lesson: {lesson.title} ({len(lesson.steps)} steps)", "title")]
        lines += _wrap(lesson.summary, "    ")
        return lines + self.step_lines()

    def step_lines(self) -> list[str]:
        """The current step: number, title, explanation, and the command to try."""
        progress = self.progress
        step = progress.step
        if step is None:
            return [self._paint("=== lesson complete: every step done (smtpdbg learn lists the others)", "pass")]
        total = len(progress.lesson.steps)
        lines = [self._paint(f"--- step {progress.index + 1} of {total}: {step.title}", "title")]
        lines += _wrap(step.explain, "    ")
        lines.append("    try: " + self._paint(step.command, "try"))
        return lines

    def after(self, outcome: Outcome, state: SessionState) -> list[str]:
        """The verdict on a command the student ran (and the next step when it passed)."""
        progress = self.progress
        if progress.done or not progress.concerns(outcome.command):
            return []
        verdict = progress.record(outcome.command, outcome, state)
        message = verdict.message.replace("`", "")
        if verdict.passed:
            return [self._paint(f"=== lesson: {message}", "pass")] + self.step_lines()
        return [self._paint(f"!!! lesson: {message}", "fail")]

    def toolbar(self) -> list[tuple[str, str]]:
        """The toolbar's lesson line: where the student is and what to try."""
        progress = self.progress
        lesson = progress.lesson
        step = progress.step
        if step is None:
            return [("class:toolbar.ok", f"lesson {lesson.id}: complete ✓")]
        return [("class:toolbar.stage", f"lesson {lesson.id} {progress.index + 1}/{len(lesson.steps)}"),
                ("class:toolbar", " │ try: "), ("class:toolbar.usage", step.command),
                ("class:toolbar", f" │ {step.title}")]  # the command before the title: it must survive 80 columns


def _wrap(text: str, indent: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        if paragraph.strip():
            lines += textwrap.wrap(" ".join(paragraph.split()), WIDTH, initial_indent=indent, subsequent_indent=indent)
    return lines


def run_lesson(target: Target, options: SessionOptions, lesson: Lesson, *, color: str = "auto",
               password: str | None = None, history=None) -> int:
    """Run ``lesson`` in the REPL on a session to ``target`` (a sandbox started with the lesson's settings).

    Args:
        password: the sandbox's demo password, used for AUTH when stdin is not a terminal.

    Returns:
        Interactive: 0. Piped: 0 when the lesson was completed, 1 otherwise, 130 after Ctrl-C.
    """
    from smtpdbg.core.console import GuardedOutput, use_color
    from smtpdbg.repl.main import Repl, history_for

    colored = use_color(color, sys.stdout)
    coach = LessonCoach(lesson, color=colored)
    if not sys.stdin.isatty():
        return _piped_lesson(target, options, coach, GuardedOutput(sys.stdout), password)
    session = Session(target, options)
    try:
        repl = Repl(session, history=history_for(history), color=colored, explain=True, lesson=coach)
        return asyncio.run(repl.run())
    finally:
        session.shutdown()


def _piped_lesson(target: Target, options: SessionOptions, coach: LessonCoach, output, password: str | None) -> int:
    """The lesson read from a pipe: the core's interpreter, the coach's verdicts after each command."""
    from smtpdbg.core.results import EXIT_INTERRUPTED
    from smtpdbg.core.retention import ScriptTranscript
    from smtpdbg.core.script import read_lines
    from smtpdbg.repl.main import TranscriptPrinter
    from smtpdbg.repl.piped import run_piped

    session = Session(target, options, transcript=ScriptTranscript())
    printer = TranscriptPrinter(output, coach.color, explain=True)
    session.subscribe(printer)
    try:
        # The intro comes first: after the greeting of the connection the interpreter opens itself (the first
        # step speaks of it), or before everything when the student's first command is a connect of their own.
        connects, lines = _starts_with_connect(read_lines(sys.stdin.buffer))
        if connects:
            printer.write(coach.intro())
        result = run_piped(session, lines, secret=password, output=output,
                           after=lambda outcome: printer.write(coach.after(outcome, session.state)),
                           connected=None if connects else lambda: printer.write(coach.intro()))
    finally:
        session.shutdown()
    progress = coach.progress
    if not progress.done:
        printer.write([f"!!! lesson: stopped at step {progress.index + 1} of {len(progress.lesson.steps)}"])
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 0 if progress.done else 1


def _starts_with_connect(lines: Iterable[str]) -> tuple[bool, Iterator[str]]:
    """Whether the first command of ``lines`` (past blank lines and comments) is ``connect``/``reconnect``, and
    the lines, all of them still to be read."""
    from smtpdbg.core.parser import ParseError, parse

    rest = iter(lines)
    head: list[str] = []
    for line in rest:
        head.append(line)
        if line.strip() and not line.lstrip().startswith("#"):
            break
    try:
        connects = bool(head) and parse(head[-1].strip()).name in ("connect", "reconnect")
    except ParseError:
        connects = False
    return connects, itertools.chain(head, rest)
