"""The protocol rules a client line can break, checked as the line goes on the wire.

The tracker calls :func:`check` for every command line the session sends,
whichever way it was typed (``mail``, ``docmd``, ``raw``, ``pipeline``, the
EHLO smtplib sends by itself), so a rule is checked once, against what the
server will actually see. The line is still sent: a debugger must let you
break the rules on purpose. Each finding names the rule's RFC section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtpdbg.core.stages import AUTH_RESPONSE, END_OF_DATA, GREETING
from smtpdbg.core.verdict import ReplyClass, code_text

if TYPE_CHECKING:
    from smtpdbg.core.protocol import ProtocolTracker

Finding = tuple[str, str]
"""``(rule, text)``: the RFC section and what the line does wrong."""

_PARAMETERS = {
    # parameter keyword -> (EHLO keyword that allows it, its RFC)
    "SIZE": ("SIZE", "RFC 1870"),
    "BODY": ("8BITMIME", "RFC 6152"),
    "SMTPUTF8": ("SMTPUTF8", "RFC 6531 §3.4"),
    "RET": ("DSN", "RFC 3461 §4"),
    "ENVID": ("DSN", "RFC 3461 §4"),
    "NOTIFY": ("DSN", "RFC 3461 §4"),
    "ORCPT": ("DSN", "RFC 3461 §4"),
    "AUTH": ("AUTH", "RFC 4954 §5"),
    "REQUIRETLS": ("REQUIRETLS", "RFC 8689 §4"),
    "MT-PRIORITY": ("MT-PRIORITY", "RFC 6710 §3"),
    "PRDR": ("PRDR", "draft-hall-prdr §3"),
    "HOLDFOR": ("FUTURERELEASE", "RFC 4865 §3"),
    "HOLDUNTIL": ("FUTURERELEASE", "RFC 4865 §3"),
    "BY": ("DELIVERBY", "RFC 2852 §4"),
}


def _parameter_findings(tracker: ProtocolTracker, verb: str, argument: str) -> list[Finding]:
    if not tracker.identified:
        return []
    found: list[Finding] = []
    for param in params_of(argument):
        keyword, _, value = param.partition("=")
        allowed = _PARAMETERS.get(keyword)
        if allowed is None:
            continue
        extension, rfc = allowed
        if keyword == "BODY" and value == "BINARYMIME":
            extension, rfc = "BINARYMIME", "RFC 3030 §3"
        if extension not in tracker.features:
            why = "the server answered HELO, not EHLO" if not tracker.esmtp else f"{extension} was not advertised"
            found.append((rfc, f"{verb} parameter {keyword} needs the {extension} extension, but {why}"))
    return found


def _anticipated(tracker: ProtocolTracker) -> tuple[bool, bool]:
    """(in a transaction, a recipient accepted) once the commands still unanswered succeed, in the order they
    were sent: a pipelined group (RFC 2920) goes out before its replies, and its RSET or final dot ends the
    transaction its MAIL and RCPT built."""
    in_transaction = tracker.mail_from is not None
    accepted = any(r.accepted_at_rcpt for r in tracker.recipients)
    for pending in tracker.pending:
        if pending.verb in ("RSET", END_OF_DATA):
            in_transaction = accepted = False
        elif pending.verb == "MAIL":
            in_transaction, accepted = True, False
        elif pending.verb == "RCPT":
            accepted = True
    return in_transaction, accepted


def check(tracker: ProtocolTracker, verb: str, argument: str) -> list[Finding]:
    """The rules a command line breaks in the tracker's current state (``[]`` when none)."""
    from smtpdbg.core.stages import Stage

    stage = tracker.stage
    if not tracker.connected or stage in (Stage.DISCONNECTED, Stage.CONNECTED):
        return []
    found: list[Finding] = []
    identified = tracker.identified
    in_transaction, accepted = _anticipated(tracker)
    if tracker.closing and verb != "QUIT":
        found.append(("RFC 5321 §3.8", f"{verb} after the server said it is closing the connection"))
    if verb == "MAIL":
        if not identified:
            found.append(("RFC 5321 §4.1.4", "MAIL before EHLO/HELO: the client must identify itself first"))
        elif in_transaction:
            found.append(("RFC 5321 §4.1.1.2", "MAIL inside a transaction: RSET (or the end of the message) comes first"))
        found += _parameter_findings(tracker, verb, argument)
    elif verb == "RCPT":
        if not in_transaction:
            found.append(("RFC 5321 §3.3", "RCPT before an accepted MAIL FROM: expect 503"))
        found += _parameter_findings(tracker, verb, argument)
    elif verb == "DATA":
        if tracker.bdat_used:
            found.append(("RFC 3030 §2", "DATA after BDAT in the same transaction: the message must end with BDAT LAST"))
        elif not in_transaction:
            found.append(("RFC 5321 §3.3", "DATA outside a transaction: MAIL and RCPT come first; expect 503"))
        elif not accepted:
            found.append(("RFC 5321 §3.3", "DATA without an accepted recipient: expect 503 or 554"))
        if tracker.binarymime:
            found.append(("RFC 3030 §3", "DATA for a BODY=BINARYMIME message: it must be sent with BDAT"))
    elif verb == "BDAT":
        if identified and "CHUNKING" not in tracker.features:
            found.append(("RFC 3030 §2", "BDAT without CHUNKING advertised"))
        if not in_transaction:
            found.append(("RFC 3030 §2", "BDAT outside a transaction: MAIL and RCPT come first"))
    elif verb == "AUTH":
        if tracker.authenticated:
            found.append(("RFC 4954 §4", "AUTH after a successful AUTH: a second one is not allowed; expect 503"))
        elif in_transaction:
            found.append(("RFC 4954 §4", "AUTH inside a transaction is not allowed; expect 503"))
        elif not identified:
            found.append(("RFC 4954 §4", "AUTH before EHLO: the server has not said what it supports yet"))
        elif not tracker.esmtp:
            found.append(("RFC 4954 §3", "AUTH after HELO: AUTH is an ESMTP extension and needs EHLO"))
        elif "AUTH" not in tracker.features:
            found.append(("RFC 4954 §3", "AUTH was not advertised by this server (in this state)"))
    elif verb == "STARTTLS":
        if tracker.tls:
            found.append(("RFC 3207 §4.2", "STARTTLS on a connection that is already TLS; expect 503"))
        elif in_transaction:
            found.append(("RFC 3207 §4", "STARTTLS inside a transaction: it comes before MAIL"))
        elif identified and "STARTTLS" not in tracker.features:
            found.append(("RFC 3207 §4", "STARTTLS was not advertised by this server"))
    if not identified and verb in ("RCPT", "DATA", "STARTTLS", "BDAT") and not found:
        if stage is Stage.TLS:
            found.append(("RFC 3207 §4.2", f"{verb} right after STARTTLS: the session starts over; EHLO again first"))
        else:
            found.append(("RFC 5321 §4.1.4", f"{verb} before EHLO: the server has not said what it supports yet"))
    return found


