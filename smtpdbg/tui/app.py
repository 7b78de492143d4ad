"""The Textual app: wires the session to the transcript, prompt, inspector and status bar.

The app owns one :class:`~smtpdbg.core.session.Session` at a time (the connect
dialog replaces it). It submits command lines and never waits on the socket:
events come back through an :class:`~smtpdbg.tui.messages.EventPump` (batched
per frame) and each command's outcome through its future's done-callback, which
only posts a message. Commands that need a body or a password go through the
composer or the masked prompt first. A guided lesson (``smtpdbg learn ID``, or
picked from the palette) adds a pane beside the transcript; the stage strip
above the status bar shows the protocol state machine, and the panel under the
transcript explains the selected line. ``run_app`` is what ``smtpdbg [TARGET]``
and ``smtpdbg learn ID`` call.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual import on

if TYPE_CHECKING:  # screens are imported when first opened: they are not on the first frame's path
    from smtpdbg.core.lessons import Lesson
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input

from smtpdbg.core.history import History
from smtpdbg.core.parser import parse
from smtpdbg.core.session import Outcome, Session, SessionOptions
from smtpdbg.core.state import SessionState
from smtpdbg.core.target import Target
from smtpdbg.tui.actions import AppActions
from smtpdbg.tui.key_actions import KeyActions
from smtpdbg.tui.lessons import LessonActions
from smtpdbg.tui.messages import CommandFinished, EventPump, SessionEvents
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.widgets.explain import LineExplainer
from smtpdbg.tui.widgets.footer import FittingFooter
from smtpdbg.tui.widgets.inspector import Inspector
from smtpdbg.tui.widgets.lesson import LessonPane, TryCommand
from smtpdbg.tui.widgets.prompt import CommandPrompt, CompletionMenu
from smtpdbg.tui.widgets.search import SearchBar
from smtpdbg.tui.widgets.stages import StageStrip
from smtpdbg.tui.widgets.status import StatusBar
from smtpdbg.tui.widgets.transcript import TranscriptView

NARROW = 100
"""Below this many columns the inspector starts hidden (F2 shows it)."""


class SmtpdbgApp(KeyActions, LessonActions, AppActions, App[int]):
    """smtpdbg: an interactive SMTP protocol debugger."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "smtpdbg"
    AUTO_FOCUS = "#command"
    BINDINGS = [  # the footer shows them in this order (after the focused widget's): the first ones survive 80 columns
        Binding("f1", "help", "Help", tooltip="Keys and commands"),
        Binding("escape", "abort", "Abort", tooltip="Interrupt the running command (shuts its socket down)", id="abort"),
        Binding("ctrl+f", "search", "Search", tooltip="Search the transcript"),
        Binding("f3", "search_next(1)", "Next match", show=False),
        Binding("shift+f3", "search_next(-1)", "Previous match", show=False),
        Binding("f2", "toggle_inspector", "Inspector", tooltip="Show or hide the feature inspector"),
        Binding("f4", "lesson_try", "Try it", tooltip="Put the lesson's suggested command in the prompt"),
        Binding("ctrl+o", "connect_dialog", "Connect", tooltip="Connect somewhere else (new session)"),
        Binding("f6", "switch_focus", "Focus", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    show_inspector: var[bool] = var(True)
    """Whether the inspector panel is shown."""
    state: var[SessionState] = var(SessionState, always_update=True)
    """The latest snapshot of the current session."""

    def __init__(
        self,
        target: Target | None,
        options: SessionOptions | None = None,
        *,
        session_factory: Callable[..., Session] = Session,
        history: History | None = None,
        startup: Iterable[str] | None = None,
        latency: bool = True,
        lesson: Lesson | None = None,
        embedded: bool = False,
    ) -> None:
        super().__init__()
        self.embedded = embedded
        """Open on the embedded sandbox, started after the first frame (``smtpdbg`` with no target)."""
        self.target = target
        self.options = options or SessionOptions()
        self.session_factory = session_factory
        """Builds sessions (tests pass a fake)."""
        self.history = history if history is not None else History()
        self.startup = tuple(startup) if startup is not None else (
            ("connect", "ehlo") if target is not None and target.sandbox else ("connect",) if target is not None else ())
        """Commands run when the app opens: ``connect`` (and ``ehlo`` on the sandbox, so the inspector is filled)."""
        self.latency = latency
        self.session: Session | None = None
        self.sessions: list[Session] = []
        """Every session of this run, oldest first (their transcripts make the saved file)."""
        self.outcomes: list[Outcome] = []
        """Outcomes of finished commands, oldest first."""
        self.pending = 0
        """Commands submitted and not finished."""
        self.sandbox = None
        """A sandbox started from the palette (stopped on exit)."""
        self.lesson_sandboxes: dict[tuple, object] = {}
        """Sandboxes started for lessons picked in the app, by their settings (stopped on exit)."""
        self._first_lesson = lesson
        self._pump: EventPump | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._inspector_auto = True

    # -- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                transcript = TranscriptView(id="transcript")
                transcript.border_title = "transcript"
                transcript.show_latency = self.latency
                yield transcript
                explainer = LineExplainer(id="explainer")
                explainer.border_title = "what the selected line means"
                explainer.display = False
                yield explainer
                search = SearchBar(id="search")
                search.display = False
                yield search
            pane = LessonPane(id="lesson")
            pane.border_title = "lesson"
            pane.display = False
            yield pane
            inspector = Inspector(id="inspector")
            inspector.border_title = "inspector"
            yield inspector
        yield StageStrip(id="stages")
        yield StatusBar(id="status")
        yield CommandPrompt(self.history, id="prompt")
        yield FittingFooter(compact=True)
        menu = CompletionMenu(id="completion")
        menu.display = False
        yield menu

    def on_mount(self) -> None:
        self.query_one(CommandPrompt).menu = self.query_one(CompletionMenu)
        self._layout_for(self.size.width)
        self.note("Enter runs a command · Tab completes · F1 help · Ctrl+P actions")
        if self.embedded or (self.target is not None and self.target.sandbox):
            self.note("embedded sandbox · demo login alice / wonderland")
        if self.embedded and self._first_lesson is None:
            self.call_after_refresh(self.action_sandbox)  # after the first frame, in a thread worker
        elif self._first_lesson is not None:
            self.start_lesson(self._first_lesson, self.target, self.options)
        elif self.target is not None:
            self.start_session(self.target, self.options, self.startup)
        else:  # a session without a server: explain, ?, help and connect work at once
            self.start_session(None, self.options, ())
            self.note("not connected: Ctrl+O opens the connect dialog, or type connect host:port")

    def on_resize(self, event) -> None:
        self._layout_for(event.size.width)

    def _layout_for(self, width: int) -> None:
        if self._inspector_auto:
            self.show_inspector = width >= NARROW
        self.query_one("#inspector").set_class(width < 120, "-narrow")
        self.query_one("#lesson").set_class(width < 100, "-narrow")

    def watch_show_inspector(self, show: bool) -> None:
        self.query_one("#inspector").display = show

    # -- sessions -------------------------------------------------------------------------------------
    def start_session(self, target: Target | None, options: SessionOptions, startup: Iterable[str] = ("connect",)) -> None:
        """Replace the current session with a new one and run ``startup`` on it."""
        self._retire_session()
        self.target, self.options = target, options
        session = self.session_factory(target, options)
        self.session = session
        self.sessions.append(session)
        self.history.secrets = session.transcript.secrets  # a line holding one of the session's secrets is kept masked
        self._pump = EventPump(self)
        self.query_one(StageStrip).restart()
        self._unsubscribe = session.subscribe(self._pump, replay=True)
        self.state = session.state
        for command in startup:
            self.submit(command)

    def _retire_session(self) -> None:
        old = self.session
        if old is None:
            return
        if self._pump is not None:
            self._pump.closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        if old.state.target:
            self.note(f"session on {old.state.target} closed; a new session starts")
        threading.Thread(target=old.shutdown, name="smtpdbg-retire", daemon=True).start()
        self.session = None
        self.pending = 0

    def submit(self, text: str, *, body: bytes | None = None, secret: str | None = None,
               typed: bool = False) -> Future | None:
        """Queue ``text`` on the session; its outcome comes back as :class:`CommandFinished`.

        Args:
            typed: the user entered it at the prompt (a lesson checks those, not the app's own commands).
        """
        if self.session is None:
            self.notify("not connected: Ctrl+O opens the connect dialog", severity="warning", markup=False)
            return None
        future = self.session.submit(text, body=body, secret=secret)
        self.pending += 1
        self.query_one(StatusBar).queued = self.pending
        future.add_done_callback(partial(self._finished, typed))
        return future

    def _finished(self, typed: bool, future: Future) -> None:
        """Runs on the session thread (or here, if already done): only posts a message."""
        try:
            outcome = future.result()
        except BaseException as error:  # noqa: BLE001 - the app must keep running
            outcome = Outcome("?", False, category="internal", message=repr(error))
        self.post_message(CommandFinished(outcome, typed))

    def note(self, text: str, kind: int = R.INFO) -> None:
        """Add a line of the app's own to the transcript."""
        self.query_one(TranscriptView).add_note(text, kind)

    # -- messages from the session ----------------------------------------------------------------------
    @on(SessionEvents)
    def _session_events(self, message: SessionEvents) -> None:
        batch = message.pump.drain()
        if not batch:
            return
        try:
            result = self.query_one(TranscriptView).append_events(batch)
        except Exception as error:  # noqa: BLE001 - a rendering bug must not end the session
            self.notify(f"could not show {len(batch)} event(s): {error!r}", title="smtpdbg bug", severity="error",
                        markup=False)
            return
        for notice in result.notices[:3]:
            self.notify(notice.message, title=notice.title, severity=notice.severity, timeout=6, markup=False)
        if not message.pump.closed:
            self.query_one(StageStrip).follow(result.timeline)
            if result.state is not None:
                self.state = result.state

    @on(CommandFinished)
    def _command_finished(self, message: CommandFinished) -> None:
        self.outcomes.append(message.outcome)
        self.pending = max(0, self.pending - 1)
        self.query_one(StatusBar).queued = self.pending
        if not self.pending:
            self.refresh_bindings()  # Esc (abort) leaves the footer once nothing is queued
        if message.typed:
            self.record_lesson(message.outcome)

    def watch_state(self, old: SessionState, state: SessionState) -> None:
        self.query_one(CommandPrompt).update_state(state)
        self.query_one(Inspector).update_state(state)
        self.query_one(StatusBar).state = state
        if old.busy != state.busy:
            self.refresh_bindings()
        self.sub_title = state.target

    # -- the prompt -----------------------------------------------------------------------------------------
    @on(CommandPrompt.Submitted)
    def _prompt_submitted(self, message: CommandPrompt.Submitted) -> None:
        text = message.text
        transcript = self.query_one(TranscriptView)
        if not transcript.follow:  # scrolled up or searching: show what this command does
            transcript.action_follow()
        if self.session is None and not text.startswith(("connect", "?", "explain")):
            self.notify("not connected: Ctrl+O opens the connect dialog", severity="warning", markup=False)
            return
        parsed = parse(text)
        needs = self.session.needs(parsed) if self.session is not None else None
        if needs is not None and needs.body:
            from smtpdbg.tui.screens.composer import ComposerScreen, message_template

            envelope = {}
            if parsed.name == "sendmail":  # the message is addressed like the envelope the command gives
                to = parsed.arg("to_addrs") or ""
                envelope = {"sender": parsed.arg("from_addr"),
                            "recipients": [a.strip() for a in (to.split(",") if isinstance(to, str) else to) if a.strip()]}
            template = self.lesson_body(text) or message_template(self.state, **envelope, **self.message_headers())
            self.push_screen(ComposerScreen(text, template), lambda body: self._with_body(text, body))
        elif needs is not None and needs.secret and not needs.offline:  # offline: the session says "not connected"
            from smtpdbg.tui.screens.password import PasswordScreen

            self.push_screen(PasswordScreen(text, encrypted=self.state.tls is not None, consent=needs.consent),
                             lambda secret: self._with_secret(text, secret))
        elif self.session is None:
            self._start_from_prompt(text)
        else:
            self.submit(text, typed=True)

    def _start_from_prompt(self, text: str) -> None:
        from smtpdbg.core.target import TargetError, parse_target

        target_text = parse(text).arg("target") if text.startswith("connect") else None
        try:
            target = parse_target(target_text) if target_text else None
        except TargetError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        if target is None:
            self.action_connect_dialog()
            return
        self.start_session(target, self.options)

    def message_headers(self) -> dict[str, str]:
        """Date and Message-ID for the composer's template (tests pin them)."""
        return {}

    def _with_body(self, text: str, body: bytes | None) -> None:
        if body is None:
            self.note(f"{text.split(' ', 1)[0]}: cancelled in the composer, nothing sent")
            return
        self.submit(text, body=body, typed=True)

    def _with_secret(self, text: str, secret: str | None) -> None:
        if secret is None:
            self.note(f"{text.split(' ', 1)[0]}: no password given, nothing sent")
            return
        self.submit(text, secret=secret, typed=True)
        del secret

    @on(CommandPrompt.HistorySearch)
    def _history_search(self) -> None:
        prompt = self.query_one(CommandPrompt)
        from smtpdbg.tui.screens.pickers import HistoryScreen

        self.push_screen(HistoryScreen(self.history, prompt.input.value),
                         lambda entry: prompt.set_text(entry) if entry else None)

    @on(TranscriptView.Selected)
    def _line_selected(self, message: TranscriptView.Selected) -> None:
        self.query_one(LineExplainer).show_row(self.query_one(TranscriptView).store, message.row)

    @on(TryCommand.Use)
    def _use_lesson_command(self, message: TryCommand.Use) -> None:
        self.action_lesson_try()

    @on(TranscriptView.Copied)
    def _copied(self, message: TranscriptView.Copied) -> None:
        self.notify(f"copied {message.lines} line{'s' if message.lines != 1 else ''} to the clipboard", timeout=2,
                    markup=False)


    @on(Input.Submitted, "#search-input")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_transcript(event.value, 1)

    @on(Input.Changed, "#search-input")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_one(TranscriptView).search_term = event.value


    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from smtpdbg.tui.palette import app_commands

        yield from app_commands(self, screen, super().get_system_commands(screen))

    async def action_quit(self) -> None:
        self.exit(0)

    def on_unmount(self) -> None:
        if self._pump is not None:
            self._pump.closed = True
        for session in self.sessions:
            session.shutdown(wait=1.0)
        if self.sandbox is not None:
            self.sandbox.stop()
        for sandbox in self.lesson_sandboxes.values():
            sandbox.stop()


def run_app(target: Target | None, options: SessionOptions, *, lesson: Lesson | None = None,
            embedded: bool = False, startup: Iterable[str] | None = None) -> int:
    """Run the app until the user quits (``embedded``: with no target, start the sandbox); returns the status."""
    mail_log = logging.getLogger("mail.log")  # aiosmtpd would write over the screen
    mail_log.addHandler(logging.NullHandler())
    mail_log.propagate = False
    app = SmtpdbgApp(target, options, lesson=lesson, embedded=embedded, startup=startup)
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
