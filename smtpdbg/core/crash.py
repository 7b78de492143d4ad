"""Crash reports: an unexpected error becomes one line on the terminal and a private file.

The command line's top-level guard (:func:`smtpdbg.cli.main`) hands any
exception it did not expect to :func:`write_report`, which writes the
traceback, the versions and the command line to a new owner-only (0600) file
in ``$XDG_STATE_HOME/smtpdbg/crashes`` (``~/.local/state/...``; the temporary
directory when that cannot be used) and returns its path for a one-line
message. Nothing secret goes in: not the environment (and every value of it
that shows up in the text is replaced by ``${NAME}``), not what was typed at a
password prompt (it never reaches an exception), and AUTH payloads are masked.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:  # the guard wraps every command, `--version` included: heavy imports wait for a crash
    from pathlib import Path

MIN_SCRUBBED = 6
"""Environment values at least this long are replaced by their ``${NAME}`` wherever they appear."""


def report_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where reports go, in order of preference."""
    import tempfile
    from pathlib import Path

    environ = os.environ if environ is None else environ
    state = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return [Path(state) / "smtpdbg" / "crashes", Path(tempfile.gettempdir())]


def scrub_text(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with environment values and AUTH payloads masked."""
    from smtpdbg.core.history import scrub

    environ = os.environ if environ is None else environ
    values = sorted(((value, name) for name, value in environ.items() if len(value) >= MIN_SCRUBBED),
                    key=lambda pair: -len(pair[0]))
    for value, name in values:
        if value in text:
            text = text.replace(value, "${" + name + "}")
    return "\n".join(scrub(line) for line in text.split("\n"))


def report_text(exc: BaseException, argv: list[str], environ: Mapping[str, str] | None = None) -> str:
    import platform
    import time
    import traceback

    from smtpdbg import __version__

    lines = [
        f"smtpdbg {__version__} crash report, {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"python {platform.python_version()} ({sys.executable}) on {platform.platform()}",
        "command: smtpdbg " + " ".join(argv),
        "",
        *traceback.format_exception(type(exc), exc, exc.__traceback__),
    ]
    return scrub_text("\n".join(line.rstrip("\n") for line in lines) + "\n", environ)


def write_report(exc: BaseException, argv: list[str], environ: Mapping[str, str] | None = None) -> str | None:
    """Write a report of ``exc``; returns its path (``None`` when no directory would take it)."""
    import tempfile
    import time

    try:
        text = report_text(exc, argv, environ)
    except Exception:  # noqa: BLE001 - a report about the report's failure would help nobody
        text = f"smtpdbg crash report\n{type(exc).__name__}\n"
    for directory in report_dirs(environ):
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, path = tempfile.mkstemp(prefix=time.strftime("smtpdbg-crash-%Y%m%d-%H%M%S-"), suffix=".txt",
                                        dir=directory)  # created 0600
        except OSError:
            continue
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
                handle.write(text)
        except OSError:
            continue
        return path
    return None


# -- the process's last line of defence ---------------------------------------------------------
EXIT_INTERRUPTED = 130
"""As :data:`smtpdbg.core.results.EXIT_INTERRUPTED` (not imported: every command, ``--version`` too, runs here)."""

_interrupts = 0
_exiting = False


def _on_sigint(signum, frame) -> None:
    """The first Ctrl-C interrupts (the run ends with its summary); any later one quits at once, quietly."""
    global _interrupts
    _interrupts += 1
    if _interrupts == 1 and not _exiting:
        raise KeyboardInterrupt
    try:
        os.write(2, b"\nsmtpdbg: interrupted again: quitting now\n")
    finally:
        os._exit(EXIT_INTERRUPTED)


def interrupt_once() -> None:
    """From now on a second Ctrl-C quits at once (status 130) instead of interrupting whatever cleans up."""
    import signal

    signal.signal(signal.SIGINT, _on_sigint)


def _stdout_to_null() -> None:
    """Point stdout at /dev/null so what Python still holds buffered is dropped without an error at exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def guarded(main, argv: list[str], *, process: bool) -> int:
    """Run ``main(argv)``: no traceback reaches the terminal, whatever happens.

    Ctrl-C: one line, status 130. A closed stdout (``| head``): quietly, 141.
    Anything unexpected: one line naming a crash report (:func:`write_report`), 70.

    Args:
        process: this is the whole process (the console script), not a caller in Python: signals and the
            exit are handled too (after ``main`` returns, Ctrl-C is ignored: it would only interrupt the
            interpreter's own shutdown with a traceback or a death by signal).
    """
    global _exiting
    try:
        return main(argv)
    except KeyboardInterrupt:
        _exiting = True
        print("smtpdbg: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        from smtpdbg.core.results import EXIT_OUTPUT_CLOSED

        if process:
            _stdout_to_null()
        return EXIT_OUTPUT_CLOSED
    except Exception as exc:  # noqa: BLE001 - the point of this guard
        path = write_report(exc, argv)
        where = f"a report is in {path}" if path else "no report could be written"
        summary = scrub_text(f"{type(exc).__name__}: {exc}".split("\n", 1)[0][:200])
        print(f"smtpdbg: internal error ({summary}); {where} (please attach it to a bug report)", file=sys.stderr)
        from smtpdbg.core.results import EXIT_INTERNAL

        return EXIT_INTERNAL
    finally:
        if process:  # everything is cleaned up: a Ctrl-C now would only kill Python's own shutdown midway
            import signal

            _exiting = True
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # (ignored signals are not reset when Python finalizes)
