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

from smtpdbg.core.events import Error, Info, InfoKind
from smtpdbg.core.parser import parse
from smtpdbg.core.render import TextRenderer, safe_text
from smtpdbg.core.script import ScriptError, Step, parse_script
from smtpdbg.core.session import Outcome, Session, SessionOptions
from smtpdbg.core.target import Target
from smtpdbg.stepper import QUIT, SKIP, Stepper, breaks

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""
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
}
"""Exit status by the stage of the first failure (0: everything succeeded; 2: bad usage or script;
13: the run differed from the ``--compare`` file; 14: stopped with ``q`` before the end; 130: Ctrl-C)."""

_STAGE_OF = {
    "connect": "connect", "reconnect": "connect", "ehlo": "ehlo", "helo": "ehlo", "ehlo_or_helo_if_needed": "ehlo",
    "starttls": "tls", "login": "auth", "auth": "auth", "mail": "mail", "rcpt": "rcpt", "data": "data",
    "sendmail": "data", "send_message": "data",
}


def stage_of(step: Step, outcome: Outcome) -> str:
    if outcome.stage in EXIT_CODES:  # the core decided it from the failing exchange (a refused RCPT is "rcpt")
        return outcome.stage
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
    skipped: list[Step] = field(default_factory=list)
    """Commands skipped with ``s`` while stepping."""
    stopped: int | None = None
    """The script line where the user quit (``q``), if they did."""
    differences: list[str] = field(default_factory=list)
    """How this run differed from the ``--compare`` file."""
    interrupted: bool = False
    """Ctrl-C ended the run."""

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failures:
            return EXIT_CODES[self.failures[0][2]]
        if self.mismatches:
            return EXIT_CODES["expectation"]
        if self.stopped is not None:
            return EXIT_CODES["quit"]
        if self.differences:
            return EXIT_CODES["compare"]
        return EXIT_OK


