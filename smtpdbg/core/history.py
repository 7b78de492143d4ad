"""Command history shared by the TUI and the REPL, persisted across runs.

Passwords never reach the command line, so they cannot reach the history;
as a second guard, a hand-typed AUTH payload (``raw AUTH PLAIN <base64>``,
``docmd AUTH ...``) is stored with its payload masked. The file is created
with owner-only permissions.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MAX_ENTRIES = 2000
_OPTIONS = r"(?:\s+--[\w-]+(?:=\S+|\s+\d+(?:\.\d+)?)?)*"
_AUTH_PAYLOAD = re.compile(r"^(\s*(?:raw|docmd)" + _OPTIONS + r"\s+AUTH\s+\S+)\s+\S.*$", re.IGNORECASE)
_AUTH_CONTINUATION = re.compile(r"^(\s*raw" + _OPTIONS + r")\s+[A-Za-z0-9+/=]{12,}\s*$")


def default_path() -> Path:
    """``$SMTPDBG_HISTORY``, else ``$XDG_STATE_HOME/smtpdbg/history``, else ``~/.local/state/smtpdbg/history``."""
    explicit = os.environ.get("SMTPDBG_HISTORY")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "smtpdbg" / "history"


def scrub(line: str) -> str:
    """The line as it may be stored: AUTH payloads typed by hand are masked."""
    line = _AUTH_PAYLOAD.sub(r"\1 ********", line)
    return _AUTH_CONTINUATION.sub(r"\1 ********", line)


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
