"""Redaction for exports: the last guard between a secret and a shared file.

The core masks AUTH payloads on the wire before they are recorded, and
passwords are never typed on a command line, so a transcript normally holds
no secret at all. One path remains: an AUTH payload typed *by hand* (``raw
AUTH PLAIN <base64>``, ``docmd AUTH ...``, a ``raw`` continuation after a
334) is masked on the wire but still present in the command text, and the
command text is echoed in command events and in some error messages. The
:class:`Redactor` finds those payloads (commands whose wire lines were
masked) and removes them from every string an exporter writes; callers may
add secrets they know (a password read from ``--password-env``).
"""

from __future__ import annotations

import re
from typing import Iterable

from smtpdbg.core.export.dialogue import Dialogue, Span
from smtpdbg.core.parser import ParseError, parse

MASK = "********"
_MIN_SECRET = 4
"""Shorter strings are not masked globally (they would hit ordinary text); no real payload is that short."""
_BASE64 = re.compile(r"[A-Za-z0-9+/=]{12,}")
_VERBS = {"HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT",
          "STARTTLS", "AUTH", "ETRN", "ATRN", "XCLIENT", "XFORWARD", "BURL", "TURN"}


def _payload_lines(span: Span) -> list[str]:
    """The protocol lines a ``raw``/``docmd``/``pipeline`` command typed, as text."""
    try:
        parsed = parse(span.text)
    except ParseError:
        return [span.text]
    if parsed.name == "raw":
        data = parsed.arg("data") or ""
        return data.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\r", "\n").split("\n")
    if parsed.name == "docmd":
        return [f"{parsed.arg('verb')} {parsed.arg('args') or ''}".strip()]
    if parsed.name == "pipeline":
        return [c.strip() for c in (parsed.arg("commands") or "").split(";")]
    return []


def secrets_in(span: Span) -> list[str]:
    """The secret tokens a command's text holds.

    An ``AUTH MECH payload`` line typed by hand is always one (even if it never
    reached the wire); a continuation line is one when the wire line was masked,
    or when it looks like base64 (the history's rule, for commands never sent).
    """
    found = []
    for line in _payload_lines(span):
        words = line.split()
        if not words:
            continue
        if words[0].upper() == "AUTH":
            found += words[2:]
        elif words[0].upper() not in _VERBS and words != ["*"]:
            if span.redacted or (len(words) == 1 and _BASE64.fullmatch(words[0])):
                found += words
    return [w for w in found if len(w) >= _MIN_SECRET and w != "="]


def auth_users(events: Iterable) -> set[str]:
    """Every user name a ``login``/``auth`` command named, whether or not it succeeded."""
    from smtpdbg.core.events import CommandStart

    users: set[str] = set()
    for event in events:
        if isinstance(event, CommandStart) and event.text[:5].lower() in ("login", "auth "):
            try:
                user = parse(event.text).arg("user")
            except ParseError:
                continue
            if user:
                users.add(user)
    return users


def auth_secret_variables(events: Iterable) -> set[str]:
    """The ``--password-env``/``--token-env`` NAMEs ``login``/``auth`` commands read their secret from."""
    from smtpdbg.core.events import CommandStart

    names: set[str] = set()
    for event in events:
        if isinstance(event, CommandStart) and event.text[:5].lower() in ("login", "auth "):
            try:
                parsed = parse(event.text)
            except ParseError:
                continue
            names.update(n for n in (parsed.opt("password_env"), parsed.opt("token_env")) if n)
    return names


class Redactor:
    """Replaces known secrets in every string (and bytes) an exporter writes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        self.secrets = sorted(unique, key=len, reverse=True)
        self._bytes = [s.encode("utf-8", "surrogateescape") for s in self.secrets]

    @classmethod
    def for_dialogue(cls, dialogue: Dialogue, extra: Iterable[str] = ()) -> Redactor:
        secrets = list(extra)
        for span in dialogue.commands:
            for secret in secrets_in(span):
                secrets += [secret, repr(secret)[1:-1]]
        return cls(secrets)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def data(self, value: bytes) -> bytes:
        for secret in self._bytes:
            if secret in value:
                value = value.replace(secret, MASK.encode())
        return value

    def __bool__(self) -> bool:
        return bool(self.secrets)
