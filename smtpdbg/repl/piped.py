"""The REPL without a terminal: commands read line by line from stdin.

``echo ehlo | smtpdbg repl HOST`` (or a here-document) is the script
interpreter of the core (:mod:`smtpdbg.core.interp`) reading stdin as it
arrives, going on after failures: each command runs as soon as its line
arrives, nothing prompts (a password must come from ``--password-env``), a
message after ``data`` runs up to a line with a single ``.``, and the script
extras work (``#`` comments, ``expect``, ``${NAME}``, ``sleep``; ``pause`` is
ignored: nobody is there to answer). So it prints the same transcript and
summary and exits with the same status as ``smtpdbg run --keep-going -`` on
the same text (see :data:`smtpdbg.core.results.EXIT_CODES`).
"""

from __future__ import annotations

import sys
from typing import Callable, Iterable, Mapping

from smtpdbg.core.console import GuardedOutput
from smtpdbg.core.interp import Interpreter
from smtpdbg.core.results import RunResult
from smtpdbg.core.session import Outcome, Session


def run_piped(session: Session, lines: Iterable[str], *, environ: Mapping[str, str] | None = None,
              after: Callable[[Outcome], None] | None = None, secret: str | None = None,
              connected: Callable[[], None] | None = None, output: GuardedOutput | None = None) -> RunResult:
    """Run the commands of ``lines`` on ``session`` (already subscribed to a printer), going on after failures.

    Args:
        after: called with each command's outcome (a guided lesson checks it).
        connected: called once the first ``connect`` has run (a lesson shows its first step).
        secret: the password for ``login``/``auth`` (the sandbox's public demo password in a lesson).
        output: the printer's stream: once writing to it fails, the run stops.
    """
    interpreter = Interpreter(session, environ=environ, keep_going=True, secret=secret, on_outcome=after,
                              on_connected=connected, output=output)
    return interpreter.run(lines)


def repl_piped(target, options, *, color: str, explain: bool) -> int:
    """``smtpdbg repl`` with stdin not a terminal. Returns the exit status."""
    from smtpdbg.core.console import use_color
    from smtpdbg.core.retention import ScriptTranscript
    from smtpdbg.core.script import read_lines
    from smtpdbg.repl.main import TranscriptPrinter
    from smtpdbg.runner import finish

    output = GuardedOutput(sys.stdout)
    session = Session(target, options, transcript=ScriptTranscript())
    session.subscribe(TranscriptPrinter(output, use_color(color, sys.stdout), explain=explain, outcomes=False))
    try:
        result = run_piped(session, read_lines(sys.stdin.buffer), output=output)
    finally:
        session.shutdown()
    return finish(session, result, output, prog="smtpdbg repl")
