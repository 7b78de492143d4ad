"""The protocol stages a session walks through, and the commands that fit each.

The stage itself is decided by the protocol tracker (:mod:`smtpdbg.core.protocol`)
from the server's replies; this module names the stages and says which
commands are natural next (RFC 5321 §4.1.4), for completion and the inspector.
"""

from __future__ import annotations

from enum import Enum

GREETING = "<greeting>"
BODY_FOLLOWED = "(the body followed at once, before the 354)"
"""Argument of a DATA sent together with its body in one write: its 354 does not open DATA."""
END_OF_DATA = "<end of data>"
AUTH_RESPONSE = "<auth response>"
"""Markers for what a reply answers when it is not a command line: the greeting, the end of the message,
an answer to a 334 (see :class:`smtpdbg.core.events.Reply` ``command``)."""


class Stage(str, Enum):
    """The protocol stage, in the order a session normally walks through them."""

    DISCONNECTED = "disconnected"
    CONNECTED = "connected"
    """TCP is up, the greeting has not arrived."""
    GREETED = "greeted"
    """The server sent its 220 banner; HELO/EHLO is next."""
    TLS = "tls"
    """STARTTLS succeeded; the client must EHLO again (RFC 3207 §4.2)."""
    IDENTIFIED = "identified"
    AUTHENTICATED = "authenticated"
    MAIL = "mail"
    """MAIL FROM accepted; RCPT TO is next."""
    RCPT = "rcpt"
    """At least one recipient accepted; more RCPT or DATA."""
    DATA = "data"
    """354 received: whatever is sent now is message text, until the final dot."""


_ALWAYS = ("noop", "rset", "quit", "help", "verify", "vrfy", "expn", "docmd", "raw", "drain", "close")
_NEXT: dict[Stage, tuple[str, ...]] = {
    Stage.DISCONNECTED: ("connect", "reconnect"),
    Stage.CONNECTED: ("drain", "close", "reconnect"),
    Stage.GREETED: ("ehlo", "helo", "ehlo_or_helo_if_needed", "quit"),
    Stage.TLS: ("ehlo", "helo", "ehlo_or_helo_if_needed"),
    Stage.IDENTIFIED: ("starttls", "login", "auth", "mail", "sendmail", "send_message", "verify", "expn", "noop", "rset", "quit"),
    Stage.AUTHENTICATED: ("mail", "sendmail", "send_message", "noop", "rset", "quit"),
    Stage.MAIL: ("rcpt", "rset", "noop"),
    Stage.RCPT: ("rcpt", "data", "rset", "noop"),
    Stage.DATA: ("data",),
}


def valid_next(stage: Stage, tls: bool = False, authenticated: bool = False) -> tuple[str, ...]:
    """Commands that fit the protocol stage, most natural first (RFC 5321 §4.1.4)."""
    commands = list(_NEXT[stage])
    if stage is Stage.IDENTIFIED:
        if tls:
            commands.remove("starttls")
        if authenticated:
            for verb in ("login", "auth"):
                commands.remove(verb)
    if stage not in (Stage.DISCONNECTED, Stage.CONNECTED, Stage.DATA):
        commands += [c for c in _ALWAYS if c not in commands]
    return tuple(commands)
