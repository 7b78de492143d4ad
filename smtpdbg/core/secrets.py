"""AUTH on the wire: decoding what it means and keeping the secrets out.

Secrets are removed when a line is recorded, before it reaches the
transcript, so no frontend, export or screenshot can ever show them. What the
line *meant* (mechanism, user name, which challenge it answered) is kept as a
note beside it. Masking is driven by the wire, not by the command that sent
the line, so ``raw``, ``docmd`` and ``auth`` are treated alike. The secrets
sent are remembered for the connection, and scrubbed from whatever the server
says back (a server that quotes the AUTH line in its 535).

Before any of that, :func:`smtpdbg.core.consent.guard_plaintext_auth` decides
whether a secret may be sent at all: never in cleartext without the user's consent.
"""

from __future__ import annotations

import base64
import binascii
import re


MASK = b"********"
_MIN_SECRET = 4
"""Shorter decoded secrets are not scrubbed from replies (they would hit ordinary words); base64 forms always are."""
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

    __slots__ = ("mechanism", "step", "user", "last_challenge", "active", "initial_sent", "known")

    def __init__(self) -> None:
        self.mechanism = ""
        self.step = 0
        self.user: str | None = None
        self.last_challenge = b""
        self.active = False
        self.initial_sent = False
        """AUTH went with an initial response and no 334 has come since: the server owes a reply,
        so a plain SMTP command pipelined behind it (RFC 4954 §4) is no AUTH response."""
        self.known: list[bytes] = []
        """Secrets sent on this connection and their encodings, longest first (see :meth:`scrub`)."""

    def scrub(self, data: bytes) -> bytes:
        """``data`` (something the server said) with every secret sent so far replaced by ``********``."""
        for secret in self.known:
            if secret in data:
                data = data.replace(secret, MASK)
        return data

    def scrub_reply(self, line: bytes) -> bytes:
        """:meth:`scrub` for a reply line, also inside a base64 challenge (``334 <base64>`` quoting a secret)."""
        if not self.known:
            return line
        line = self.scrub(line)
        body = line[4:] if line[:3].isdigit() else line
        stripped = body.strip()
        decoded = b64decode(stripped) if len(stripped) >= 4 else None
        if decoded:
            clean = self.scrub(decoded)
            if clean != decoded:
                line = line.replace(stripped, base64.b64encode(clean))
        return line

    def scrub_text(self, text: str) -> str:
        """:meth:`scrub` for text (a reply as smtplib decoded it)."""
        if not self.known:
            return text
        return self.scrub(text.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")

    def _learn(self, payload: bytes, secret: bytes | None = None) -> None:
        """Remember what was sent as a secret: the payload as on the wire, the secret in clear and in base64."""
        forms = [payload]
        if secret:
            forms.append(base64.b64encode(secret))
            if len(secret) >= _MIN_SECRET:
                forms.append(secret)
        for form in forms:
            if form and form not in self.known and form not in (b"=", b"*"):
                self.known.append(form)
        self.known.sort(key=len, reverse=True)

    def on_reply(self, code: int, text: bytes) -> str:
        """Update from a server reply; return a note for a ``334`` line, else ``""``."""
        if not self.active:
            return ""
        if code == 334:
            self.initial_sent = False
            self.last_challenge = self.scrub(b64decode(text) or b"")
            return describe_challenge(self.mechanism, self.scrub_reply(text))
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

    def _login_user_asked(self) -> bool:
        """A LOGIN datum is the user name: the first one, sent with AUTH (as smtplib does) or after a prompt that
        says so (``Username:``); after an empty or unknown prompt it is not shown, it may be the password."""
        return self.user is None and (self.initial_sent or b"user" in self.last_challenge.lower())

    def _response_note(self, payload: bytes) -> str:
        """Describe a client AUTH response without its secret (and remember the secret)."""
        mech = self.mechanism
        if payload == b"=":
            return "empty initial response"
        decoded = b64decode(payload)
        if decoded is None:
            self._learn(payload)
            return "response (not valid base64)"
        if mech == "LOGIN":
            if not self._login_user_asked():
                self._learn(payload, decoded)  # the password, or a datum no prompt named (the user name is no secret)
        elif mech == "PLAIN":
            self._learn(payload, decoded.split(b"\x00")[-1])
            self._learn(decoded)
        elif mech == "CRAM-MD5":
            self._learn(payload, decoded.rpartition(b" ")[2])
        elif mech in ("XOAUTH2", "OAUTHBEARER"):
            token = re.search(rb"auth=Bearer ([^\x01]+)", decoded)
            self._learn(payload, token.group(1) if token else None)
        else:
            self._learn(payload, decoded)
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
            if self._login_user_asked():
                self.user = decoded.decode("utf-8", "replace")
                return f"LOGIN user name {self.user!r}"
            if self.user is None and b"pass" not in self.last_challenge.lower():
                self.user = ""  # the first datum, but no prompt said which: it may be the password
                return "LOGIN response <hidden: the server's prompt did not say user name or password>"
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


def scrubbing_replies(handler):
    """A command handler with the connection's secrets scrubbed from the replies it returns or raises.

    The wire lines are scrubbed as they are recorded (``TraceMixin._record``);
    this does the same for the reply texts that become outcomes, errors and
    run summaries.
    """
    import dataclasses
    import smtplib

    def known(ctx) -> AuthMasker | None:
        masker = getattr(ctx.session.smtp, "masker", None)
        return masker if masker is not None and masker.known else None

    def run(ctx, parsed):
        try:
            reply = handler(ctx, parsed)
        except smtplib.SMTPResponseException as exc:
            masker = known(ctx)
            if masker is not None and isinstance(exc.smtp_error, bytes):
                exc.smtp_error = masker.scrub_reply(exc.smtp_error)
                exc.args = (exc.smtp_code, exc.smtp_error, *exc.args[2:])
            raise
        masker = known(ctx)
        if masker is None or reply is None:
            return reply
        return dataclasses.replace(reply, text=masker.scrub_text(reply.text),
                                   replies=tuple((code, masker.scrub_text(text)) for code, text in reply.replies))

    run.__wrapped__ = handler
    return run


# -- AUTH in bytes about to be sent -------------------------------------------------------------------
def sends_auth(data: bytes) -> bool:
    """Whether bytes about to be sent hold an AUTH command: on any line, after a CR or LF, after blanks."""
    for piece in re.split(rb"[\r\n]", data):
        piece = piece.lstrip()  # any ASCII blank: a lax server may skip a vertical tab as well as a space
        if piece[:4].upper() == b"AUTH" and (len(piece) == 4 or piece[4:5].isspace()):
            return True
    return False


def answers_auth(smtp, data: bytes) -> bool:
    """Whether ``data`` would go out as a response inside an open AUTH exchange (after a 334).

    ``*`` (cancel) and an empty line carry no secret; neither does a command
    pipelined behind AUTH's initial response.
    """
    masker = smtp.masker
    if not masker.active:
        return False
    lines = [piece.strip(b" \t") for piece in re.split(rb"[\r\n]", data)]
    lines = [line for line in lines if line]
    if not lines or all(line in (b"*", b"=") for line in lines):
        return False
    return not (masker.initial_sent and all(_PIPELINED_COMMAND.match(line) for line in lines))
