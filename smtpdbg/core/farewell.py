"""How a session's connection ends when the user is done (a run's last line, leaving the REPL).

The client ends an SMTP session with QUIT (RFC 5321 §4.1.1.10), but not
everywhere: after a 354 every line is message text (RFC 5321 §4.1.1.4), so a
QUIT there would become a line of the message and wait for a reply that never
comes, and ending the message (the final dot) would deliver something nobody
asked to send. Inside message text the connection is closed instead, and the
transcript says so; the ledger then records the open transaction as not sent.
"""

from __future__ import annotations

from smtpdbg.core.events import Info, InfoKind
from smtpdbg.core.stages import Stage

QUIT, CLOSE = "quit", "close"

INSIDE_MESSAGE = ("ending inside message text (after 354): QUIT would become a line of the message and ending the "
                  "message would send it, so the connection is closed without QUIT; the message is not sent")


def farewell(session, *, announce: str = "") -> str | None:
    """The command that ends ``session``'s connection now (``None``: not connected), noted in its transcript.

    Args:
        announce: said before a QUIT (e.g. how to end the run without one).
    """
    state = session.state
    if not state.connected:
        return None
    if state.stage is Stage.DATA:
        session.transcript.add(Info, kind=InfoKind.WARNING, text=INSIDE_MESSAGE)
        return CLOSE
    if announce:
        session.transcript.add(Info, kind=InfoKind.INFO, text=announce)
    return QUIT
