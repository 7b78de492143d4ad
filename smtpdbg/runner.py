"""``smtpdbg run``: execute a script and print the transcript in swaks-style notation.

The non-interactive frontend. It never prompts when stdin is not a terminal,
never imports Textual or prompt-toolkit, and exits with a status that names
the stage that failed (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

import getpass
import os
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from smtpdbg.core.events import Error
from smtpdbg.core.parser import parse
from smtpdbg.core.render import TextRenderer, safe_text
from smtpdbg.core.script import ScriptError, Step, parse_script
from smtpdbg.core.session import Outcome, Session, SessionOptions
from smtpdbg.core.target import Target

EXIT_OK = 0
EXIT_USAGE = 2
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
}
"""Exit status by the stage of the first failure (0: everything succeeded; 2: bad usage or script)."""

_STAGE_OF = {
    "connect": "connect", "reconnect": "connect", "ehlo": "ehlo", "helo": "ehlo", "ehlo_or_helo_if_needed": "ehlo",
    "starttls": "tls", "login": "auth", "auth": "auth", "mail": "mail", "rcpt": "rcpt", "data": "data",
    "sendmail": "data", "send_message": "data",
}


def stage_of(step: Step, outcome: Outcome) -> str:
    name = step.parsed.name if step.parsed else ""
    if name in ("connect", "reconnect") and outcome.connected and outcome.code is not None:
        return "banner"
    if name == "sendmail" and outcome.category in ("sender-refused",):
        return "mail"
    if name == "sendmail" and outcome.category == "recipients-refused":
        return "rcpt"
    return _STAGE_OF.get(name, "command")


@dataclass
class RunResult:
    """What a script run produced, for the summary and the exit status."""

    commands: int = 0
    failures: list[tuple[Step, Outcome, str]] = field(default_factory=list)
    mismatches: list[tuple[Step, str, str]] = field(default_factory=list)
    """(step, expected, got) for each failed expectation."""

    @property
    def exit_code(self) -> int:
        if self.failures:
            return EXIT_CODES[self.failures[0][2]]
        if self.mismatches:
            return EXIT_CODES["expectation"]
        return EXIT_OK


def _use_color(stream: TextIO, choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def run_steps(session: Session, steps: list[Step], *, keep_going: bool = False, interactive: bool = False) -> RunResult:
    """Run parsed steps on a session; returns what happened."""
    result = RunResult()
    for step in steps:
        if step.directive == "sleep":
            time.sleep(float(step.text))
            continue
        if step.directive == "pause":
            if interactive:
                input(f"--- pause (line {step.line}) {step.text} — press Enter to continue ")
            continue
        secret = None
        needs = session.needs(step.parsed)
        if needs.secret:
            if not interactive:
                outcome = Outcome(step.text, False, category="auth",
                                  message="a password is needed but stdin is not a terminal: use --password-env NAME")
                session.transcript.add(Error, category="auth", message=outcome.message)
                result.failures.append((step, outcome, "auth"))
                if not keep_going:
                    break
                continue
            secret = getpass.getpass(f"password for {step.text!r}: ")
        outcome = session.execute(step.text, body=step.body, secret=secret)
        result.commands += 1
        expected_failure = False
        for expectation in step.expectations:
            got = expectation.check(outcome.code, outcome.text, session.state.features.raw)
            if got is not None:
                result.mismatches.append((step, expectation.text, got))
            elif outcome.code is not None and outcome.code >= 400:
                expected_failure = True
        if not outcome.ok and not expected_failure and not (step.expectations and outcome.code is not None):
            result.failures.append((step, outcome, stage_of(step, outcome)))
            if not keep_going:
                break
        if result.mismatches and not keep_going and result.mismatches[-1][0] is step:
            break
    return result


def summary_lines(result: RunResult) -> list[str]:
    lines = []
    for step, outcome, stage in result.failures:
        reason = outcome.message or f"{outcome.code} {outcome.text}".strip()
        lines.append(f"FAILED line {step.line}: {step.text}  [{stage}] {safe_text(reason)}")
    for step, expected, got in result.mismatches:
        lines.append(f"MISMATCH line {step.line}: {step.text}  expected {expected}, got {safe_text(got)}")
    status = "ok" if result.exit_code == 0 else f"exit {result.exit_code}"
    lines.append(f"{result.commands} command(s), {len(result.failures)} failed, {len(result.mismatches)} expectation(s) not met: {status}")
    return lines


def run_script(
    source: str,
    target: Target,
    options: SessionOptions,
    *,
    out: TextIO = sys.stdout,
    color: str = "auto",
    timestamps: str = "",
    keep_going: bool = False,
) -> int:
    """Run the script at ``source`` (a path, or ``-`` for stdin) against ``target``.

    Returns:
        The exit status (see :data:`EXIT_CODES`).
    """
    try:
        if source == "-":
            text = sys.stdin.read()
            interactive = False
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
            interactive = sys.stdin.isatty()
        steps = parse_script(text, os.environ)
    except ScriptError as exc:
        print(f"smtpdbg run: {source}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, UnicodeDecodeError) as exc:
        print(f"smtpdbg run: cannot read {source}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return EXIT_USAGE
    renderer = TextRenderer(color=_use_color(out, color), timestamps=timestamps)

    def show(event) -> None:
        for line in renderer.render(event):
            out.write(line + "\n")
        out.flush()

    session = Session(target, options)
    session.subscribe(show)
    try:
        if not steps or steps[0].parsed is None or steps[0].parsed.name not in ("connect", "reconnect"):
            steps.insert(0, Step(0, "connect", parse("connect")))
        result = run_steps(session, steps, keep_going=keep_going, interactive=interactive)
    finally:
        session.shutdown()
    for line in summary_lines(result):
        out.write(f"=== {line}\n")
    out.flush()
    return result.exit_code
