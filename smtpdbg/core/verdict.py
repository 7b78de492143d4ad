"""What a reply means for the command it answers: its class and the exchange's verdict.

This is the one place that classifies a reply code. Every frontend, export,
summary and lesson reads the class and verdict the core put on its events;
none of them looks at the digits again.

RFC 5321 §4.2.1: the first digit says whether the command succeeded (2),
needs more input (3), failed for now (4) or failed for good (5). A reply that
is not exactly three digits from 200 to 599 (``099``, ``150``, ``600``,
``2500``, no code at all) is a protocol violation, whatever its first digit.
"""

from __future__ import annotations

import re
from enum import Enum

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")


def enhanced_code(text: str, code: int | None = None) -> str | None:
    """The RFC 3463 enhanced status code at the start of a reply text, if any.

    With ``code``, only one of the basic code's class (RFC 3463 §2: the class digit is the reply's first digit):
    a 550 is never shown with a 2.0.0 that came from another line of the reply.
    """
    match = _ENHANCED.match(text)
    if match is None or (code is not None and str(code)[:1] != match.group(1)):
        return None
    return match.group(0)


class ReplyClass(str, Enum):
    """The class of one reply code."""

    POSITIVE = "2xx"
    """Positive completion."""
    INTERMEDIATE = "3xx"
    """Positive intermediate: the server waits for more (354 to DATA, 334 to AUTH)."""
    TRANSIENT = "4xx"
    """Transient negative: the same command may succeed later."""
    PERMANENT = "5xx"
    """Permanent negative: do not repeat it unchanged."""
    VIOLATION = "violation"
    """Not a valid SMTP reply code at all."""


def first_line(text: str) -> str:
    """The first line of a reply's text: only LF separates its lines (``str.splitlines()`` would also cut at a
    U+0085 or U+2028 the server put in the text, and drop what follows)."""
    return text.split("\n", 1)[0]


def code_text(code: int | None) -> str:
    """A reply code as shown: ``???`` when the reply had none (smtplib's ``-1``) or nothing was read; three digits
    as the server sent them (a code is read from exactly three: ``099`` stays ``099``)."""
    return "???" if code is None or code < 0 else f"{code:03d}"


def classify_reply(code: int | None, codes: tuple[int, ...] = ()) -> ReplyClass:
    """The class of a reply code (``-1`` or ``None``: a line without a code).

    Args:
        codes: the code of every line of a multi-line reply: one whose code changes inside it is a violation.
    """
    if code is None or not 200 <= code <= 599 or code_change(codes):
        return ReplyClass.VIOLATION
    return (ReplyClass.POSITIVE, ReplyClass.INTERMEDIATE, ReplyClass.TRANSIENT, ReplyClass.PERMANENT)[code // 100 - 2]


def code_change(codes: tuple[int, ...]) -> str:
    """Why a multi-line reply whose lines carry different codes breaks the protocol ("" when they agree)."""
    valid = [c for c in codes if c >= 0]
    other = next((c for c in valid if c != valid[0]), None)
    if other is None:
        return ""
    return (f"reply code changed from {valid[0]} to {other} inside one multi-line reply "
            "(RFC 5321 §4.2.1: every line must carry the same code)")


class Verdict(str, Enum):
    """How an exchange (a command and what answered it) ended."""

    OK = "ok"
    """The reply the command hoped for (2xx, or the 3xx it needs to go on)."""
    TEMPORARY = "temporary"
    """Refused for now (4xx)."""
    PERMANENT = "permanent"
    """Refused for good (5xx)."""
    VIOLATION = "violation"
    """The server answered with something the protocol does not allow here."""
    NO_REPLY = "no reply"
    """Nothing answered: the connection was lost, the command timed out or was aborted."""
    NOT_SENT = "not sent"
    """The command never went on the wire (refused locally)."""

    @property
    def failed(self) -> bool:
        return self is not Verdict.OK


TEMPORARY_IN_CONTEXT = {
    ("RCPT", 552): "RFC 5321 §4.5.3.1.10: a 552 to RCPT is treated as temporary (452)",
}
"""(command, code) of 5xx replies the RFCs tell clients to treat as temporary, and why."""


def temporary_in_context(command: str, code: int) -> str:
    """Why a 5xx reply to ``command`` counts as temporary ("" when it does not)."""
    return TEMPORARY_IN_CONTEXT.get((command, code), "")


def verdict_for(code: int, reply_class: ReplyClass, violation: str, command: str = "") -> Verdict:
    """The verdict of a reply to ``command``, once the pairing has said whether it violates the protocol here."""
    if violation or reply_class is ReplyClass.VIOLATION:
        return Verdict.VIOLATION
    if reply_class is ReplyClass.TRANSIENT or temporary_in_context(command, code):
        return Verdict.TEMPORARY
    if reply_class is ReplyClass.PERMANENT:
        return Verdict.PERMANENT
    return Verdict.OK


class Fate(str, Enum):
    """What happened to the message for one recipient."""

    PENDING = "pending"
    """Accepted at RCPT; the message has not been sent (yet)."""
    ACCEPTED = "accepted"
    """The server took responsibility for the message for this recipient."""
    TEMPORARY = "temporary failure"
    """Deferred (4xx): the client should try again later."""
    PERMANENT = "permanent failure"
    """Refused (5xx): do not retry unchanged."""
    UNKNOWN = "unknown"
    """The whole message was sent but no verdict came back (or the server's answer was not SMTP):
    it may have been delivered, and a retry may deliver a duplicate."""
    NOT_SENT = "not sent"
    """The transaction ended before the message was sent for this recipient."""


def fate_of(reply_class: ReplyClass) -> Fate:
    """The fate a deciding reply gives a recipient."""
    return {
        ReplyClass.POSITIVE: Fate.ACCEPTED,
        ReplyClass.TRANSIENT: Fate.TEMPORARY,
        ReplyClass.PERMANENT: Fate.PERMANENT,
    }.get(reply_class, Fate.UNKNOWN)


UNKNOWN_WARNING = "the message may have been delivered: a retry may deliver a duplicate"
"""Said wherever an outcome is unknown."""

__all__ = ["Fate", "enhanced_code", "ReplyClass", "UNKNOWN_WARNING", "Verdict", "classify_reply", "code_change", "fate_of", "first_line",
           "temporary_in_context", "verdict_for"]
