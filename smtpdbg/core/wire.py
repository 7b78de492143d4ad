"""Bytes on the wire: the bounded reply-line reader and DATA body preparation.

Stock smtplib reads replies with ``makefile().readline()``: a timeout per
``recv`` (a server dripping one byte at a time never times out), no bound on
the number of lines in a reply, and lines silently joined. The reader here
reads with one wall-clock deadline per command, limits line length, and keeps
the bytes that caused a fault so the transcript can show them.
"""

from __future__ import annotations

import re
import select
import socket
import time
from dataclasses import dataclass

from smtpdbg.core.errors import CommandAborted, CommandTimeout, LineTooLong

RECV_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one reply may make the client buffer."""

    max_line: int = 8192
    """Longest reply line accepted (smtplib's ``_MAXLINE``; RFC 5321 §4.5.3.1.5 says 512)."""
    max_reply_lines: int = 1000
    """Most lines one multi-line reply may have."""
    max_reply_bytes: int = 1 << 20
    """Most bytes one reply may have."""
    discard_ceiling: int = 64 << 20
    """How far an over-long line is read (and counted, not kept) before giving up."""
    body_head_lines: int = 200
    """Lines of a large DATA body kept at its start."""
    body_tail_lines: int = 20
    """Lines of a large DATA body kept at its end."""
    body_keep_bytes: int = 256 << 10
    """Bodies up to this size (and up to head+tail lines) are kept whole."""
    max_session_bytes: int = 256 << 20
    """Wire bytes a session's transcript keeps whole; past it, each line keeps its start (``--log`` keeps all)."""


class ReplyReader:
    """Reads CRLF-terminated lines from a socket under a wall-clock deadline.

    One reader belongs to one socket object; after STARTTLS a new reader is
    made for the TLS socket, and what the old one still held is reported.
    """

    __slots__ = ("sock", "buffer", "eof", "limits", "aborted")

    def __init__(self, sock: socket.socket, limits: Limits) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.eof = False
        self.limits = limits
        self.aborted = False

    def _recv(self, deadline: float | None) -> bytes:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CommandTimeout(self._timeout_message())
            self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except (socket.timeout, TimeoutError):
            raise CommandTimeout(self._timeout_message()) from None
        except OSError:
            if self.aborted:
                raise CommandAborted("aborted by the user; the connection was shut down") from None
            raise
        if not chunk and self.aborted:
            raise CommandAborted("aborted by the user; the connection was shut down")
        return chunk

    def _timeout_message(self) -> str:
        if self.buffer:
            hint = ("; it holds bare CRs: the server may end lines with CR alone (RFC 5321 §2.3.8 requires CRLF)"
                    if b"\r" in self.buffer else "")
            return (
                f"timed out waiting for the rest of a reply line; the server sent "
                f"{len(self.buffer):,} byte(s) without a line ending{hint}"
            )
        return "timed out waiting for the server's reply"

    def readline(self, deadline: float | None) -> bytes:
        """Return the next line including its ``\\n``, or the final fragment at EOF, or ``b''``.

        Raises:
            CommandTimeout: the deadline passed before a whole line arrived.
            CommandAborted: the socket was shut down by :meth:`abort`.
            LineTooLong: the line exceeded ``limits.max_line``; ``.kept`` holds its start.
        """
        buffer = self.buffer
        limit = self.limits.max_line
        start = 0
        while True:
            # Only LF ends a line (CRLF, or a bare LF the caller flags). A bare CR inside a line is
            # data (RFC 5321 §2.3.8 forbids it; the caller flags it): ending the line there would
            # pair the rest with the wrong command.
            index = buffer.find(b"\n", start)
            if index >= 0:
                if index >= limit + 2:
                    return self._too_long(index + 1, deadline)
                line = bytes(buffer[: index + 1])
                del buffer[: index + 1]
                return line
            if len(buffer) > limit + 2:
                return self._too_long(None, deadline)
            if self.eof:
                line = bytes(buffer)
                buffer.clear()
                return line
            start = len(buffer)
            chunk = self._recv(deadline)
            if not chunk:
                self.eof = True
            else:
                buffer += chunk

    def _too_long(self, end: int | None, deadline: float | None) -> bytes:
        """Consume an over-long line without keeping it, then raise LineTooLong."""
        limit = self.limits.max_line
        kept = bytes(self.buffer[:limit])
        if end is not None:
            size = end
            del self.buffer[:end]
            complete = True
        else:
            size = len(self.buffer)
            self.buffer.clear()
            complete = False
            try:
                while size < self.limits.discard_ceiling:
                    chunk = self._recv(deadline)
                    if not chunk:
                        self.eof = True
                        break
                    index = chunk.find(b"\n")
                    if index >= 0:
                        size += index + 1
                        self.buffer += chunk[index + 1 :]
                        complete = True
                        break
                    size += len(chunk)
            except CommandTimeout:
                pass
        ended = "" if complete else " (and still no line ending)"
        fault = LineTooLong(
            f"the server sent a reply line of {size:,} bytes{ended}; limit {limit:,}. "
            f"Its first {len(kept):,} bytes are kept in the transcript"
        )
        fault.kept = kept
        fault.size = size
        raise fault

    def available(self) -> bool:
        """Whether a line (or bytes) can be read without waiting."""
        if self.buffer:
            return True
        if self.eof:
            return False
        pending = getattr(self.sock, "pending", None)
        if pending is not None and pending():
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(readable)


_EOL = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True, slots=True)
class PreparedBody:
    """A DATA body ready for the wire: line endings normalised, dot-stuffed."""

    payload: bytes
    """Message lines, each ending in CRLF, with leading dots doubled."""
    terminator: bytes
    """``b".\\r\\n"`` (the payload already ends in CRLF)."""
    stuffed: int
    """Number of dot-stuffed lines."""

    @property
    def size(self) -> int:
        return len(self.payload) + len(self.terminator)


