"""``smtpdbg repl``: the interactive prompt (or the piped reader when stdin is not a terminal).

The :class:`Repl` owns one ``PromptSession`` for commands (completion from
the core engine, auto-suggestion and Ctrl-R search over the persistent
history, the state toolbar, emacs or vi keys) and one for message lines and
passwords (masked, never remembered). Commands run on the session's thread;
while one runs, Ctrl-C aborts it. The transcript is printed as it happens, in
swaks notation, above the prompt (printed from the event loop), coloured unless
``NO_COLOR`` is set or stdout is not a terminal. With ``--explain`` (or
``set explain on``) each reply is followed by a dim line saying what it means.
A guided lesson (:mod:`smtpdbg.repl.lesson`) prints its steps and verdicts
between the commands.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import TextIO

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.application.current import get_app_or_none
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.styles import Style

from smtpdbg import __version__
from smtpdbg.core.console import use_color  # noqa: F401 - the REPL's colour choice, from the core
from smtpdbg.core.events import Event, StateChange, Wire
from smtpdbg.core.farewell import farewell
from smtpdbg.core.history import History
from smtpdbg.core.parser import ParseError, parse
from smtpdbg.core.script import ScriptError, encode_body, expand_body
from smtpdbg.core.session import Outcome, Session, SessionOptions
from smtpdbg.core.target import Target
from smtpdbg.repl.completer import SessionCompleter
from smtpdbg.repl.history import NoHistory, SessionHistory
from smtpdbg.repl.printer import TranscriptPrinter  # noqa: F401 - also where piped.py and the tests take it
from smtpdbg.repl.toolbar import toolbar

QUIET_HINT = 2.0
"""Seconds of silence from the server, while a command runs, before the REPL says Ctrl-C aborts."""

STYLE = Style.from_dict({
    "prompt": "bold",
    "prompt.tls": "ansigreen bold",
    "bottom-toolbar": "noreverse bg:#262626 #bcbcbc",
    "toolbar.keys": "#8a8a8a",
    "toolbar.usage": "bold #ffffff",
    "toolbar.next": "ansicyan",
    "toolbar.error": "ansired",
    "toolbar.target": "bold",
    "toolbar.ok": "ansigreen",
    "toolbar.warn": "ansiyellow bold",
    "toolbar.off": "#8a8a8a",
    "toolbar.stage": "ansicyan",
    "completion.other": "#8a8a8a",
})


class Repl:
    """The interactive loop on one session."""

    def __init__(self, session: Session, *, history: History, vi: bool = False, color: bool = False,
                 input=None, output=None, stream: TextIO | None = None, explain: bool = False, lesson=None) -> None:
        self.session = session
        history.secrets = session.transcript.secrets  # a line holding one of the session's secrets is stored masked
        self.stream = stream
        self.printer = TranscriptPrinter(lambda: self.stream or sys.stdout, color, explain=explain)
        self.lesson = lesson
        """A :class:`smtpdbg.repl.lesson.LessonCoach` when running a guided lesson."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self.prompt: PromptSession = PromptSession(
            message=self._message,
            completer=SessionCompleter(lambda: session.state),
            auto_suggest=AutoSuggestFromHistory(),
            history=SessionHistory(history),
            bottom_toolbar=lambda: toolbar(self._typed(), session.state,
                                           self.lesson.toolbar() if self.lesson is not None else None),
            style=STYLE,
            vi_mode=vi,
            complete_while_typing=True,
            input=input,
            output=output,
        )
        self.aux: PromptSession = PromptSession(history=NoHistory(), style=STYLE, input=input, output=output)
        self.failed = 0
        self._last_output = 0.0
        """``time.monotonic()`` of the last transcript line printed (the quiet-server hint waits for silence)."""
        self._hint: asyncio.TimerHandle | None = None

    # -- output ---------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.printer.write([f"=== {text}"])

    def _on_event(self, event: Event) -> None:
        """Called on the session thread: hand the event to the event loop, which prints it."""
        if isinstance(event, StateChange):
            app = self.prompt.app
            if app.is_running:
                app.invalidate()  # thread-safe
            return
        loop = self._loop
        if loop is None or self.stream is not None:
            self._last_output = time.monotonic()
            self.printer(event)
            return
        loop.call_soon_threadsafe(self._print_event, event)

    def _print_event(self, event: Event) -> None:
        """On the loop thread: above the prompt if one is showing (run_in_terminal), else plainly.

        Events are scheduled before the command's future resolves, so a
        command's transcript is always printed before the next prompt appears.
        """
        lines = self.printer.lines(event)
        if lines or type(event) is Wire:  # a reply's lines are held until it is complete: the server is not silent
            self._last_output = time.monotonic()
        if lines:
            print_formatted_text(ANSI("\n".join(lines)))

    def show(self, lines: list[str]) -> None:
        """Print lines of the frontend's own (a lesson's) in the transcript's order."""
        if lines and self._loop is not None and self.stream is None:
            print_formatted_text(ANSI("\n".join(lines)))
        elif lines:
            self.printer.write(lines)

    def set_explain(self, words: list[str]) -> None:
        """``set explain on|off``: annotate replies with their meaning, or stop."""
        if words not in (["on"], ["off"]):
            self.say(f"set explain on|off (now {'on' if self.printer.explain else 'off'})")
            return
        self.printer.explain = words == ["on"]
        self.say("explain on: a dim line under each reply says what it means" if self.printer.explain
                 else "explain off")

    def _typed(self) -> str:
        app = get_app_or_none()
        return app.current_buffer.text if app is not None else ""

    def _message(self):
        state = self.session.state
        marker = "🔒" if state.tls is not None and state.tls.verified else ""
        return [("class:prompt.tls", marker), ("class:prompt", "smtpdbg> ")]

    # -- the loop --------------------------------------------------------------------------
    async def run(self) -> int:
        """Connect, then read and run commands until ``exit`` or Ctrl-D. Returns 0."""
        self._loop = asyncio.get_running_loop()
        unsubscribe = self.session.subscribe(self._on_event)
        try:
            target = self.session.target
            self.say(f"smtpdbg {__version__} on {target or '(no target)'} · Tab completes · Ctrl-D leaves")
            if target is not None and target.sandbox:
                self.say("embedded sandbox · demo login alice / wonderland")
            await self.execute("connect")
            if self.lesson is not None:
                self.show(self.lesson.intro())
            while True:
                try:
                    text = await self.prompt.prompt_async()
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                text = text.strip()
                if not text:
                    continue
                if text in ("exit", "bye"):
                    break
                if text.split()[:2] == ["set", "explain"]:
                    self.set_explain(text.split()[2:])
                    continue
                outcome = await self.handle(text)
                if self.lesson is not None and outcome is not None:
                    self.show(self.lesson.after(outcome, self.session.state))
            command = farewell(self.session)  # QUIT; inside message text: close (a QUIT there would be text)
            if command is not None:
                await self.execute(command, timeout=5.0)
        finally:
            unsubscribe()
        return 0

    async def handle(self, text: str) -> Outcome | None:
        """Collect what the command needs (message, password), then run it."""
        try:
            parsed = parse(text)
        except ParseError:
            return await self.execute(text)  # the session reports the parse error
        needs = self.session.needs(parsed)
        body = secret = None
        if needs.body:
            body = await self.read_body(self.lesson.progress.body_for(text) if self.lesson is not None else None)
            if body is None:
                self.say("cancelled: nothing was sent")
                return None
        if needs.ask_password:  # not connected, or no consent to cleartext: the session refuses it unasked
            user = parsed.arg("user") or ""
            try:
                secret = await self.aux.prompt_async(f"password for {user}: ", is_password=True)
            except (KeyboardInterrupt, EOFError):
                self.say("cancelled: nothing was sent")
                return None
        return await self.execute(text, body=body, secret=secret)

    async def read_body(self, suggested: str | None = None) -> bytes | None:
        """Message lines up to a line holding a single ``.``; ``None`` when cancelled (Ctrl-C/Ctrl-D).

        Args:
            suggested: a message to offer (a lesson's): each line is pre-filled with its next line, then ``.``.
        """
        offered = suggested.splitlines() + ["."] if suggested else []
        self.say("type the message; end it with a line holding a single '.'"
                 + ("; Enter takes each suggested line" if offered else ""))
        lines: list[str] = []
        while True:
            try:
                default = offered[len(lines)] if len(lines) < len(offered) else ""
                # is_password must be given: prompt-toolkit keeps it from the last call (a password prompt)
                line = await self.aux.prompt_async("data> ", default=default, is_password=False)
            except (KeyboardInterrupt, EOFError):
                return None
            if line == ".":
                break
            lines.append(line)
        try:
            return encode_body(expand_body(lines, os.environ, 0))  # ${NAME}, as in scripts
        except ScriptError as error:
            self.say(f"{error.message}: nothing was sent")
            return None

    async def execute(self, text: str, **kwargs) -> Outcome:
        """Run a command on the session thread; Ctrl-C meanwhile aborts it.

        No prompt (and so no toolbar) shows while it runs: when the server has
        been silent for :data:`QUIET_HINT` seconds, a line says how to abort.
        """
        future = self.session.submit(text, **kwargs)
        loop = asyncio.get_running_loop()
        installed = False
        try:
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests) or no signals here
        started = self._last_output = time.monotonic()
        self._hint = loop.call_later(QUIET_HINT, self._quiet, text.split(" ", 1)[0], started)
        try:
            outcome = await asyncio.wrap_future(future)
        finally:
            self._hint.cancel()
            if installed:
                loop.remove_signal_handler(signal.SIGINT)
        if not outcome.ok:
            self.failed += 1
        return outcome


    def _interrupt(self) -> None:
        """Ctrl-C while a command runs: the terminal echoed ``^C``; end that line, then abort."""
        self.printer.write([""])
        self.session.abort()

    def _quiet(self, verb: str, started: float) -> None:
        """On the loop: say how to abort, once the server has been silent for a while (else look again later)."""
        now = time.monotonic()
        silent = now - self._last_output
        if silent < QUIET_HINT:
            self._hint = asyncio.get_running_loop().call_later(QUIET_HINT - silent, self._quiet, verb, started)
            return
        self.show(self.printer.flush()  # what a server stuck in the middle of a reply sent so far
                  + [self.printer.dim(f"=== {verb}: waiting for the server ({now - started:.0f} s) · Ctrl-C aborts")])


def history_for(choice) -> History:
    """``False``: none kept; ``None``: the default file; a path: that file."""
    if choice is False:
        return History(persist=False)
    return History(choice) if choice else History()


def run_repl(target: Target, options: SessionOptions, *, vi: bool = False, color: str = "auto", history=None,
             explain: bool = False) -> int:
    """The ``smtpdbg repl`` entry point.

    Returns:
        0 after an interactive session; with stdin not a terminal, the status
        of the first failed command (as ``smtpdbg run`` numbers them).
    """
    if not sys.stdin.isatty():
        from smtpdbg.repl.piped import repl_piped

        return repl_piped(target, options, color=color, explain=explain)
    session = Session(target, options)
    try:
        repl = Repl(session, history=history_for(history), vi=vi, color=use_color(color, sys.stdout), explain=explain)
        return asyncio.run(repl.run())
    finally:
        session.shutdown()
