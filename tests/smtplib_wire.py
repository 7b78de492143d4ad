"""What the running interpreter's smtplib puts on the wire, for tests that check exact bytes.

smtplib's spelling changes between versions (3.13 sends ``mail from:``/``rcpt to:``,
3.11 ``mail FROM:``/``rcpt TO:``), so expected lines are computed, not typed in.
"""

from __future__ import annotations

import smtplib


class _Recorder(smtplib.SMTP):
    """An unconnected smtplib object that keeps what it would send and answers every command 250."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.does_esmtp = True  # as after EHLO: parameters are sent

    def send(self, s) -> None:
        self.sent.append(s.encode(self.command_encoding) if isinstance(s, str) else s)

    def getreply(self):
        return 250, b"OK"


def smtplib_line(method: str, *args) -> bytes:
    """The line ``smtplib.SMTP().<method>(*args)`` sends, e.g. ``smtplib_line("rcpt", "bob@example.org")``."""
    recorder = _Recorder()
    getattr(recorder, method)(*args)
    [line] = recorder.sent
    return line


def shown(method: str, *args) -> str:
    """The same line as a transcript shows it (without its CRLF)."""
    return smtplib_line(method, *args).decode().rstrip("\r\n")
