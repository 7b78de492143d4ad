"""Exit statuses of ``smtpdbg send``: smtpdbg's own (as ``smtpdbg run``) and swaks's, side by side."""

from __future__ import annotations

EXIT_TABLE = (
    ("0", "0", "sent (smtpdbg: every recipient accepted; swaks: at least one) or stopped as --quit-after asked"),
    ("2", "1", "bad usage (an unknown flag, an unreadable file, a swaks option not supported)"),
    ("3", "2", "connecting failed (or the --pipe command could not start)"),
    ("4", "21", "the greeting was refused"),
    ("5", "22", "HELO/EHLO was refused"),
    ("6", "29", "STARTTLS or the TLS handshake failed"),
    ("7", "28", "authentication failed"),
    ("8", "23", "MAIL FROM was refused"),
    ("9", "24", "RCPT TO refused (swaks: 24 only when no recipient was accepted; with one accepted it goes on)"),
    ("10", "25", "DATA was refused"),
    ("10", "26", "the message was refused after the final dot (or some recipients refused it: LMTP)"),
    ("11", "6", "the connection was lost unexpectedly (another command failed)"),
    ("130", "130", "interrupted with Ctrl-C"),
)
"""(smtpdbg status, swaks status, meaning)."""

SWAKS_BY_STAGE = {"connect": 2, "banner": 21, "ehlo": 22, "tls": 29, "auth": 28, "mail": 23, "rcpt": 24}
LOST = ("connection lost", "not-connected", "connection-lost", "closed")


def swaks_status(stage: str, outcome, *, accepted: int, body_sent: bool, interrupted: bool = False) -> int:
    """swaks's exit status for a run whose first failure was ``outcome`` at ``stage`` (None: no failure)."""
    if interrupted:
        return 130
    if outcome is None:
        return 0
    if stage == "usage":
        return 1
    if outcome.code is None and stage not in ("connect", "tls") and any(
            word in (outcome.category or "") for word in LOST):
        return 6
    if stage == "rcpt":
        return 24 if not accepted else 0
    if stage == "data":
        return 26 if body_sent else 25
    return SWAKS_BY_STAGE.get(stage, 6)