def _use_color(stream: TextIO, choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def run_steps(session: Session, steps: list[Step], *, keep_going: bool = False, interactive: bool = False,
              stepper: Stepper | None = None) -> RunResult:
    """Run parsed steps on a session; returns what happened.

    Args:
        keep_going: do not stop at the first failure.
        interactive: someone is at a terminal (passwords may be asked).
        stepper: asks before commands (``--step``, ``pause``) and after failures (``--break-on``);
            while it is active a failure does not end the run: the person decides.
    """
    result = RunResult()
    state = {"skip_next": False}
    remaining: list[Step] | None = steps
    try:
        while remaining:
            if stepper is None:
                remaining = _run_batches(session, remaining, result, keep_going)
                if not remaining:
                    break
            step, remaining = remaining[0], remaining[1:]
            if not _one_step(session, step, result, keep_going, interactive, stepper, state):
                break
    except KeyboardInterrupt:  # Ctrl-C: the caller still prints the summary and writes the exports
        result.interrupted = True
        session.transcript.add(Info, kind=InfoKind.WARNING, text="interrupted by the user (Ctrl-C)")
    return result


def _one_step(session: Session, step: Step, result: RunResult, keep_going: bool, interactive: bool,
              stepper: Stepper | None, state: dict) -> bool:
    """Run one step the slow way (directives, passwords, stepping). Returns whether to go on."""
    if step.directive == "sleep":
        time.sleep(float(step.text))
        return True
    if step.directive == "pause":
        if stepper is not None and stepper.pause(step.line, step.text) == QUIT:
            result.stopped = step.line
            return False
        return True
    if stepper is not None and step.line > 0:
        answer = SKIP if state["skip_next"] else stepper.before(step.line, step.label)
        state["skip_next"] = False
        if answer == QUIT:
            result.stopped = step.line
            return False
        if answer == SKIP:
            result.skipped.append(step)
            session.transcript.add(Info, kind=InfoKind.INFO, text=f"skipped line {step.line}: {step.label}")
            return True
    secret = None
    if session.needs(step.parsed).secret:
        if not interactive:
            outcome = Outcome(step.label, False, category="auth",
                              message="a password is needed but stdin is not a terminal: use --password-env NAME")
            session.transcript.add(Error, category="auth", message=outcome.message)
            result.failures.append((step, outcome, "auth"))
            return keep_going
        secret = getpass.getpass(f"password for {safe_text(step.label)!r}: ")
    outcome = session.execute(step.text, body=step.body, secret=secret)
    failed, mismatched = judge(session, step, outcome, result)
    if stepper is not None and stepper.active:
        anticipated = bool(step.expectations) and not mismatched and outcome.code is not None
        condition = breaks(stepper.break_on, outcome.code, outcome.ok, mismatched, anticipated)
        if condition:
            got = f"{outcome.code} {outcome.text}".strip() if outcome.code is not None else outcome.message
            answer = stepper.after(step.line, step.label, condition, safe_text(got.split(chr(10), 1)[0]))
            if answer == QUIT:
                result.stopped = step.line
                return False
            state["skip_next"] = answer == SKIP
            return True
        if stepper.stepping:
            return True  # the next prompt lets the person decide
    return not ((failed or mismatched) and not keep_going)


def judge(session: Session, step: Step, outcome: Outcome, result: RunResult) -> tuple[bool, bool]:
    """Record a step's outcome: its expectations and whether it failed. Returns ``(failed, mismatched)``."""
    result.commands += 1
    expected_failure = False
    mismatched = False
    for expectation in step.expectations:
        got = expectation.check(outcome.code, outcome.text, session.state.features.raw)
        if got is not None:
            result.mismatches.append((step, expectation.text, got))
            mismatched = True
        elif outcome.code is not None and outcome.code >= 400:
            expected_failure = True
    failed = not outcome.ok and not expected_failure and not (step.expectations and outcome.code is not None)
    if failed:
        result.failures.append((step, outcome, stage_of(step, outcome)))
    return failed, mismatched


def _run_batches(session: Session, steps: list[Step], result: RunResult, keep_going: bool) -> list[Step] | None:
    """Run the leading plain commands (no directive, no password to ask) as one batch on the session thread.

    Saves a thread hand-off per command (~50 µs), which is most of the cost of
    a long script against a fast server. Returns the steps still to run one by
    one (from the first that needs more), or ``None`` when the run has ended.
    """
    while steps:
        batch: list[Step] = []
        for step in steps:
            if step.directive or session.needs(step.parsed).secret:
                break
            batch.append(step)
        if not batch:
            return steps
        stopped = []

        def proceed(index: int, outcome: Outcome) -> bool:
            failed, mismatched = judge(session, batch[index], outcome, result)
            if (failed or mismatched) and not keep_going:
                stopped.append(index)
                return False
            return True

        session.submit_batch([(step.text, step.body) for step in batch], proceed).result()
        if stopped:
            return None
        steps = steps[len(batch):]
    return steps


def summary_lines(result: RunResult, dialogue=None) -> list[str]:
    """The end-of-run summary: failures, mismatches (expected vs got), recipients, the verdict."""
    lines = []
    for step, outcome, stage in result.failures:
        reason = outcome.message or f"{outcome.code} {outcome.text}".strip()
        lines.append(f"FAILED line {step.line}: {safe_text(step.label)}  [{stage}] {safe_text(reason)}")
    for step, expected, got in result.mismatches:
        lines.append(f"MISMATCH line {step.line}: {safe_text(step.label)}  expected {expected}, got {safe_text(got)}")
    for step in result.skipped:
        lines.append(f"SKIPPED line {step.line}: {safe_text(step.label)}")
    if result.stopped is not None:
        lines.append(f"STOPPED by the user at line {result.stopped}")
    if result.interrupted:
        lines.append("INTERRUPTED by the user (Ctrl-C): the commands after the one running then were not sent")
    for line in result.differences:
        lines.append(f"DIFFERS from the --compare run: {safe_text(line)}")
    if dialogue is not None:
        from smtpdbg.core.export.summary import summary_lines as recipient_summary

        lines += [safe_text(line) for line in recipient_summary(dialogue)]
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
    step: bool = False,
    break_on: frozenset[str] = frozenset(),
    exports: list[tuple[str, str]] = (),
    compare: str | None = None,
    keys: TextIO | None = None,
) -> int:
    """Run the script at ``source`` (a path, or ``-`` for stdin) against ``target``.

    Args:
        step: ask before every command (Enter run, s skip, c continue, q quit).
        break_on: ask after a command that got a 4xx, a 5xx, or failed (``error``).
        exports: ``(format, path)`` pairs written after the run (see :mod:`smtpdbg.core.export`).
        compare: a JSONL export of an earlier run to compare this one with.
        keys: where step answers come from (default: stdin, or the terminal when the script is stdin).

    Returns:
        The exit status (see :data:`EXIT_CODES`).
    """
    baseline = None
    if compare:
        from smtpdbg.core.export.jsonl import read_jsonl

        try:
            with open(compare, encoding="utf-8") as handle:
                baseline = read_jsonl(handle.read())
        except (OSError, ValueError) as exc:
            print(f"smtpdbg run: --compare {compare}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
            return EXIT_USAGE
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
    stepper = _stepper(source, keys, step=step, break_on=break_on, interactive=interactive)
    if stepper is None and (step or break_on):
        print("smtpdbg run: --step and --break-on need a terminal or a stdin to read answers from "
              "(the script itself came from stdin)", file=sys.stderr)
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
        result = run_steps(session, steps, keep_going=keep_going, interactive=interactive, stepper=stepper)
    finally:
        session.shutdown()
    from smtpdbg.core.export import Recording, export

    recording = Recording.from_session(session)
    failed_exports = False
    for fmt, path in exports:
        try:
            export(fmt, recording, path)
        except (OSError, ValueError) as exc:
            print(f"smtpdbg run: cannot write the {fmt} export to {path}: {getattr(exc, 'strerror', None) or exc}",
                  file=sys.stderr)
            failed_exports = True
    if baseline is not None:
        from smtpdbg.core.diff import diff_records
        from smtpdbg.core.export.jsonl import records

        compared = diff_records(baseline, records(recording), names=("then", "now"))
        result.differences = compared.lines
        for line in compared.timing:
            out.write(f"=== timing differs from the --compare run: {safe_text(line)}\n")
    for line in summary_lines(result, recording.dialogue):
        out.write(f"=== {line}\n")
    out.flush()
    if failed_exports and result.exit_code == EXIT_OK:
        return EXIT_USAGE
    return result.exit_code


def _stepper(source: str, keys: TextIO | None, *, step: bool, break_on: frozenset[str], interactive: bool) -> Stepper | None:
    """A stepper reading answers from ``keys``, stdin, or the terminal; ``None`` when nobody can answer."""
    if keys is None:
        if source != "-":
            keys = sys.stdin
        elif step or break_on:
            try:
                keys = open("/dev/tty", encoding="utf-8", errors="replace")  # noqa: SIM115 - lives for the run
            except OSError:
                return None
    if keys is None or not (step or break_on or interactive):
        return None
    return Stepper(keys, sys.stderr, step=step, break_on=break_on)
