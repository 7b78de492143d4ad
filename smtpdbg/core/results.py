"""What a script run produced, and the exit status that sums it up.

:class:`RunResult` is filled by the interpreter (:mod:`smtpdbg.core.interp`)
and read by the frontends for the end-of-run summary; :data:`EXIT_CODES` and
:data:`EXIT_MEANINGS` are the statuses ``smtpdbg run`` and the piped REPL exit
with (``run --help`` and the README list them from here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

EXIT_OK = 0
EXIT_USAGE = 2
"""Bad usage, or a script line that does not parse."""
EXIT_CODES = {
    "connect": 3,
    "banner": 4,
    "ehlo": 5,
    "tls": 6,
    "auth": 7,
    "mail": 8,
    "rcpt": 9,
    "data": 10,
    "command": 11,
    "expectation": 12,
    "compare": 13,
    "quit": 14,
    "output": 15,
}
"""Exit status by the stage of the first failure (0: everything succeeded; 2: bad usage or script;
13: the run differed from the ``--compare`` file; 14: stopped with ``q`` before the end;
15: an output could not be written: the ``--log`` file, an ``--export`` file or the transcript itself)."""
EXIT_INTERNAL = 70
"""An unexpected error inside smtpdbg (a crash report was written)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""
EXIT_OUTPUT_CLOSED = 141
"""The reader of the transcript went away (``| head``): 128 + SIGPIPE, as shells report it."""

EXIT_MEANINGS = (
    (0, "every command succeeded and every expectation held"),
    (2, "bad usage, or a script line that does not parse (a script file is checked whole first: nothing is sent)"),
    (3, "connecting failed"),
    (4, "the server refused the greeting"),
    (5, "HELO/EHLO failed"),
    (6, "STARTTLS or the TLS handshake failed"),
    (7, "authentication failed"),
    (8, "MAIL FROM was refused"),
    (9, "RCPT TO was refused"),
    (10, "DATA or the message was refused"),
    (11, "another command failed, or one found the connection already closed (nothing was sent)"),
    (12, "an expectation did not hold"),
    (13, "the run differed from --compare"),
    (14, "stopped with q before the end"),
    (15, "an output could not be written: the --log file, an --export file, or the transcript (stdout)"),
    (70, "an internal error (the message names the crash report written)"),
    (130, "interrupted with Ctrl-C (the summary and --export files are still written; a second Ctrl-C quits at once)"),
    (141, "standard output was closed (as by | head): the run stops quietly"),
)
"""What each exit status means (``run --help``, the README); the first problem decides the status."""

MAX_DETAILS = 100
"""Failures, mismatches and skipped lines listed one by one in the summary; past that they are counted."""

_STAGE_OF = {
    "connect": "connect", "reconnect": "connect", "ehlo": "ehlo", "helo": "ehlo", "ehlo_or_helo_if_needed": "ehlo",
    "starttls": "tls", "login": "auth", "auth": "auth", "mail": "mail", "rcpt": "rcpt", "data": "data",
    "sendmail": "data", "send_message": "data",
}


def stage_of(step, outcome) -> str:
    """The stage a failed command belongs to (names its exit status)."""
    if outcome.stage:
        return outcome.stage  # the core's: the stage of the exchange that failed
    name = step.parsed.name if step.parsed else ""
    if name in ("connect", "reconnect") and outcome.connected and outcome.code is not None:
        return "banner"
    if name == "sendmail" and outcome.category == "sender-refused":
        return "mail"
    if name == "sendmail" and outcome.category == "recipients-refused":
        return "rcpt"
    return _STAGE_OF.get(name, "command")


class Where(NamedTuple):
    """A script line as the summary names it (never with a substituted secret)."""

    line: int
    label: str


@dataclass
class RunResult:
    """What a script run produced, for the summary and the exit status."""

    commands: int = 0
    failures: list[tuple[Where, object, str]] = field(default_factory=list)
    """(line, outcome, stage) of the first :data:`MAX_DETAILS` failed commands."""
    mismatches: list[tuple[Where, str, str]] = field(default_factory=list)
    """(line, expected, got) of the first :data:`MAX_DETAILS` failed expectations."""
    skipped: list[Where] = field(default_factory=list)
    """Commands skipped with ``s`` while stepping (the first :data:`MAX_DETAILS`)."""
    failure_count: int = 0
    mismatch_count: int = 0
    skip_count: int = 0
    script_errors: int = 0
    """Script lines that did not parse (each is in the transcript)."""
    stopped: int | None = None
    """The script line where the user quit (``q``), if they did."""
    differences: list[str] = field(default_factory=list)
    """How this run differed from the ``--compare`` file."""
    interrupted: bool = False
    """Ctrl-C ended the run."""
    output_closed: bool = False
    """Whoever read the transcript went away (a closed pipe): the run stopped there."""
    output_errors: list[str] = field(default_factory=list)
    """Outputs that could not be written (the log, an export, the transcript)."""
    first: int = EXIT_OK
    """The exit status of the first problem, in the order they happened."""

    def fail(self, status: int) -> None:
        if self.first == EXIT_OK:
            self.first = status

    def add_failure(self, where: Where, outcome, stage: str) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_DETAILS:
            self.failures.append((where, outcome, stage))
        self.fail(EXIT_CODES[stage])

    def add_mismatch(self, where: Where, expected: str, got: str) -> None:
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_DETAILS:
            self.mismatches.append((where, expected, got))
        self.fail(EXIT_CODES["expectation"])

    def add_skip(self, where: Where) -> None:
        self.skip_count += 1
        if len(self.skipped) < MAX_DETAILS:
            self.skipped.append(where)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.output_closed:
            return EXIT_OUTPUT_CLOSED
        if self.first != EXIT_OK:
            return self.first
        if self.stopped is not None:
            return EXIT_CODES["quit"]
        if self.differences:
            return EXIT_CODES["compare"]
        if self.output_errors:
            return EXIT_CODES["output"]
        return EXIT_OK


