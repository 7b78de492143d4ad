"""``smtpdbg run``: execute a script and print the transcript in swaks-style notation.

The non-interactive frontend, a thin loop around the core's interpreter
(:mod:`smtpdbg.core.interp`): it opens the script, checks the whole of it
before connecting when it can read it twice (a regular file: a bad line then
sends nothing), prints the transcript as it happens, and ends with the
summary, the exports and an exit status that names the stage that failed
(see :data:`EXIT_CODES`). It never prompts when stdin is not a terminal and
never imports Textual or prompt-toolkit.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from typing import BinaryIO, TextIO

from smtpdbg.core.console import GuardedOutput, use_color
from smtpdbg.core.describe import Annotator
from smtpdbg.core.interp import Interpreter
from smtpdbg.core.results import (  # noqa: F401 - the exit statuses are this command's public names
    EXIT_CODES, EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTPUT_CLOSED, EXIT_USAGE, RunResult, stage_of,
)
from smtpdbg.core.render import TextRenderer, failure_line, safe_text
from smtpdbg.core.retention import ScriptTranscript
from smtpdbg.core.script import ScriptError, check_script, read_lines
from smtpdbg.core.session import Session, SessionOptions
from smtpdbg.core.target import Target
from smtpdbg.stepper import Stepper


def ledger_of(session: Session):
    """What the summary reads of a session: its transactions, from the ledger the transcript keeps (a long
    script's events may be on disk), or from the whole recording for another transcript."""
    from types import SimpleNamespace

    kept = getattr(session.transcript, "transactions", None)
    if kept is None:
        from smtpdbg.core.export import Recording

        return Recording.from_session(session).dialogue
    return SimpleNamespace(transactions=[kept[number] for number in sorted(kept)])


def summary_lines(result: RunResult, dialogue=None) -> list[str]:
    """The end-of-run summary: failures, mismatches (expected vs got), recipients, the verdict."""
    lines = []
    for where, outcome, stage in result.failures:
        lines.append(failure_line(where.line, where.label, stage, outcome))
    if result.failure_count > len(result.failures):
        lines.append(f"FAILED: {result.failure_count - len(result.failures):,} more command(s) not listed")
    for where, expected, got in result.mismatches:
        lines.append(f"MISMATCH line {where.line}: {safe_text(where.label)}  expected {expected}, got {safe_text(got)}")
    if result.mismatch_count > len(result.mismatches):
        lines.append(f"MISMATCH: {result.mismatch_count - len(result.mismatches):,} more expectation(s) not listed")
    for where in result.skipped:
        lines.append(f"SKIPPED line {where.line}: {safe_text(where.label)}")
    if result.skip_count > len(result.skipped):
        lines.append(f"SKIPPED: {result.skip_count - len(result.skipped):,} more line(s) not listed")
    if result.script_errors:
        lines.append(f"SCRIPT ERRORS: {result.script_errors:,} line(s) did not parse (shown above; nothing was sent for them)")
    if result.stopped is not None:
        lines.append(f"STOPPED by the user at line {result.stopped}")
    if result.interrupted:
        lines.append("INTERRUPTED by the user (Ctrl-C): the commands after the one running then were not sent")
    for line in result.differences:
        lines.append(f"DIFFERS from the --compare run: {safe_text(line)}")
    for line in result.output_errors:
        lines.append(f"OUTPUT FAILED: {safe_text(line)}")
    if dialogue is not None:
        from smtpdbg.core.export.summary import summary_lines as recipient_summary

        lines += [safe_text(line) for line in recipient_summary(dialogue)]
    status = "ok" if result.exit_code == 0 else f"exit {result.exit_code}"
    lines.append(f"{result.commands} command(s), {result.failure_count} failed, "
                 f"{result.mismatch_count} expectation(s) not met: {status}")
    return lines


def open_script(source: str) -> tuple[BinaryIO, bool]:
    """The script's byte stream (``-``: stdin) and whether it is a regular file (it can be read twice).

    Raises:
        OSError: it cannot be opened.
    """
    stream = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115 - closed by the caller
    try:
        regular = stat.S_ISREG(os.fstat(stream.fileno()).st_mode) and stream.seekable()
    except (OSError, ValueError, AttributeError):
        regular = False
    return stream, regular


STDOUT = "-"
"""``--output -``: the export goes to standard output (and the transcript to standard error)."""


def finish(session: Session, result: RunResult, output: GuardedOutput, *, exports=(), baseline=None,
           prog: str = "smtpdbg run", stdout: TextIO | None = None) -> int:
    """After the run: the exports, the comparison, the summary. Returns the exit status.

    Args:
        stdout: where an export to ``-`` is written (default: standard output).
    """
    from smtpdbg.core.export import Recording, export, render

    # The summary reads the ledger; the whole recording is read back only for what needs it (exports, --compare).
    recording = Recording.from_session(session) if exports or baseline is not None else None
    for fmt, path in exports:
        try:
            if path == STDOUT:
                stream = stdout or sys.stdout
                stream.write(render(fmt, recording))
                stream.flush()
            else:
                export(fmt, recording, path)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            print(f"{prog}: cannot write the {fmt} export to {path}: {reason}", file=sys.stderr)
            result.output_errors.append(f"the {fmt} export to {path}: {reason}")
    if baseline is not None:
        from smtpdbg.core.diff import diff_records
        from smtpdbg.core.export.jsonl import records

        compared = diff_records(baseline, records(recording), names=("then", "now"))
        result.differences = compared.lines
        for line in compared.timing:
            output.write(f"=== timing differs from the --compare run: {safe_text(line)}\n")
    secrets = getattr(session.transcript, "secrets", None)
    for line in summary_lines(result, recording.dialogue if recording is not None else ledger_of(session)):
        output.write(f"=== {secrets.mask_text(line) if secrets else line}\n")
    output.flush()
    if output.error and not output.closed:  # a closed pipe ends quietly; a full disk does not
        print(f"{prog}: cannot write the transcript to standard output: {output.error}", file=sys.stderr)
    return result.exit_code


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
    drop: bool = False,
    break_on: frozenset[str] = frozenset(),
    exports: list[tuple[str, str]] = (),
    compare: str | None = None,
    keys: TextIO | None = None,
) -> int:
    """Run the script at ``source`` (a path, or ``-`` for stdin) against ``target``.

    Args:
        step: ask before every command (Enter run, s skip, c continue, q quit).
        drop: when the run stops, close the connection without QUIT (by default QUIT is sent while it is usable).
        break_on: ask after a command that got a 4xx, a 5xx, or failed (``error``).
        exports: ``(format, path)`` pairs written after the run (see :mod:`smtpdbg.core.export`).
        compare: a JSONL export of an earlier run to compare this one with.
        keys: where step answers come from (default: stdin, or the terminal when the script is stdin).

    Returns:
        The exit status (see :data:`EXIT_CODES`).
    """
    if sum(path == STDOUT for _, path in exports) > 1:
        print("smtpdbg run: only one --export can go to standard output (--output -)", file=sys.stderr)
        return EXIT_USAGE
    stdout = None
    if any(path == STDOUT for _, path in exports):  # stdout carries the export alone: the transcript moves aside
        stdout, out = out, sys.stderr
    baseline = None
    if compare:
        from smtpdbg.core.diff import load

        try:
            baseline = load(compare)
        except (OSError, ValueError) as exc:
            print(f"smtpdbg run: --compare {compare}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        stream, whole = open_script(source)
    except OSError as exc:
        print(f"smtpdbg run: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run(stream, whole, source, target, options, out=out, color=color, timestamps=timestamps,
                    keep_going=keep_going, step=step, drop=drop, break_on=break_on, exports=exports, baseline=baseline,
                    keys=keys, stdout=stdout)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _run(stream: BinaryIO, whole: bool, source: str, target: Target, options: SessionOptions, *, out: TextIO,
         color: str, timestamps: str, keep_going: bool, step: bool, drop: bool, break_on: frozenset[str], exports,
         baseline, keys: TextIO | None, stdout: TextIO | None = None) -> int:
    interactive = source != "-" and sys.stdin.isatty()
    if whole:  # check every line before anything is sent
        try:
            start = stream.tell()
            check_script(read_lines(stream), os.environ)
            stream.seek(start)
        except ScriptError as exc:
            print(f"smtpdbg run: {source}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except OSError as exc:
            print(f"smtpdbg run: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    stepper = _stepper(source, keys, step=step, break_on=break_on, interactive=interactive)
    if stepper is None and (step or break_on):
        print("smtpdbg run: --step and --break-on need a terminal or a stdin to read answers from "
              "(the script itself came from stdin)", file=sys.stderr)
        return EXIT_USAGE
    output = GuardedOutput(out)
    renderer = TextRenderer(color=use_color(color, out), timestamps=timestamps)

    annotator = Annotator(failures_only=True)  # what a failed reply means where it came, and what to do next

    def show(event) -> None:
        # set_debuglevel 2 stamps every line with the time, as smtplib's own debug output does at level 2
        renderer.timestamps = timestamps or ("absolute" if session.debuglevel >= 2 else "")
        lines = renderer.render(event) + ["   ↳ " + safe_text(line) for line in annotator.lines(event)]
        if lines:
            output.write("\n".join(lines) + "\n")
            output.flush()

    def ask(label: str) -> str | None:
        try:
            return getpass.getpass(f"password for {safe_text(label)!r}: ")
        except EOFError:
            return None

    session = Session(target, options, transcript=ScriptTranscript())
    session.subscribe(show)
    interpreter = Interpreter(session, environ=os.environ, keep_going=keep_going, stepper=stepper,
                              ask_secret=ask if interactive else None, batch=whole, output=output,
                              quit_at_end=not drop)
    try:
        result = interpreter.run(read_lines(stream))
    finally:
        session.shutdown()
    return finish(session, result, output, exports=exports, baseline=baseline, stdout=stdout)


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
