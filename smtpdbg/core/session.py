"""The session: the one owner of the socket.

A :class:`Session` owns the traced smtplib object and runs commands strictly
one at a time on its own thread, in the order they were submitted. Frontends
submit command lines and subscribe to the transcript; they never touch the
socket. Every command runs under a wall-clock timeout, can be aborted from
any thread, and ends in an :class:`Outcome`; no exception escapes to a
frontend.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Callable, Mapping

from smtpdbg.core.context import HandlerContext, Needs, during_of, shown_line
from smtpdbg.core.errors import classify
from smtpdbg.core.events import CommandEnd, CommandStart, Error, Event, Info, InfoKind, StateChange
from smtpdbg.core.known_secrets import SecretBook
from smtpdbg.core.parser import ParseError, Parsed, parse
from smtpdbg.core.options import DEFAULT_TIMEOUT, SessionOptions  # noqa: F401 - part of this module's API
from smtpdbg.core.outcome import Outcome, Senders, judge, outcome_of_reply
from smtpdbg.core.preflight import before_command, close_if_closing
from smtpdbg.core.snapshot import build_state
from smtpdbg.core.state import SessionState
from smtpdbg.core.target import Target
from smtpdbg.core.transcript import Transcript



@dataclass(slots=True)
class _Job:
    shown: str
    """The command as the transcript shows it: a hand-typed AUTH payload is masked."""
    parsed: Parsed
    body: bytes | None
    secret: str | None
    timeout: float | None
    future: Future
    aborted: bool = False
    """Set by :meth:`Session.abort`; checked where the connection object is replaced (``connect``)."""


@dataclass(slots=True)
class _Batch:
    items: list[tuple[str, bytes | None]]
    proceed: Callable[[int, Outcome], bool]
    future: Future


class Session:
    """Runs commands against one server, one at a time, on its own thread."""

    def __init__(
        self,
        target: Target | None = None,
        options: SessionOptions | None = None,
        *,
        transcript: Transcript | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        self.options = options or SessionOptions()
        self.transcript = transcript if transcript is not None else Transcript()
        self.environ = environ if environ is not None else os.environ
        self.secrets = SecretBook()
        """The passwords and tokens this session was given: masked, with their encodings, in every event."""
        if self.options.password_env:
            self.secrets.learn(self.environ.get(self.options.password_env))
        self.transcript.secrets = self.secrets
        self.smtp = None
        """The traced smtplib object; only the session thread touches it."""
        self.debuglevel = 0
        self.mx = ""
        """For an ``mx:`` target: which exchanger and address the session uses."""
        self._tls_context = None
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._senders = Senders()
        self._running: _Job | None = None
        self._running_since = 0.0
        self._submit_lock = threading.RLock()
        """Orders queueing against shutdown (re-entrant: a listener may submit from inside submit)."""
        self._abort_lock = threading.Lock()
        """Makes "is a command running?" and shutting its socket down one step against the command's end."""
        self._commands_run = 0
        self._state_cache: dict = {}
        self._state = self._build_state()
        self._stopped = False
        self._log = None
        if self.options.log:
            from smtpdbg.core.log import SessionLog

            self._log = SessionLog(self.options.log, self.transcript)  # write errors are reported there
            self.transcript.subscribe(self._log, replay=True)
        self._thread = threading.Thread(target=self._loop, name="smtpdbg-session", daemon=True)
        self._thread.start()

    # -- public API (any thread) ---------------------------------------------------------------
    @property
    def state(self) -> SessionState:
        """The latest snapshot (immutable; safe to read from any thread)."""
        return self._state

    def subscribe(self, listener: Callable[[Event], None], *, replay: bool = False) -> Callable[[], None]:
        return self.transcript.subscribe(listener, replay=replay)

    def needs(self, parsed: Parsed) -> Needs:
        """Whether ``parsed`` needs a body or a password before it can be submitted."""
        from smtpdbg.core.handlers.common import needs

        return needs(self, parsed)

    def submit(
        self,
        text: str,
        *,
        body: bytes | str | None = None,
        secret: str | None = None,
        timeout: float | None = None,
    ) -> Future:
        """Queue a command line; the future resolves to its :class:`Outcome`.

        A line that does not parse is answered at once (nothing is sent), with
        an error event in the transcript. ``abort`` is handled immediately.
        """
        future: Future = Future()
        with self._submit_lock:  # against shutdown() between the "stopped?" check and the put
            job = self._job(text, body, secret, timeout, future)
            if job is not None:
                self._queue.put(job)
        return future

    def _job(self, text: str, body, secret, timeout, future: Future) -> _Job | None:
        """Parse a command into a job; answer ``future`` at once when it needs no queue."""
        from smtpdbg.core.history import scrub

        stripped = text.strip()
        try:
            parsed = parse(stripped)
        except ParseError as exc:
            self.transcript.add(Error, category="parse", message=str(exc), connected=self._connected())
            future.set_result(Outcome(self.secrets.mask_text(scrub(stripped)), False, category="parse", message=str(exc),
                                      connected=self._connected()))
            return None
        if parsed.name == "abort":
            aborted = self.abort()
            future.set_result(Outcome(stripped, True, message="aborted" if aborted else "nothing to abort",
                                      connected=self._connected()))
            return None
        if isinstance(body, str):
            body = body.encode("utf-8")
        if self._stopped:
            future.set_result(Outcome(self.secrets.mask_text(scrub(stripped)), False, category="stopped",
                                      message="the session has been shut down"))
            return None
        return _Job(self.secrets.mask_text(scrub(stripped)), parsed, body, secret, timeout, future)

    def submit_batch(self, items: list[tuple[str, bytes | None]], proceed: Callable[[int, Outcome], bool]) -> Future:
        """Run several commands back to back on the session thread (scripts: no hand-off per command).

        Args:
            items: ``(command, body)`` pairs.
            proceed: called on the session thread after each command with its
                index and outcome; returning False stops the batch there.

        Returns:
            A future of the list of outcomes of the commands that ran.
        """
        future: Future = Future()
        with self._submit_lock:
            if self._stopped:
                future.set_result([])
                return future
            self._queue.put(_Batch(list(items), proceed, future))
        return future

    def execute(self, text: str, **kwargs) -> Outcome:
        """Submit and wait for the outcome."""
        return self.submit(text, **kwargs).result()

    def abort(self) -> bool:
        """Interrupt the running network command (shuts its socket down). Returns whether one was.

        A local command (``save``, ``show``...) is left to finish: shutting the
        socket down would only cost the connection.
        """
        with self._abort_lock:
            job = self._running
            if job is not None and job.parsed.spec.network:
                job.aborted = True  # before reading self.smtp: a connect replacing it checks this flag
                smtp = self.smtp
                if smtp is not None:
                    smtp.abort()
        if job is None:
            self.transcript.add(Info, kind=InfoKind.INFO, text="abort: no command is running")
            return False
        if not job.aborted:
            self.transcript.add(Info, kind=InfoKind.INFO,
                                text=f"abort: {job.shown!r} runs locally and cannot be interrupted; it ends on its own")
            return False
        elapsed = time.monotonic() - self._running_since
        self.transcript.add(Info, kind=InfoKind.WARNING, text=f"abort requested for {job.shown!r} after {elapsed:.1f} s")
        return True

    def shutdown(self, *, wait: float = 5.0) -> None:
        """Stop the session thread and close the connection (without QUIT)."""
        with self._submit_lock:
            if self._stopped:
                return
            self._stopped = True
        if self._running is not None:
            self.abort()
        self._queue.put(None)
        self._thread.join(wait)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    # -- the session thread ---------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                break
            if isinstance(job, _Batch):
                self._run_batch(job)
                continue
            try:
                self._run(job)
            except BaseException as exc:  # noqa: BLE001 - the thread must survive anything
                job.future.set_result(Outcome(job.shown, False, category="internal", message=repr(exc)))
        smtp = self.smtp
        if smtp is not None and smtp.sock is not None:
            smtp.close_reason = "the session ended"
            try:
                smtp.close()
            except OSError:
                pass
        if self._log is not None:
            self._log.close()
        while True:  # answer anything queued after shutdown
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(job, _Batch):
                job.future.set_result([])
            elif job is not None:
                job.future.set_result(Outcome(job.shown, False, category="stopped", message="the session has been shut down"))

    def _run_batch(self, batch: _Batch) -> None:
        outcomes: list[Outcome] = []
        try:
            for index, (text, body) in enumerate(batch.items):
                if self._stopped:
                    break
                future: Future = Future()
                job = self._job(text, body, None, None, future)
                if job is not None:
                    try:
                        self._run(job)
                    except BaseException as exc:  # noqa: BLE001 - the thread must survive anything
                        future.set_result(Outcome(job.shown, False, category="internal", message=repr(exc)))
                outcome = future.result()
                outcomes.append(outcome)
                if not batch.proceed(index, outcome):
                    break
        finally:
            batch.future.set_result(outcomes)

    def _run(self, job: _Job) -> None:
        from smtpdbg.core.registry import handler_for

        spec = job.parsed.spec
        command_id = next(self._ids)
        start = time.monotonic()
        timeout = job.timeout or job.parsed.opt("timeout") or self.options.timeout
        smtp = self.smtp
        if smtp is not None:  # before the command counts as running: an abort from now on must stick
            smtp.deadline = start + timeout if spec.network else None
            smtp.aborted = False
            smtp.timeout = timeout
        self._running = job
        self._running_since = start
        job.shown = shown_line(self, job.parsed, job.shown, job.secret)
        started = self.transcript.add(CommandStart, command_id=command_id, text=job.shown, call=spec.call)
        first_exchange = self.transcript.numbered("exchange") + 1
        self._senders.started(command_id, first_exchange)
        # Nothing but "busy" changed since the last snapshot: a cheap copy, not a rebuild.
        self._state = replace(self._state, busy=True, running=job.shown)
        self.transcript.add(StateChange, state=self._state)
        reply = None
        try:
            if smtp is not None and spec.network and spec.name != "drain":
                before_command(smtp, job.parsed.name, self.transcript)
            context = HandlerContext(self, job, timeout, start)
            reply = handler_for(spec)(context, job.parsed)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an event
            outcome = self._failed(job, exc, start)
        else:
            outcome = self._succeeded(job, reply, start)
        finally:
            with self._abort_lock:
                self._running = None
            smtp = self.smtp
            if smtp is not None:
                if job.aborted and smtp.sock is not None:
                    # The abort shut the socket down as the command was finishing: say so now,
                    # not as a mysterious failure of the next command.
                    smtp.close_reason = "aborted by the user"
                    try:
                        smtp.close()
                    except OSError:
                        pass
                smtp.deadline = None
                smtp.aborted = False
        if spec.network:
            outcome = self._after_replies(job, outcome, started.seq, first_exchange)
        outcome = replace(outcome, command_id=command_id)
        if job.aborted and outcome.connected:
            outcome = replace(outcome, connected=False)
        outcome = self.secrets.mask_outcome(outcome)  # a reply quoting a secret, an error message quoting the line
        self._commands_run += 1
        self.transcript.add(
            CommandEnd, command_id=command_id, text=job.shown, ok=outcome.ok, elapsed=outcome.elapsed,
            code=outcome.code, reply=outcome.text, category=outcome.category,
        )
        self._publish(busy=False, running="")
        job.future.set_result(outcome)

    def _after_replies(self, job: _Job, outcome: Outcome, since: int, first_exchange: int) -> Outcome:
        """Judge the command by its exchanges; close the connection the server said it is closing (421)."""
        if self.smtp is not None and job.parsed.name != "quit" and close_if_closing(self.smtp):
            message = outcome.message or f"{outcome.code} {outcome.text}".strip()
            outcome = replace(outcome, connected=False,
                              message=f"{message}; the server is closing the connection: not connected now (use `reconnect`)")
        return judge(outcome, job.parsed.name, self.transcript.since(since), network=True,
                     first_exchange=first_exchange, senders=self._senders)

    def _succeeded(self, job: _Job, reply, start: float) -> Outcome:
        return outcome_of_reply(job.shown, reply, time.monotonic() - start, self._connected())

    def _failed(self, job: _Job, exc: BaseException, start: float) -> Outcome:
        elapsed = time.monotonic() - start
        classified = classify(exc, during=during_of(job.parsed, self.smtp) if job.parsed.spec.network else "")
        message = classified.message
        if classified.category == "aborted":
            message = f"{message} (after {elapsed:.1f} s)"
        elif classified.category == "timeout" and f"{job.parsed.name}" not in message:
            message = f"{message} (command {job.shown!r}, limit {self._timeout_of(job):g} s)"
        connected = self._connected()
        if not connected and classified.category not in ("parse", "file", "not-connected"):
            message += "; not connected now (use `reconnect`)"
        ended = self.smtp.tracker.closing_reason if self.smtp is not None and not connected else ""
        if classified.category in ("not-connected", "disconnected") and ended.startswith("the server sent 421"):
            message += f"; the connection ended after {ended}"
        self.transcript.add(Error, category=classified.category, message=message, exception=classified.exception,
                            connected=connected, code=classified.code)
        return Outcome(job.shown, False, classified.code, "", classified.category, message, elapsed, connected)

    def _timeout_of(self, job: _Job) -> float:
        return job.timeout or job.parsed.opt("timeout") or self.options.timeout

    def _connected(self) -> bool:
        smtp = self.smtp
        return smtp is not None and smtp.sock is not None

    @property
    def commands_run(self) -> int:
        """Commands run so far (shown in the state)."""
        return self._commands_run

    @property
    def tls_context(self):
        """The TLS context built for this session (on first use; kept for reconnects), or ``None``."""
        return self._tls_context

    @tls_context.setter
    def tls_context(self, context) -> None:
        self._tls_context = context

    def _build_state(self, busy: bool = False, running: str = "") -> SessionState:
        return build_state(self, self._state_cache, busy, running)

    def _publish(self, **overrides) -> None:
        self._state = self._build_state(**overrides)
        self.transcript.add(StateChange, state=self._state)