def prepare_body(message: bytes | str) -> PreparedBody:
    """Normalise line endings to CRLF and dot-stuff (RFC 5321 §4.5.2).

    Bare LF and bare CR become CRLF (a body ending in ``\\r.\\r`` cannot smuggle
    a premature end of data). Copies are made only when something changes.
    """
    if isinstance(message, str):
        message = message.encode("utf-8")
    if message.count(b"\n") != message.count(b"\r\n") or message.count(b"\r") != message.count(b"\r\n"):
        message = _EOL.sub(b"\r\n", message)
    stuffed = message.count(b"\n.") + (1 if message.startswith(b".") else 0)
    if stuffed:
        message = _LEADING_DOT.sub(b"..", message)
    if message and not message.endswith(b"\r\n"):
        message += b"\r\n"
    return PreparedBody(message, b".\r\n", stuffed)


def split_head_tail(payload: bytes, limits: Limits) -> tuple[tuple[bytes, ...], tuple[bytes, ...], int, int]:
    """Pick the lines of a body the transcript keeps.

    Returns:
        ``(head, tail, omitted, line_count)``; a small body is all ``head``.
    """
    line_count = payload.count(b"\n")
    if payload and not payload.endswith(b"\n"):
        line_count += 1
    keep = limits.body_head_lines + limits.body_tail_lines
    if line_count <= keep and len(payload) <= limits.body_keep_bytes:
        return tuple(payload.splitlines(keepends=True)), (), 0, line_count
    head: list[bytes] = []
    position = 0
    budget = limits.body_keep_bytes // 2
    while len(head) < limits.body_head_lines and position < len(payload) and budget > 0:
        end = payload.find(b"\n", position)
        end = len(payload) if end < 0 else end + 1
        line = payload[position : min(end, position + limits.max_line)]
        head.append(line)
        budget -= len(line)
        position = end
    tail: list[bytes] = []
    end = len(payload)
    budget = limits.body_keep_bytes // 4
    while len(tail) < limits.body_tail_lines and end > position and budget > 0:
        start = payload.rfind(b"\n", position, end - 1) + 1
        if start <= position:
            start = position
        line = payload[max(start, end - limits.max_line) : end]
        tail.append(line)
        budget -= len(line)
        end = start
    tail.reverse()
    omitted = max(0, line_count - len(head) - len(tail))
    return tuple(head), tuple(tail), omitted, line_count
