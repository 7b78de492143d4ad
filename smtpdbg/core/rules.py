"""The protocol rules a client line can break, checked as the line goes on the wire.

The tracker calls :func:`check` for every command line the session sends,
whichever way it was typed (``mail``, ``docmd``, ``raw``, ``pipeline``, the
EHLO smtplib sends by itself), so a rule is checked once, against what the
server will actually see. The line is still sent: a debugger must let you
break the rules on purpose. Each finding names the rule's RFC section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    from smtpdbg.core.protocol import _params

    if not tracker.identified:
        return []
    found: list[Finding] = []
    for param in _params(argument):
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


def check(tracker: ProtocolTracker, verb: str, argument: str) -> list[Finding]:
    """The rules a command line breaks in the tracker's current state (``[]`` when none)."""
    from smtpdbg.core.protocol import Stage

    stage = tracker.stage
    if not tracker.connected or stage in (Stage.DISCONNECTED, Stage.CONNECTED):
        return []
    found: list[Finding] = []
    identified = tracker.identified
    in_transaction = tracker.mail_from is not None
    accepted = any(r.accepted_at_rcpt for r in tracker.recipients)
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
