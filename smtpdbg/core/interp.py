"""The script interpreter: one loop for ``smtpdbg run``, the piped REPL, piped lessons and replays.

:class:`Interpreter` reads a script's items as they arrive
(:class:`~smtpdbg.core.script.ScriptReader`) and runs them on a session:
connects first unless the script starts with ``connect``, runs each command as
soon as its line (and message) is read, judges it by the ``expect`` lines that
follow, sleeps, asks a stepper at ``pause``/``--step``/``--break-on``, and
keeps what the end-of-run summary needs in a
:class:`~smtpdbg.core.results.RunResult` whose ``exit_code`` names the stage of
the first failure. Memory does not grow with the script: no step or outcome is
kept beyond the one being judged, and the result keeps the first
:data:`~smtpdbg.core.results.MAX_DETAILS` problems of each kind (counting the rest).

Frontends are thin loops around it: they print the transcript, supply a
stepper (keys from a terminal), a password prompt or hooks (a lesson's coach).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Protocol

from smtpdbg.core.events import Error, Event, Info, InfoKind
from smtpdbg.core.farewell import farewell
from smtpdbg.core.parser import parse
from smtpdbg.core.results import EXIT_USAGE, RunResult, Where, stage_of
from smtpdbg.core.script import Expectation, ScriptError, ScriptReader, Step

BATCH = 256
"""Commands run back to back on the session thread when the whole script is at hand."""
SENDERS_KEPT = 256
"""The last commands whose script lines are kept, for replies that arrive late (as the session's senders)."""

RUN, SKIP, CONTINUE, QUIT = "run", "skip", "continue", "quit"
BREAK_CONDITIONS = ("4xx", "5xx", "error")


class Stepper(Protocol):
    """Who decides, between commands, whether to go on (``--step``, ``--break-on``, ``pause``)."""

    stepping: bool
    break_on: frozenset[str]

    @property
    def active(self) -> bool: ...

    def before(self, line: int, text: str) -> str: ...

    def pause(self, line: int, text: str) -> str: ...

    def after(self, line: int, text: str, condition: str, got: str) -> str: ...


def breaks(conditions: frozenset[str], code: int | None, ok: bool, mismatch: bool, expected: bool) -> str:
    """The ``--break-on`` condition a command's result meets (``""`` if none).

    Args:
        code: the reply code (None when the command failed without a reply).
        ok: the command succeeded.
        mismatch: an expectation did not hold.
        expected: an expectation anticipated this (failing) reply.
    """
    if code is not None and not expected:
        if 400 <= code < 500 and "4xx" in conditions:
            return "4xx"
        if code >= 500 and "5xx" in conditions:
            return "5xx"
    if "error" in conditions and (mismatch or (not ok and not expected)):
        return "error"
    return ""


@dataclass(slots=True)
class _Pending:
    """The last command, waiting for the ``expect`` lines that may follow it."""

    step: Step
    outcome: object
    expectations: int = 0
    mismatched: bool = False
    expected_failure: bool = False
    recorded: bool = False
    """Its failure is already in the result (an expectation met a command that got no reply)."""
    late_failure: bool = False
    """A late reply it read failed an earlier command (recorded for that command's line)."""


class Interpreter:
    """Runs script items on a session.

    Args:
        keep_going: do not stop at the first failure (the piped REPL always goes on).
        stepper: asks before commands and after failures; while it is active a failure does not end the run.
        ask_secret: asks for a password (someone is at a terminal); ``None``: a command that needs one fails.
        secret: the password for every ``login``/``auth`` (a lesson's demo password).
        on_outcome: called with each command's outcome (a lesson checks it).
        on_connected: called once, after the first ``connect`` (a lesson shows its first step).
        batch: the whole script is at hand (a file): plain commands run back to back on the session thread.
        output: where the transcript is printed (a :class:`~smtpdbg.core.console.GuardedOutput`): once a
            write to it failed, the run stops (see :attr:`RunResult.output_closed`, :attr:`RunResult.output_errors`).
    """

    def __init__(self, session, *, environ: Mapping[str, str] | None = None, keep_going: bool = False,
                 stepper: Stepper | None = None, ask_secret: Callable[[str], str] | None = None,
                 secret: str | None = None, on_outcome: Callable[[object], None] | None = None,
                 on_connected: Callable[[], None] | None = None, batch: bool = False,
                 output=None, quit_at_end: bool = True) -> None:
        self.session = session
        self.environ = session.environ if environ is None else environ
        self.keep_going = keep_going
        self.stepper = stepper
        self.ask_secret = ask_secret
        self.secret = secret
        self.on_outcome = on_outcome
        self.on_connected = on_connected
        self.batch = batch and stepper is None and on_outcome is None
        self.output = output
        self.quit_at_end = quit_at_end
        """When the run stops (a failure, or the end of the script without ``quit``), send QUIT while the
        connection is usable, as swaks does (RFC 5321 §4.1.1.10: the client ends the session)."""
        self.result = RunResult()
        self._pending: _Pending | None = None
        self._ignore_expects = False
        """The last command was skipped or did not parse: its ``expect`` lines are not judged."""
        self._skip_next = False
        self._started = False
        self._finished = False
        self._lines: dict[int, Where] = {}
        """The script line of each of the last commands, by the session's command id (a late reply's
        failure is that line's)."""
        self._failed: set[int] = set()
        """Ids of the commands whose failure is in the result."""

    # -- the loop ------------------------------------------------------------------------------
    def run(self, lines: Iterable[str]) -> RunResult:
        """Run every item of ``lines``; Ctrl-C ends the run (the result says so)."""
        unsubscribe = self.session.subscribe(self._watch)
        try:
            self._loop(ScriptReader(lines, self.environ))
            self._quit()
        except KeyboardInterrupt:  # the caller still prints the summary and writes the exports (and shuts down)
            self._finished = True
            self.result.interrupted = True
            self.session.transcript.add(Info, kind=InfoKind.WARNING, text="interrupted by the user (Ctrl-C)")
        finally:
            self._finished = True
            unsubscribe()
        return self.result

    def _quit(self) -> None:
        """QUIT at the end of a run whose connection is still up (not counted among the script's commands);
        inside message text the connection is closed instead (:func:`~smtpdbg.core.farewell.farewell`)."""
        if not self.quit_at_end or not self.session.state.connected or self._halted():
            return
        command = farewell(self.session, announce="the run ends: QUIT (--drop closes without it)")
        if command is None:
            return
        outcome = self.session.execute(command)
        if outcome.category == "timeout":  # a run whose last exchange timed out did not end well
            self.result.add_failure(Where(0, f"{command} at the end of the run"), outcome, outcome.stage or "command")

    def _halted(self) -> bool:
        """Whether the printed transcript failed (then the run ends: nobody sees it go on)."""
        output = self.output
        if output is None or not (output.closed or output.error):
            return False
        if output.closed:
            self.result.output_closed = True
        else:
            self.result.output_errors.append(f"the transcript (standard output): {output.error}")
        return True

    def _watch(self, event: Event) -> None:
        if type(event) is Error and event.category == "log":
            self.result.output_errors.append(event.message)

    def _loop(self, reader: ScriptReader) -> None:
        while True:
            if self._halted():
                return
            try:
                item = reader.next()
            except ScriptError as exc:  # before connecting, if it is the first line: /dev/zero connects nowhere
                if exc.kind != "expect" and not self._settle():  # a bad expect line leaves its command open
                    return
                self._script_error(exc)
                if reader.broken or not self.keep_going:
                    return
                continue
            if isinstance(item, Expectation):
                self._expect(item)
                continue
            if not self._settle() or not self._begin(item):
                return
            if item is None or item.directive == "end":
                return
            if item.directive == "sleep":
                time.sleep(item.seconds)
            elif item.directive == "pause":
                if self.stepper is not None and self.stepper.pause(item.line, item.text) == QUIT:
                    self.result.stopped = item.line
                    return
            elif self.batch and self._plain(item):
                if not self._batch(item, reader):
                    return
            elif not self._command(item):
                return

    def _begin(self, item: Step | None) -> bool:
        """Before the first item: connect, unless the script does it itself. Returns whether to go on."""
        if self._started:
            return True
        self._started = True
        if item is not None and item.parsed is not None and item.parsed.name in ("connect", "reconnect"):
            return True
        target = self.session.target
        shown = f"connect {target}" if target is not None else "connect"
        return self._command(Step(0, "connect", parse("connect"), shown=shown)) and self._settle()

    def _script_error(self, exc: ScriptError) -> None:
        self.result.script_errors += 1
        self.result.fail(EXIT_USAGE)
        if exc.kind == "command":
            self._ignore_expects = True  # the expect lines of a command that did not run judge nothing
        self.session.transcript.add(Error, category="parse", message=str(exc))

    # -- one command ------------------------------------------------------------------------
    def _command(self, step: Step) -> bool:
        """Run one command (asking the stepper first). Returns whether to go on."""
        stepper = self.stepper
        if stepper is not None and step.line > 0:
            answer = SKIP if self._skip_next else stepper.before(step.line, step.label)
            self._skip_next = False
            if answer == QUIT:
                self.result.stopped = step.line
                return False
            if answer == SKIP:
                self.result.add_skip(self._where(step))
                self._ignore_expects = True
                self.session.transcript.add(Info, kind=InfoKind.INFO, text=f"skipped line {step.line}: {step.label}")
                return True
        secret = None
        needs = self.session.needs(step.parsed)
        if needs.ask_password:  # not connected, or no consent to cleartext: the session refuses it unasked
            secret = self.secret
            if secret is None and self.ask_secret is None:
                self._ran(step, self._refused(step, "a password is needed but stdin is not a terminal: "
                                                    "use --password-env NAME"))
                return True
            if secret is None:
                secret = self.ask_secret(step.label)
                if secret is None:
                    self._ran(step, self._refused(step, "no password was given: nothing was sent"))
                    return True
        self._ran(step, self.session.execute(step.text, body=step.body, secret=secret))
        return True

    def _refused(self, step: Step, message: str):
        """The outcome of an AUTH command that could not be sent for want of a password."""
        from smtpdbg.core.session import Outcome

        self.session.transcript.add(Error, category="auth", message=message)
        return Outcome(step.label, False, category="auth", message=message)

    def _ran(self, step: Step, outcome) -> None:
        self.result.commands += 1
        self._pending = _Pending(step, outcome)
        self._ignore_expects = False
        where = Where(step.line, step.label)
        for command_id, failure in outcome.late:  # late replies: the failure is the line's that sent the exchange
            self._pending.late_failure = True
            if command_id not in self._failed:
                if command_id in self._lines:
                    self._failed.add(command_id)
                self.result.add_failure(self._lines.get(command_id, where), failure, failure.stage or "command")
        if outcome.command_id:
            self._lines[outcome.command_id] = where
            while len(self._lines) > SENDERS_KEPT:  # memory does not grow with the script
                oldest = next(iter(self._lines))
                del self._lines[oldest]
                self._failed.discard(oldest)
        if self.on_connected is not None and step.parsed is not None and step.parsed.name in ("connect", "reconnect"):
            connected, self.on_connected = self.on_connected, None
            connected()
        if self.on_outcome is not None and step.line > 0:  # not the connect the interpreter added
            self.on_outcome(outcome)

    def _expect(self, expectation: Expectation) -> None:
        pending = self._pending
        if self._ignore_expects or pending is None:
            return
        outcome = pending.outcome
        pending.expectations += 1
        got = expectation.check(outcome.code, outcome.text, self.session.state.features.raw)
        if got is None:
            if outcome.code is not None and outcome.code >= 400:
                pending.expected_failure = True
            return
        if outcome.code is None and not outcome.ok and not pending.recorded:
            pending.recorded = True  # no reply to judge: the command's own failure comes first
            self.result.add_failure(self._where(pending.step), outcome, stage_of(pending.step, outcome))
        pending.mismatched = True
        self.result.add_mismatch(self._where(pending.step), expectation.text, got)
        self.session.transcript.add(Error, category="expectation",
                                    message=f"line {expectation.line}: expected {expectation.text}, got {got}")

    def _settle(self) -> bool:
        """Judge the last command now that its ``expect`` lines are read. Returns whether to go on."""
        pending, self._pending = self._pending, None
        if pending is None:
            return True
        step, outcome = pending.step, pending.outcome
        failed = (not outcome.ok and not pending.expected_failure
                  and not (pending.expectations and outcome.code is not None))
        if failed and not pending.recorded and outcome.command_id not in self._failed:
            self.result.add_failure(self._where(step), outcome, stage_of(step, outcome))
        if failed and outcome.command_id:
            self._failed.add(outcome.command_id)
        failed = failed or pending.late_failure
        stepper = self.stepper
        if stepper is not None and stepper.active and step.line > 0:
            anticipated = bool(pending.expectations) and not pending.mismatched and outcome.code is not None
            condition = breaks(stepper.break_on, outcome.code, outcome.ok, pending.mismatched, anticipated)
            if condition:
                from smtpdbg.core.render import safe_text

                got = f"{outcome.code} {outcome.text}".strip() if outcome.code is not None else outcome.message
                answer = stepper.after(step.line, step.label, condition, safe_text(got.split("\n", 1)[0]))
                if answer == QUIT:
                    self.result.stopped = step.line
                    return False
                self._skip_next = answer == SKIP
                return True
            if stepper.stepping:
                return True  # the next prompt lets the person decide
        return not ((failed or pending.mismatched) and not self.keep_going)

    def _where(self, step: Step) -> Where:
        """The step as summaries name it, with the session's secrets masked (a password written in the script)."""
        book = getattr(self.session, "secrets", None)  # a session that records no secrets masks none
        return Where(step.line, book.mask_text(step.label) if book else step.label)

    # -- batches ----------------------------------------------------------------------------
    def _plain(self, step: Step) -> bool:
        return not step.directive and not self.session.needs(step.parsed).secret

    def _batch(self, first: Step, reader: ScriptReader) -> bool:
        """Run ``first`` and the plain commands after it (with their expectations) in one hand-off."""
        steps = [first]
        while True:
            try:
                item = reader.next()
            except ScriptError as exc:
                reader.push(exc)
                break
            if isinstance(item, Expectation):
                steps[-1].expectations.append(item)
                continue
            if item is not None and len(steps) < BATCH and self._plain(item):
                steps.append(item)
                continue
            reader.push(item)
            break
        go = [True]

        def proceed(index: int, outcome) -> bool:
            if self._finished or self._halted():
                go[0] = False
                return False
            step = steps[index]
            self._ran(step, outcome)
            for expectation in step.expectations:
                self._expect(expectation)
            go[0] = self._settle()
            return go[0]

        self.session.submit_batch([(step.text, step.body) for step in steps], proceed).result()
        return go[0]
