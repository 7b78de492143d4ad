"""AUTH on the wire: decoding what it means and keeping the secrets out.

Secrets are removed when a line is recorded, before it reaches the
transcript, so no frontend, export or screenshot can ever show them. What the
line *meant* (mechanism, user name, which challenge it answered) is kept as a
note beside it. Masking is driven by the wire, not by the command that sent
the line, so ``raw``, ``docmd`` and ``auth`` are treated alike.
"""

from __future__ import annotations

import base64
import binascii
import re

MASK = b"********"
_PIPELINED_COMMAND = re.compile(rb"(?i)(MAIL FROM:|RCPT TO:|BDAT \d|(DATA|RSET|NOOP|QUIT)$)")
"""Commands that may follow AUTH with an initial response in a pipelined group (RFC 4954 §4). ':' and ' '
are not base64; the bare verbs would decode to binary junk, never a real response."""


def b64decode(value: bytes) -> bytes | None:
    """Strict base64 decoding; ``None`` when the value is not valid base64."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def printable(data: bytes, limit: int = 80) -> str:
    """A short, terminal-safe rendering of decoded bytes."""
    text = data.decode("utf-8", "replace")
    out = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256 else "?" for ch in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def describe_challenge(mechanism: str, payload: bytes) -> str:
    """The decoded meaning of a ``334`` challenge text."""
    if not payload.strip():
        return "empty challenge: send the initial response"
    decoded = b64decode(payload)
    if decoded is None:
        return "challenge is not valid base64"
    if mechanism == "CRAM-MD5":
        return f"CRAM-MD5 challenge {printable(decoded)}"
    if mechanism in ("XOAUTH2", "OAUTHBEARER"):
        return f"error details: {printable(decoded, 200)}"
    return f"server asks {printable(decoded)!r}" if decoded else "empty challenge"


class AuthMasker:
    """Tracks an AUTH exchange on the wire and redacts the client's lines.

    Call :meth:`on_send` for every client line and :meth:`on_reply` for every
    server reply; :meth:`on_send` returns the line to record and a note.
    """

    __slots__ = ("mechanism", "step", "user", "last_challenge", "active", "initial_sent")

    def __init__(self) -> None:
        self.mechanism = ""
        self.step = 0
        self.user: str | None = None
        self.last_challenge = b""
        self.active = False
        self.initial_sent = False
        """AUTH went with an initial response and no 334 has come since: the server owes a reply,
        so a plain SMTP command pipelined behind it (RFC 4954 §4) is no AUTH response."""

    def on_reply(self, code: int, text: bytes) -> str:
        """Update from a server reply; return a note for a ``334`` line, else ``""``."""
        if not self.active:
            return ""
        if code == 334:
            self.initial_sent = False
            self.last_challenge = b64decode(text) or b""
            return describe_challenge(self.mechanism, text)
        self.active = False
        return ""

    def end(self) -> None:
        """The client gave up the exchange (after cancelling it with ``*``): later lines are commands."""
        self.active = self.initial_sent = False

    def on_send(self, line: bytes) -> tuple[bytes, bool, str]:
        """Return ``(recorded_line, redacted, note)`` for a client line."""
        stripped = line.rstrip(b"\r\n")
        ending = line[len(stripped) :]
        if b"\r" in stripped:
            # A bare CR inside a line: a lax server ends the line there (RFC 5321 §2.3.8),
            # so each piece is judged as a line of its own.
            pieces = [self.on_send(piece) for piece in stripped.split(b"\r")]
            return (b"\r".join(p[0] for p in pieces) + ending, any(p[1] for p in pieces),
                    "; ".join(p[2] for p in pieces if p[2]))
        words = stripped.split(None, 2)
        if words and words[0].upper() == b"AUTH" and len(words) >= 2:
            self.mechanism = words[1].decode("ascii", "replace").upper()
            self.step = 0
            self.user = None
            self.last_challenge = b""
            self.active = True
            self.initial_sent = len(words) == 3
            if len(words) == 3:
                note = self._response_note(words[2])
                prefix = stripped[: stripped.rfind(words[2])]
                return prefix + MASK + ending, True, note
            return line, False, f"start {self.mechanism} authentication"
        if self.active and self.initial_sent and _PIPELINED_COMMAND.match(stripped):
            self.active = self.initial_sent = False  # the exchange is over on our side: not a response
            return line, False, ""
        if self.active:
            self.step += 1
            note = self._response_note(stripped)
            if stripped == b"*":
                return line, False, "cancel authentication"
            return MASK + ending, True, note
        return line, False, ""

    def _response_note(self, payload: bytes) -> str:
        """Describe a client AUTH response without its secret."""
        mech = self.mechanism
        if payload == b"=":
            return "empty initial response"
        decoded = b64decode(payload)
        if decoded is None:
            return "response (not valid base64)"
        if mech == "PLAIN":
            parts = decoded.split(b"\x00")
            if len(parts) == 3:
                self.user = parts[1].decode("utf-8", "replace")
                authz = parts[0].decode("utf-8", "replace")
                return f"PLAIN authzid={authz!r} user={self.user!r} password=<hidden>"
            return "PLAIN response (malformed: expected authzid\\0user\\0password)"
        if mech == "LOGIN":
            # The user name is the first LOGIN datum (smtplib counts, it does not read the
            # prompt); a prompt is only trusted to say "password", never to expose one.
            asked = self.last_challenge.lower()
            if self.user is None and b"pass" not in asked:
                self.user = decoded.decode("utf-8", "replace")
                return f"LOGIN user name {self.user!r}"
            return "LOGIN password <hidden>"
        if mech == "CRAM-MD5":
            user, _, digest = decoded.rpartition(b" ")
            self.user = user.decode("utf-8", "replace")
            return f"CRAM-MD5 user={self.user!r} digest=<hidden, {len(digest)} hex digits>"
        if mech in ("XOAUTH2", "OAUTHBEARER"):
            for field in decoded.replace(b"\x01", b",").split(b","):
                if field.startswith((b"user=", b"a=")):
                    self.user = field.split(b"=", 1)[1].decode("utf-8", "replace")
            return f"{mech} user={self.user!r} token=<hidden>"
        return f"{mech} response <hidden, {len(decoded)} bytes>"
