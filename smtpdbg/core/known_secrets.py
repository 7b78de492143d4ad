"""The secrets a session was given, masked in everything it records.

A session knows its secrets: the password read from ``--password-env NAME``
(the session's, or a ``login``/``auth`` command's), a token from
``--token-env``, a password typed at a masked prompt. The AUTH masker
(:mod:`smtpdbg.core.secrets`) hides what goes inside an AUTH exchange; a
:class:`SecretBook` catches the same secret anywhere else (a bare ``docmd``
with its base64, the password typed as a command's argument, a server echoing
it back). The transcript applies it to every event it records
(:meth:`smtpdbg.core.transcript.Transcript.add`), so the log, every frontend,
the exports and the summaries all get the masked form; nothing has to scrub
it again.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Iterable

MASK = b"********"
MIN_SECRET = 4
"""A shorter secret is not masked where it appears as itself (it would hit ordinary words); its encodings are."""
_BASE64_WORD = re.compile(rb"[A-Za-z0-9+/]{8,}={0,2}")
"""A word that may be base64 carrying a secret (decoded to check)."""


def password_forms(password: str, users: Iterable[str] = ()) -> list[str]:
    """A password (or token) and the base64 forms AUTH would carry it in (LOGIN, PLAIN, XOAUTH2)."""
    forms = [password, base64.b64encode(password.encode("utf-8", "surrogateescape")).decode()]
    for user in users:
        for authz in ("", user):
            forms.append(base64.b64encode(f"{authz}\0{user}\0{password}".encode("utf-8", "surrogateescape")).decode())
        xoauth2 = f"user={user}\x01auth=Bearer {password}\x01\x01"
        forms.append(base64.b64encode(xoauth2.encode("utf-8", "surrogateescape")).decode())
    return forms


class SecretBook:
    """The session's secrets and the user names they go with; masks them and their encodings in recorded data."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._users: set[str] = set()
        self._forms: tuple[bytes, ...] = ()
        """Every form to replace, longest first."""
        self._pattern: re.Pattern[bytes] | None = None
        """The forms as one pattern, case-insensitive (a server may echo ``WONDERLAND``)."""
        self._decoded: tuple[bytes, ...] = ()
        """The secrets themselves (long enough), looked for inside base64 words."""

    def __bool__(self) -> bool:
        return bool(self._forms)

    def learn(self, secret: str | None, user: str | None = None) -> None:
        """Remember a secret (and the user it authenticates, for the PLAIN/XOAUTH2 forms)."""
        with self._lock:
            changed = False
            if secret and secret not in self._secrets:
                self._secrets.add(secret)
                changed = True
            if user and user not in self._users:
                self._users.add(user)
                changed = bool(self._secrets)
            if changed:
                self._rebuild()

    def learn_sent(self, forms: Iterable[bytes]) -> None:
        """What the AUTH masker learnt went out as a secret (a payload typed by hand, the password inside it)."""
        with self._lock:
            new = {form.decode("utf-8", "surrogateescape") for form in forms} - self._secrets
            if new:
                self._secrets |= new
                self._rebuild()

    def learn_command(self, parsed, secret: str | None, environ, password_env: str | None) -> None:
        """What a command about to run brings: its prompted password, its ``--password-env``/``--token-env``
        variable (or the session's), and the user it names."""
        user = parsed.arg("user") if parsed.spec.secret else None
        names = [parsed.opt("password_env"), parsed.opt("token_env"), password_env]
        for value in [secret] + [environ.get(name) for name in names if name]:
            self.learn(value, user)
        if user:
            self.learn(None, user)

    def _rebuild(self) -> None:
        forms: set[bytes] = set()
        for secret in self._secrets:
            raw = secret.encode("utf-8", "surrogateescape")
            for form in password_forms(secret, sorted(self._users)) + [raw.hex()]:  # the hex a log may print
                if len(form) >= MIN_SECRET:
                    forms.add(form.encode("utf-8", "surrogateescape"))
        ordered = tuple(sorted(forms, key=len, reverse=True))
        self._pattern = re.compile(b"|".join(map(re.escape, ordered)), re.IGNORECASE) if forms else None
        self._forms = ordered
        self._decoded = tuple(s.encode("utf-8", "surrogateescape") for s in self._secrets if len(s) >= MIN_SECRET)

    def mask(self, data: bytes) -> bytes:
        """``data`` with every known secret (in any case), its base64 and hex forms, and any base64 word that
        decodes to text holding a secret replaced by ``********``."""
        pattern, decoded = self._pattern, self._decoded
        if pattern is None:
            return data
        data = pattern.sub(MASK, data)
        if decoded and _BASE64_WORD.search(data):
            data = _BASE64_WORD.sub(lambda m: MASK if _holds(m.group(0), decoded) else m.group(0), data)
        return data

    def mask_text(self, text: str) -> str:
        """:meth:`mask` for text."""
        if not self._forms or not text:
            return text
        data = text.encode("utf-8", "surrogateescape")
        masked = self.mask(data)
        return text if masked == data else masked.decode("utf-8", "surrogateescape")

    def mask_outcome(self, outcome):
        """An :class:`~smtpdbg.core.outcome.Outcome` with its message, text and replies masked."""
        if not self._forms:
            return outcome
        from dataclasses import replace

        mask = self.mask_text
        return replace(outcome, message=mask(outcome.message), text=mask(outcome.text),
                       replies=tuple((code, mask(text)) for code, text in outcome.replies))

    def mask_fields(self, fields: dict) -> dict:
        """An event's fields with every text, bytes and tuple of bytes masked (others as they are)."""
        if not self._forms:
            return fields
        out = dict(fields)
        for name, value in fields.items():
            if type(value) is str:
                out[name] = self.mask_text(value)
            elif type(value) is bytes:
                out[name] = self.mask(value)
            elif type(value) is tuple and value and all(type(item) is bytes for item in value):
                out[name] = tuple(self.mask(item) for item in value)
        return out


def _holds(word: bytes, secrets: tuple[bytes, ...]) -> bool:
    """Whether ``word`` is base64 whose decoded bytes hold one of ``secrets``."""
    padded = word + b"=" * (-len(word) % 4) if not word.endswith(b"=") else word
    try:
        decoded = base64.b64decode(padded, validate=True)
    except ValueError:
        return False
    return any(secret in decoded for secret in secrets)