# -- replies: what a reply means for the command it answers ----------------------------------------
def violation_of(verb: str, code: int, reply_class: ReplyClass, *, prdr_pending: bool = False) -> str:
    """Why a reply breaks the protocol as an answer to ``verb`` (RFC 5321 §4.2, §4.3.2), or ``""``."""
    if reply_class is ReplyClass.VIOLATION:
        shown = "no code" if code < 0 else code_text(code)
        return f"{shown} is not a valid reply code (RFC 5321 §4.2: three digits, 2xx to 5xx)"
    if verb == GREETING:
        if reply_class in (ReplyClass.POSITIVE, ReplyClass.INTERMEDIATE) and code != 220:
            return f"a greeting must be 220 (or 554/421), not {code} (RFC 5321 §4.3.2)"
        return ""
    if verb == "DATA":
        if reply_class is ReplyClass.POSITIVE:
            return f"DATA answered {code}: RFC 5321 §4.3.2 allows 354 or an error; the message was not sent"
        return ""
    if verb in ("EHLO", "HELO", "LHLO") and code == 220:
        return f"a second greeting (220) answered {verb} (RFC 5321 §4.3.2 expects 250)"
    if reply_class is not ReplyClass.INTERMEDIATE:
        if verb == "STARTTLS" and reply_class is ReplyClass.POSITIVE and code != 220:
            return f"STARTTLS answered {code}: RFC 3207 §4 expects 220 before the TLS handshake"
        return ""
    if verb in ("AUTH", AUTH_RESPONSE) and code == 334:
        return ""
    if verb == END_OF_DATA and code == 353 and prdr_pending:
        return ""
    return f"{code} asks for more input, which {verb} never does (RFC 5321 §4.3.2)"


def path_of(argument: str, keyword: str) -> str:
    """The address in ``FROM:<a@b> SIZE=1`` / ``TO:<c@d>`` (tolerating odd spacing)."""
    if argument.upper().startswith(keyword):
        argument = argument[len(keyword):].lstrip()
    if argument.startswith("<"):
        end = argument.find(">")
        return argument[1:end] if end >= 0 else argument[1:]
    return argument.split(" ", 1)[0]


def params_of(argument: str) -> list[str]:
    """ESMTP parameters after the path (upper-cased keywords)."""
    rest = argument.split(">", 1)[1] if ">" in argument else argument.split(" ", 1)[1] if " " in argument else ""
    return [p.upper() for p in rest.split()]


def keywords_of(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.split("\n")[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            found[keyword.upper()] = params.strip()
    return found


def masked_keyword(keyword: str) -> bool:
    """A keyword of X's with a letter or two left (``XXXXXXXA``, ``XXXA``): a middlebox's masking."""
    return len(keyword) >= 4 and keyword.count("X") >= len(keyword) - 2 and keyword != "XCLIENT"
