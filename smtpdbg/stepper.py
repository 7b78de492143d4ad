"""Stepping through a script: ``--step``, ``--break-on`` and ``pause``.

The stepper asks before a command (``--step``, ``pause``) or after one that
went wrong (``--break-on 4xx|5xx|error``) and reads one answer: Enter runs
the next command, ``s`` skips it, ``c`` continues without stepping, ``q``
quits. On a terminal a single key answers (no Enter needed); from a pipe a
line does, and the end of input quits (nothing runs that nobody approved).
Prompts go to stderr so the transcript on stdout stays clean.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from smtpdbg.core.interp import BREAK_CONDITIONS, CONTINUE, QUIT, RUN, SKIP, breaks  # noqa: F401 - public here too

_KEYS = {"": RUN, "\n": RUN, "\r": RUN, " ": RUN, "s": SKIP, "c": CONTINUE, "q": QUIT}
_HELP = "[Enter] run  [s] skip  [c] continue  [q] quit"


def parse_break_on(values: list[str] | None) -> frozenset[str]:
    """``["4xx,5xx", "error"]`` -> ``{"4xx", "5xx", "error"}``.

    Raises:
        ValueError: an unknown condition.
    """
    found = set()
    for value in values or ():
        for item in value.split(","):
            item = item.strip().lower()
            if item not in BREAK_CONDITIONS:
                raise ValueError(f"--break-on takes {', '.join(BREAK_CONDITIONS)} (comma-separated), not {item!r}")
            found.add(item)
    return frozenset(found)


class Stepper:
    """Reads step answers from ``keys`` and writes prompts to ``prompts`` (the core's
    :class:`smtpdbg.core.interp.Stepper` for a person at a terminal or a pipe of answers)."""

    def __init__(self, keys: TextIO | None, prompts: TextIO = sys.stderr, *, step: bool = False,
                 break_on: frozenset[str] = frozenset()) -> None:
        self.keys = keys
        self.prompts = prompts
        self.stepping = step
        self.break_on = break_on
        self.quit = False

    @property
    def active(self) -> bool:
        return self.stepping or bool(self.break_on)

    def ask(self, question: str) -> str:
        """Show ``question`` and return RUN, SKIP, CONTINUE or QUIT."""
        while True:
            self.prompts.write(f"--- {question}  {_HELP} ")
            self.prompts.flush()
            key = self._read()
            if key is None:
                self.prompts.write("\n--- end of input: quitting\n")
                self.prompts.flush()
                return QUIT
            answer = _KEYS.get(key.strip().lower()[:1] if key.strip() else "")
            if answer is not None:
                self.prompts.write(f"{answer}\n")
                self.prompts.flush()
                return answer

    def _read(self) -> str | None:
        keys = self.keys
        if keys is None:
            return None
        if _is_tty(keys):
            return _read_key(keys)
        line = keys.readline()
        return line if line else None

    def before(self, line: int, text: str) -> str:
        """Before a command: RUN or SKIP (or QUIT). Only asks while stepping."""
        if not self.stepping:
            return RUN
        answer = self.ask(f"line {line}: {text}")
        if answer == CONTINUE:
            self.stepping = False
            return RUN
        return answer

    def pause(self, line: int, text: str) -> str:
        """A ``pause`` directive: always asks (when there is someone to ask)."""
        answer = self.ask(f"pause at line {line}" + (f": {text}" if text else ""))
        if answer == RUN:
            self.stepping = True
        elif answer == CONTINUE:
            self.stepping = False
        return QUIT if answer == QUIT else RUN

    def after(self, line: int, text: str, condition: str, got: str) -> str:
        """After a command that met a ``--break-on`` condition: CONTINUE or QUIT (Enter starts stepping)."""
        answer = self.ask(f"break ({condition}) after line {line}: {text} got {got}")
        if answer == RUN:
            self.stepping = True
        elif answer == SKIP:
            self.stepping = True
            return SKIP
        return QUIT if answer == QUIT else CONTINUE


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _read_key(stream: TextIO) -> str | None:
    """One key from a terminal, without waiting for Enter."""
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # TCSANOW: keep keys typed ahead
        data = os.read(fd, 1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    if not data or data in (b"\x04", b"\x03"):  # Ctrl-D, Ctrl-C
        return None
    return data.decode("utf-8", "replace")
