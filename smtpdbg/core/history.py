"""Command history shared by the TUI and the REPL, persisted across runs.

Passwords never reach the command line, so they cannot reach the history;
as a second guard, a hand-typed AUTH payload (``raw AUTH PLAIN <base64>``,
``raw \\x41UTH PLAIN ...`` however it is escaped, ``docmd AUTH ...``,
``pipeline AUTH ...``, a lone base64 continuation, every ``raw``/``docmd``
line typed while a hand-typed AUTH exchange is open, an AUTH line split over
``raw --no-crlf`` pieces) and a password typed after ``auth``/``login`` are
stored masked. The file is created (or tightened) owner-only, 0600, in a
directory created 0700.
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
_SMTP_VERBS = frozenset({"HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP",
                         "QUIT", "STARTTLS", "ETRN", "ATRN", "XCLIENT", "XFORWARD", "BURL", "TURN"})
"""Verbs that end a hand-typed AUTH exchange rather than answer it (a 334 is never answered by one)."""


def default_path() -> Path:
    """``$SMTPDBG_HISTORY``, else ``$XDG_STATE_HOME/smtpdbg/history``, else ``~/.local/state/smtpdbg/history``."""
    explicit = os.environ.get("SMTPDBG_HISTORY")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "smtpdbg" / "history"


def _default_location() -> Path:
    """Where the history lives when nothing says otherwise: its directory is smtpdbg's own (tightened to 0700)."""
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
    if match is not None and _hidden_auth_payload(_sent_lines(line)):
        return f"{match.group(1)} {MASK}"  # AUTH written with escapes (\x41UTH): mask all it sends
    return line


def _sent_lines(line: str, partial: bytes = b"") -> list[bytes] | None:
    """The protocol lines a ``raw``/``docmd``/``pipeline`` line sends (escapes decoded), or None."""
    from smtpdbg.core.parser import ParseError, parse, unescape

    try:
        parsed = parse(line)
        if parsed.name == "raw":
            data = partial + unescape(parsed.arg("data") or "")
        elif parsed.name == "docmd":
            data = f"{parsed.arg('verb')} {parsed.arg('args') or ''}".encode("utf-8", "replace")
        elif parsed.name == "pipeline":
            data = (parsed.arg("commands") or "").replace(";", "\n").encode("utf-8", "replace")
        else:
            return None
    except (ParseError, ValueError, TypeError):
        return None
    return [piece.strip(b" \t") for piece in re.split(rb"[\r\n]", data)]


def _hidden_auth_payload(lines: list[bytes] | None) -> bool:
    """An ``AUTH MECH payload`` line among ``lines``."""
    return any(len(piece.split(None, 2)) == 3 and piece[:5].upper() == b"AUTH " for piece in lines or ())


def _starts_auth(lines: list[bytes] | None) -> bool:
    return any(piece[:5].upper() == b"AUTH " or piece.upper() == b"AUTH" for piece in lines or ())


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


def _local(line: str) -> bool:
    """Whether ``line`` is a command that sends nothing (``show``, ``explain``, a comment): the registry says so."""
    from smtpdbg.core.parser import ParseError, parse

    if not line.strip() or line.lstrip().startswith("#"):
        return True
    try:
        return not parse(line).spec.network
    except ParseError:
        return True  # refused before anything is sent


class ExchangeScrubber:
    """:func:`scrub`, plus what only the order of the lines tells: the answers of a hand-typed AUTH.

    ``raw AUTH LOGIN`` opens an exchange; the ``raw``/``docmd`` lines after it
    that are no SMTP command answer its 334s (a base64 user name, a password
    too short for any length rule) and are masked whole, until a command ends
    it. Pieces sent with ``raw --no-crlf`` are judged as the line they make.
    History uses one; so can anything that shows a sequence of typed lines
    (a script's summary).
    """

    def __init__(self) -> None:
        self._auth_open = False
        """A hand-typed AUTH exchange was started and not ended: raw/docmd lines now answer its 334s."""
        self._partial = b""
        """What ``raw --no-crlf`` lines sent since the last line ending (an AUTH line typed in pieces)."""

    def __call__(self, line: str) -> str:
        """``line`` as it may be stored or shown (call it for each line, in the order they are run)."""
        from smtpdbg.core.parser import ParseError, parse

        if not _PROTOCOL_VERB.match(line):
            if not _local(line):  # a command that talks to the server ends a hand-typed AUTH exchange
                self._auth_open, self._partial = False, b""
            return scrub(line)

        partial = self._partial
        lines = _sent_lines(line, partial)
        try:
            parsed = parse(line)
            no_crlf = parsed.name == "raw" and bool(parsed.opt("no_crlf"))
        except ParseError:
            no_crlf = False
        if no_crlf and lines is not None:
            self._partial = b"\n".join(lines)[-1024:]  # the lines already start with what came before
        else:
            self._partial = b""
        words = [piece.split() for piece in lines or () if piece.strip()]
        answers = self._auth_open and bool(words) and all(w[0].upper() not in _SMTP_VERBS and w != [b"*"] for w in words)
        if _starts_auth(lines):
            self._auth_open = True
            if partial and (lines is None or _hidden_auth_payload(lines)):
                return mask_payload(line)  # the rest of an AUTH line begun with raw --no-crlf
        elif not answers and not no_crlf:
            self._auth_open = False
        if answers:
            return mask_payload(line)
        return scrub(line)


class History:
    """An ordered list of past command lines, oldest first, saved as it grows."""

    def __init__(self, path: Path | str | None = None, *, persist: bool = True) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.persist = persist
        self.entries: list[str] = []
        self._scrub = ExchangeScrubber()
        self.secrets = None
        """The session's :class:`~smtpdbg.core.known_secrets.SecretBook`, when a frontend gives it: its secrets
        (a password from ``--password-env`` typed again on a line, or its base64) are stored masked."""
        if persist:
            self.load()

    def load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        self.entries = [line for line in text.split("\n") if line.strip()][-MAX_ENTRIES:]

    def append(self, line: str) -> str:
        """Add a line (scrubbed, not repeating the previous one); returns what was stored."""
        line = self._scrub(line.strip())
        if self.secrets:
            line = self.secrets.mask_text(line)
        if not line or (self.entries and self.entries[-1] == line):
            return line
        self.entries.append(line)
        if len(self.entries) > MAX_ENTRIES:
            del self.entries[: len(self.entries) - MAX_ENTRIES]
        if self.persist:
            self._write_line(line)
        return line

    def _write_line(self, line: str) -> None:
        from smtpdbg.core.files import make_private_dir, open_private

        try:
            make_private_dir(self.path.parent, tighten=self.path == _default_location())
            fd = open_private(self.path)
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
