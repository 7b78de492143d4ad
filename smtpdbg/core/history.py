"""Command history shared by the TUI and the REPL, persisted across runs.

Passwords never reach the command line, so they cannot reach the history;
as a second guard, a hand-typed AUTH payload (``raw AUTH PLAIN <base64>``,
``docmd AUTH ...``, ``pipeline AUTH ...``, a lone base64 continuation) and
a password typed after ``auth``/``login`` are stored masked. The file is created
with owner-only permissions.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MAX_ENTRIES = 2000
MASK = "********"
_OPTIONS = r"(?:\s+--[\w-]+(?:=\S+|\s+\d+(?:\.\d+)?)?)*"
_PROTOCOL_COMMAND = re.compile(r"^(\s*(?:raw|docmd|pipeline)" + _OPTIONS + r")\s+(\S.*)$", re.IGNORECASE | re.DOTALL)
_BLANK = r"(?:\s|\\t|\\x09|\\x20)"
# The word AUTH after a blank, a ';' (pipeline) or an escaped CR/LF (raw), then a mechanism name.
_AUTH_LINE = re.compile(r"((?:^|\s|;|\\r|\\n|\\x0[aAdD])" + _BLANK + r"*AUTH" + _BLANK + r"+[A-Za-z0-9_-]+)(.*)$",
                        re.IGNORECASE | re.DOTALL)
_PROTOCOL_VERB = re.compile(r"^\s*(?:raw|docmd|pipeline)\s", re.IGNORECASE)
_CONTINUATION = re.compile(r"[A-Za-z0-9+/=]{12,}")


def default_path() -> Path:
    """``$SMTPDBG_HISTORY``, else ``$XDG_STATE_HOME/smtpdbg/history``, else ``~/.local/state/smtpdbg/history``."""
    explicit = os.environ.get("SMTPDBG_HISTORY")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "smtpdbg" / "history"


def scrub(line: str) -> str:
    """The line as it may be stored or shown: AUTH payloads and passwords typed by hand are masked.

    Masked: what follows ``AUTH MECHANISM`` anywhere in a ``raw``/``docmd``/``pipeline``
    line (also after an escaped ``\\r\\n`` or a ``;``), a lone base64 word sent with
    ``raw``/``docmd`` (an AUTH continuation), and words after the user name of
    ``auth``/``login`` (a password typed where none belongs).
    """
    if not _PROTOCOL_VERB.match(line):
        return _mask_surplus_words(line)
    verb = _PROTOCOL_VERB.match(line).end()
    auth = _AUTH_LINE.search(line, verb - 1)
    if auth is not None and auth.group(2).strip():
        return f"{line[: auth.end(1)]} {MASK}"
    match = _PROTOCOL_COMMAND.match(line)
    if match is not None and _CONTINUATION.fullmatch(match.group(2).strip()):
        return f"{match.group(1)} {MASK}"
    return line


def mask_payload(line: str) -> str:
    """A ``raw``/``docmd``/``pipeline`` line with everything it sends masked (an AUTH response)."""
    match = _PROTOCOL_COMMAND.match(line)
    return f"{match.group(1)} {MASK}" if match is not None else line


def _mask_surplus_words(line: str) -> str:
    """``auth PLAIN alice hunter2`` -> ``auth PLAIN alice ********``: nothing after USER is shown."""
    from smtpdbg.core.commands import lookup
    from smtpdbg.core.parser import tokenize

    tokens = tokenize(line)
    spec = lookup(tokens[0].text) if tokens else None
    if spec is None or not spec.secret:
        return line
    surplus = []
    positional = 0
    value_follows = False
    for token in tokens[1:]:
        if value_follows:
            value_follows = False
            continue
        if token.text.startswith("--") and len(token.text) > 2:
            option = spec.option(token.text.partition("=")[0])
            value_follows = option is not None and not option.flag and "=" not in token.text
            continue
        positional += 1
        if positional > len(spec.args):
            surplus.append(token)
    for token in reversed(surplus):
        line = line[: token.start] + MASK + line[token.end :]
    return line


class History:
    """An ordered list of past command lines, oldest first, saved as it grows."""

    def __init__(self, path: Path | str | None = None, *, persist: bool = True) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.persist = persist
        self.entries: list[str] = []
        if persist:
            self.load()

    def load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        self.entries = [line for line in text.splitlines() if line.strip()][-MAX_ENTRIES:]

    def append(self, line: str) -> str:
        """Add a line (scrubbed, not repeating the previous one); returns what was stored."""
        line = scrub(line.strip())
        if not line or (self.entries and self.entries[-1] == line):
            return line
        self.entries.append(line)
        if len(self.entries) > MAX_ENTRIES:
            del self.entries[: len(self.entries) - MAX_ENTRIES]
        if self.persist:
            self._write_line(line)
        return line

    def _write_line(self, line: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError:
            self.persist = False  # a read-only home must not break the session

    def search(self, text: str) -> list[str]:
        """Entries containing ``text``, newest first, without repeats."""
        seen: set[str] = set()
        found = []
        for entry in reversed(self.entries):
            if text.lower() in entry.lower() and entry not in seen:
                seen.add(entry)
                found.append(entry)
        return found
