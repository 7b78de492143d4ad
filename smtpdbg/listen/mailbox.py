"""What ``listen`` received: the messages, with their envelope, in memory and optionally in a Maildir or mbox.

A stored copy starts with the envelope as headers: ``Return-Path: <sender>``
and one ``X-Original-To:`` per accepted recipient, as a delivery agent writes
them, followed by the message as received (dot-stuffing undone; the Maildir and mbox
files end lines with LF, as mail stores do).
"""

from __future__ import annotations

import mailbox
import os
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Delivered:
    number: int
    connection: int
    listener: str
    sender: str
    recipients: tuple[str, ...]
    content: bytes

    def with_envelope(self) -> bytes:
        """The message with its envelope headers in front (CRLF line endings, as received)."""
        head = f"Return-Path: <{self.sender}>\r\n" + "".join(f"X-Original-To: {r}\r\n" for r in self.recipients)
        return head.encode("utf-8") + self.content

    def describe(self) -> str:
        return (f"message {self.number} on connection {self.connection}: from <{self.sender}> "
                f"to {', '.join(self.recipients)} ({len(self.content)} bytes)")


class Mailbox:
    """Every delivered message, in order; each also written to ``maildir`` and ``mbox`` when given."""

    def __init__(self, *, maildir: str | None = None, mbox: str | None = None) -> None:
        self.messages: list[Delivered] = []
        self._lock = threading.Lock()
        self._maildir = None
        if maildir:
            if os.path.exists(maildir) and not os.path.isdir(maildir):
                raise NotADirectoryError(f"{maildir} is not a directory")
            self._maildir = mailbox.Maildir(maildir, create=True)
        if mbox:
            if os.path.isdir(mbox):
                raise IsADirectoryError(f"{mbox} is a directory")
            with open(mbox, "ab"):  # can be written
                pass
        self._mbox_path = mbox

    def store(self, message: Delivered) -> str:
        """Keep ``message`` (and write it to the Maildir and mbox); returns why a file could not be written, if so."""
        with self._lock:
            self.messages.append(message)
            data = message.with_envelope()
            try:
                if self._maildir is not None:
                    self._maildir.add(data)
                if self._mbox_path:
                    export_mbox([message], self._mbox_path)
            except (OSError, mailbox.Error) as error:
                return f"message {message.number} not written: {error}"
        return ""

    def snapshot(self) -> list[Delivered]:
        with self._lock:
            return list(self.messages)


def export_mbox(messages: list[Delivered], path: str) -> None:
    """Append ``messages`` to the mbox file at ``path`` (created if missing)."""
    box = mailbox.mbox(path, create=True)
    box.lock()
    try:
        for message in messages:
            entry = mailbox.mboxMessage(message.with_envelope())
            entry.set_from(message.sender or "MAILER-DAEMON")
            box.add(entry)
        box.flush()
    finally:
        box.unlock()
        box.close()
