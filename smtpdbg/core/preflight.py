"""What happens before a network command runs: the connection brought in step with the server.

Replies that arrived since the last command are read first (so the command
pairs with its own), replies still owed to an earlier command are waited for
a little (smtplib would take the first of them for this command's), a server
that said 421 is not written to again (RFC 5321 §3.8), and a command typed
inside message text is flagged (RFC 5321 §4.1.1.4: after 354 it is part of
the message).
"""

from __future__ import annotations

import smtplib

from smtpdbg.core.events import Info, InfoKind

OWED_WAIT = 1.0
"""Seconds a command waits for replies still owed to an earlier one before it is sent."""
_BY_HAND = ("raw", "pipeline")
"""Commands that may be pipelining by hand on purpose: they do not wait for owed replies."""


def before_command(smtp, name: str, transcript) -> None:
    """Bring the connection in step before command ``name`` is sent (on the session thread)."""
    try:
        catch_up(smtp, owed=name not in _BY_HAND)
    except (smtplib.SMTPServerDisconnected, OSError):
        if name not in ("connect", "reconnect"):
            raise
        return  # the old connection ended while its last replies were read: a new one does not care
    close_if_closing(smtp)
    if smtp.sock is not None and smtp.tracker.in_data and name not in ("data", "raw", "close"):
        transcript.add(Info, kind=InfoKind.WARNING, rule="RFC 5321 §4.1.1.4",
                       text=f"inside message text (after 354): what {name} sends becomes part of the message, "
                            "not a command; end the message with `data` or `raw .` (or leave it unsent with `close`)")


def catch_up(smtp, *, owed: bool) -> None:
    """Read replies that arrived since the last command, so the next one pairs with its own.

    Args:
        owed: also wait (a little) for replies still owed to an earlier command (``raw`` read fewer than it
            sent): smtplib would take the first of them for this command's own.
    """
    if smtp.sock is None:
        return
    if owed and smtp.tracker.pending:
        smtp.drain(OWED_WAIT)
    elif smtp.has_unread():
        smtp.drain(0)


def close_if_closing(smtp) -> bool:
    """The server said 421 (RFC 5321 §3.8): close our side, so nothing more is sent. Returns whether it closed."""
    if smtp.sock is None or not smtp.tracker.closing:
        return False
    smtp.close_reason = smtp.tracker.closing_reason
    try:
        smtp.close()
    except OSError:
        pass
    return True
