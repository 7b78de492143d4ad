"""The REPL without a terminal: commands read line by line from stdin.

``echo ehlo | smtpdbg repl HOST`` (or a here-document) runs each command as
soon as its line arrives, never prompts (a password must come from
``--password-env``), reads a message after ``data`` up to a line with a
single ``.``, accepts the script extras (``#`` comments, ``expect``,
``${NAME}``, ``sleep``; ``pause`` is ignored) and exits with the status ``smtpdbg run`` would give for the
first failure (see :data:`smtpdbg.runner.EXIT_CODES`), 0 when every command
succeeded. It does not import prompt-toolkit.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterable, Iterator, Mapping, TextIO

from smtpdbg.core.events import Error
from smtpdbg.core.parser import ParseError, parse
from smtpdbg.core.script import ScriptError, Step, parse_expectation, substitute
from smtpdbg.core.session import Outcome, Session
from smtpdbg.runner import EXIT_CODES, EXIT_OK, stage_of


class _Lines:
    """Numbered lines from a stream, read lazily (each command runs before the next line is read)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._iter: Iterator[str] = iter(lines)
        self.number = 0

    def next(self) -> str | None:
        try:
            line = next(self._iter)
        except StopIteration:
            return None
        self.number += 1
        return line.rstrip("\r\n")


def run_piped(session: Session, lines: Iterable[str], *, environ: Mapping[str, str] | None = None,
              err: TextIO | None = None, after: Callable[[Outcome], None] | None = None,
              secret: str | None = None, connected: Callable[[], None] | None = None) -> int:
    """Run commands from ``lines`` on ``session`` (already subscribed to a printer).

    Args:
        after: called with each command's outcome (a guided lesson checks it).
        connected: called once the first ``connect`` has run (a lesson shows its first step).
        secret: the password for ``login``/``auth`` (the sandbox's public demo password in a lesson).

    Returns:
        0, or the exit status of the first failure (by stage; 12 for an expectation).
    """
    environ = os.environ if environ is None else environ
    reader = _Lines(lines)
    status = EXIT_OK
    last: tuple[Step, Outcome] | None = None

    pending: int | None = None
    """The failure of the last command, held back in case an ``expect`` line anticipates it."""

    def fail(code: int) -> None:
        nonlocal status
        if status == EXIT_OK:
            status = code

    def commit() -> None:
        nonlocal pending
        if pending is not None:
            fail(pending)
            pending = None

    connect = session.execute("connect")
    if not connect.ok:
        fail(EXIT_CODES[stage_of(Step(0, "connect", parse("connect")), connect)])
    if connected is not None:
        connected()
    while True:
        line = reader.next()
        if line is None:
            commit()
            break
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text in ("exit", "bye"):
            commit()
            break
        number = reader.number
        verb, _, rest = text.partition(" ")
        if verb.lower() == "sleep":
            try:
                time.sleep(float(rest))
            except ValueError:
                session.transcript.add(Error, category="parse", message=f"line {number}: sleep needs seconds, not {rest!r}")
                fail(EXIT_CODES["command"])
            continue
        if verb.lower() == "pause":
            continue  # nobody to ask: stdin is the script
        if verb.lower() == "expect":
            if last is None:
                session.transcript.add(Error, category="parse", message=f"line {number}: expect must follow a command")
                fail(EXIT_CODES["expectation"])
                continue
            try:
                expectation = parse_expectation(rest, number)
            except ScriptError as exc:
                session.transcript.add(Error, category="parse", message=str(exc))
                fail(EXIT_CODES["expectation"])
                continue
            step, outcome = last
            got = expectation.check(outcome.code, outcome.text, session.state.features.raw)
            if got is not None:
                session.transcript.add(Error, category="expectation",
                                       message=f"line {number}: expected {expectation.text}, got {got}")
                if outcome.code is not None:
                    pending = None  # as in `smtpdbg run`: the mismatch is the failure
                commit()
                fail(EXIT_CODES["expectation"])
            elif outcome.code is not None:
                pending = None  # the reply was anticipated: not a failure
            continue
        commit()
        try:
            text = substitute(text, environ, number)
        except ScriptError as exc:
            session.transcript.add(Error, category="parse", message=str(exc))
            fail(EXIT_CODES["command"])
            continue
        try:
            parsed = parse(text)
        except ParseError:
            outcome = session.execute(text)  # records the parse error in the transcript
            fail(EXIT_CODES["command"])
            last = None
            continue
        needs = session.needs(parsed)
        body = None
        if needs.body:
            collected: list[str] = []
            while True:
                more = reader.next()
                if more is None:
                    session.transcript.add(Error, category="parse",
                                           message=f"line {number}: the message after {parsed.name!r} has no ending '.' line")
                    return status or EXIT_CODES["command"]
                if more == ".":
                    break
                collected.append(more)
            body = ("\r\n".join(collected) + "\r\n").encode("utf-8") if collected else b""
        step = Step(number, text, parsed, body)
        if needs.secret and secret is None:
            message = "a password is needed but stdin is not a terminal: use --password-env NAME"
            session.transcript.add(Error, category="auth", message=message)
            outcome = Outcome(text, False, category="auth", message=message)
            fail(EXIT_CODES["auth"])
            last = (step, outcome)
            continue
        outcome = session.execute(text, body=body, secret=secret if needs.secret else None)
        last = (step, outcome)
        if not outcome.ok:
            pending = EXIT_CODES[stage_of(step, outcome)]
        if after is not None:
            after(outcome)
    return status
