"""The command palette (Ctrl+P): everything the app can do, as ``group: action``.

Sessions, views, the transcript, TLS, help, guided lessons, Textual's own
app commands (renamed into the same form), and one ``command: NAME`` entry per
command of the language that puts it in the prompt.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Iterable

from textual.app import SystemCommand
from textual.screen import Screen

from smtpdbg.core.commands import COMMANDS
from smtpdbg.tui.swaks_paste import ask_swaks

if TYPE_CHECKING:
    from smtpdbg.tui.app import SmtpdbgApp

EXPORTS = (("script", "as a replay script"), ("jsonl", "as JSON Lines"), ("python", "as a Python smtplib script"),
           ("swaks", "as swaks command lines"), ("html", "as HTML"))
"""Formats of ``save`` offered in the palette (``text`` is the app's own save, of every session)."""
_RENAMED = {"Theme": "app: change theme", "Quit": "app: quit", "Keys": "app: key panel", "Screenshot": "app: screenshot (SVG)",
            "Maximize": "app: maximize the focused pane", "Minimize": "app: restore the maximized pane"}


def app_commands(app: SmtpdbgApp, screen: Screen, builtin: Iterable[SystemCommand]) -> Iterable[SystemCommand]:
    """The palette's entries (the palette renders their help as markup: it is escaped here)."""
    for command in _entries(app, builtin):
        yield command._replace(help=literal(command.help))


def _entries(app: SmtpdbgApp, builtin: Iterable[SystemCommand]) -> Iterable[SystemCommand]:
    yield SystemCommand("session: connect…", "Open the connect dialog (target, TLS, LMTP, timeout, CA, verify)",
                        app.action_connect_dialog)
    yield SystemCommand("session: reconnect", "Close and connect again to the same target", partial(app.action_run, "reconnect"))
    yield SystemCommand("session: paste a swaks command…", "Run a swaks command line here, step by step in the transcript",
                        partial(ask_swaks, app))
    yield SystemCommand("session: sandbox", "Start the embedded sandbox server and open a session on it", app.action_sandbox)
    yield SystemCommand("session: abort the running command", "Interrupt it (Esc)", app.action_abort)
    yield SystemCommand("session: close the connection", "smtp.close(), without QUIT", partial(app.action_run, "close"))
    yield SystemCommand("sandbox: mailbox", "What the embedded sandbox delivered: envelope, Return-Path, Received, headers",
                        app.action_mailbox)
    yield SystemCommand("session: show state", "Print the session snapshot into the transcript", partial(app.action_run, "show"))
    yield SystemCommand("view: toggle inspector", "Show or hide the feature inspector (F2)", app.action_toggle_inspector)
    for value, label in (("", "off"), ("absolute", "absolute"), ("delta", "delta since the previous line")):
        yield SystemCommand(f"view: timestamps {label}", "Timestamp column of the transcript",
                            partial(app.action_set_view, "timestamps", value))
    yield SystemCommand("view: toggle command latency", "Elapsed time on each command line",
                        partial(app.action_set_view, "latency", ""))
    for value, meaning in (("all", "every line"), ("client", "what the client sent"), ("server", "what the server replied"),
                           ("errors", "4xx/5xx replies, warnings and errors")):
        yield SystemCommand(f"view: filter {value}", f"Show {meaning}", partial(app.action_set_view, "filter", value))
    yield SystemCommand("view: expand all DATA bodies", "Show every collapsed message body",
                        partial(app.action_set_view, "bodies", "expand"))
    yield SystemCommand("view: collapse all DATA bodies", "One line per large message body",
                        partial(app.action_set_view, "bodies", "collapse"))
    yield SystemCommand("view: toggle reply meanings", "A dim line under each reply saying what it means (a in the transcript)",
                        app.query_one("TranscriptView").action_toggle_annotations)
    yield SystemCommand("view: follow the tail", "Jump to the newest line and keep following (End)",
                        partial(app.action_set_view, "follow", ""))
    yield SystemCommand("transcript: search", "Find text in the transcript (Ctrl+F)", app.action_search)
    yield SystemCommand("transcript: save as text…", "Write the whole transcript to a file (mode 0600)",
                        app.action_save_transcript)
    from smtpdbg.core.export import FORMATS

    for fmt, label in EXPORTS:
        yield SystemCommand(f"transcript: save {label}…", f"save {fmt} FILE: {FORMATS[fmt]} (this session)",
                            partial(app.action_save_as, fmt))
    yield SystemCommand("transcript: copy the exchange under the cursor", "Command and every line it produced",
                        app.action_copy_exchange)
    yield SystemCommand("tls: certificate chain", "Every certificate the server presented", app.action_tls_chain)
    yield SystemCommand("history: search", "Search past commands (Ctrl+R in the prompt)",
                        app.query_one("CommandPrompt").action_history_search)
    yield SystemCommand("help: keys and commands", "F1", app.action_help)
    yield from lesson_commands(app)
    for command in builtin:
        yield command._replace(title=_RENAMED.get(command.title, f"app: {command.title.lower()}"))
    for spec in COMMANDS:
        yield SystemCommand(f"command: {spec.name}", f"{spec.usage} — {spec.summary}",
                            partial(app.action_insert, spec.name + " "), discover=False)


def literal(text: str) -> str:
    """``text`` as palette markup that shows it unchanged (usages hold ``[TARGET]``, which markup would eat)."""
    return text.replace("[", "\\[")


def lesson_commands(app: SmtpdbgApp) -> Iterable[SystemCommand]:
    """``lesson: ...`` entries: pick one, start one by name, and act on the one in progress."""
    from smtpdbg.core.lessons import LessonError, load_lessons

    yield SystemCommand("lesson: pick a lesson…", "Guided lessons on the embedded sandbox (smtpdbg learn)", app.action_lessons)
    if app.lesson is not None:
        yield SystemCommand("lesson: try the suggested command", "Put it in the prompt (F4)", app.action_lesson_try)
        yield SystemCommand("lesson: restart", f"{app.lesson.lesson.title}, from step 1 on a new session",
                            app.action_lesson_restart)
        yield SystemCommand("lesson: stop", "Close the lesson pane; the session stays open", app.action_lesson_stop)
    try:
        lessons = load_lessons()
    except LessonError:
        return  # the picker says what is wrong with the file
    for lesson in lessons:
        yield SystemCommand(f"lesson: {lesson.id}", lesson.title, partial(app.begin_lesson, lesson.id), discover=False)
