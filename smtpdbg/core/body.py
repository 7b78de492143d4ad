"""Message files streamed to the wire: bounded memory and time for any size of file.

``data @FILE`` must not hold a 1 GB file in memory (twice, once normalised),
nor read ``/dev/zero`` until memory runs out. A :class:`FileBody` is read a
chunk at a time; :class:`BodyEncoder` normalises line endings to CRLF and
dot-stuffs (RFC 5321 §4.5.2) across chunk boundaries exactly as
:func:`smtpdbg.core.wire.prepare_body` does for a whole message, and
:class:`BodySummary` keeps the head and tail the transcript shows. Sending
goes through the traced session's own write, so the command's deadline and
an abort (Escape, Ctrl-C) stop it within a chunk.
"""

from __future__ import annotations

import os
import re
import stat
from collections import deque
from typing import Iterator

from smtpdbg.core.errors import CommandError
from smtpdbg.core.wire import Limits

CHUNK = 1 << 20
"""Bytes read from the file at a time."""
STREAM_CAP = 256 << 20
"""Most bytes read from something that is not a regular file (a pipe, a device) unless ``--max-body`` says more."""
WHOLE_FILE_CAP = 256 << 20
"""Most bytes a command that needs the whole message in memory (``bdat`` from a pipe or device) reads."""
PARSED_FILE_CAP = 32 << 20
"""Most bytes ``send_message`` reads: it parses the message (Python's email package), which takes about ten
times the file's size in memory."""

_EOL = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class FileBody:
    """A message file, opened now and read in chunks while it is sent.

    Raises:
        CommandError: the file cannot be opened, or is a directory.
    """

    def __init__(self, path: str, *, max_body: int | None = None) -> None:
        self.path = path
        try:
            self._handle = open(path, "rb")  # noqa: SIM115 - closed by chunks() or close()
        except FileNotFoundError:
            raise CommandError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise CommandError(f"{path} is a directory, not a message file") from None
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
        info = os.fstat(self._handle.fileno())
        self.regular = stat.S_ISREG(info.st_mode)
        """A regular file: its size is known before sending."""
        self.size = info.st_size if self.regular else None
        self.cap = max_body if max_body is not None else (None if self.regular else STREAM_CAP)
        if self.size is not None and self.cap is not None and self.size > self.cap:
            self.close()
            raise CommandError(f"{path} is {self.size:,} bytes, over --max-body {self.cap:,}: not sent")

    def __len__(self) -> int:
        """The size when known (smtplib's ``sendmail`` adds ``SIZE=`` from it)."""
        return self.size or 0

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes, a chunk at a time; closes the file at the end.

        Raises:
            CommandError: more than the cap came from a pipe or device.
        """
        read = 0
        try:
            while True:
                chunk = self._handle.read(CHUNK)
                if not chunk:
                    return
                read += len(chunk)
                if self.cap is not None and read > self.cap:
                    what = "--max-body" if self.regular else "the limit for a pipe or device (--max-body BYTES for more)"
                    raise CommandError(f"{self.path} gave more than {self.cap:,} bytes, {what}; the message was cut off "
                                       "and the connection closed, so the server discards it")
                yield chunk
        finally:
            self.close()

    def read_all(self, what: str, *, most: int = WHOLE_FILE_CAP, how: str = "reads the whole message into memory",
                 instead: str = "use `data @FILE` (after mail and rcpt) to stream it") -> bytes:
        """The whole file, for a command that needs it in memory (bounded by ``most``)."""
        cap = min(self.cap or most, most)
        if self.size is not None and self.size > cap:  # known before reading: nothing is read
            self.close()
            raise CommandError(f"{what} {how}, and {self.path} is over {cap:,} bytes; {instead}")
        try:
            data = self._handle.read(cap + 1)
        except OSError as exc:
            raise CommandError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        finally:
            self.close()
        if len(data) > cap:
            raise CommandError(f"{what} {how}, and {self.path} is over {cap:,} bytes; {instead}")
        return data

    def close(self) -> None:
        self._handle.close()


class BodyEncoder:
    """CRLF line endings and dot-stuffing (RFC 5321 §4.5.2), fed a chunk at a time."""

    __slots__ = ("_held_cr", "_line_start", "stuffed", "size")

    def __init__(self) -> None:
        self._held_cr = False
        """The last chunk ended in CR: it may be the first half of a CRLF."""
        self._line_start = True
        self.stuffed = 0
        self.size = 0

    def feed(self, data: bytes) -> bytes:
        if self._held_cr:
            data = b"\r" + data
            self._held_cr = False
        if data.endswith(b"\r"):
            data = data[:-1]
            self._held_cr = True
        return self._encode(data)

    def finish(self) -> bytes:
        """What is left to send before the final dot (a held CR, the last line's CRLF)."""
        out = self._encode(b"\r") if self._held_cr else b""
        self._held_cr = False
        if not self._line_start:
            out += b"\r\n"
            self.size += 2
            self._line_start = True
        return out

    def _encode(self, data: bytes) -> bytes:
        if not data:
            return b""
        if data.count(b"\n") != data.count(b"\r\n") or data.count(b"\r") != data.count(b"\r\n"):
            data = _EOL.sub(b"\r\n", data)
        stuffed = data.count(b"\n.") + (1 if self._line_start and data.startswith(b".") else 0)
        if stuffed:
            if self._line_start:
                data = _LEADING_DOT.sub(b"..", data)
            else:  # the chunk continues a line: a dot at its very start is not at a line's start
                first = data.find(b"\n") + 1
                data = data[:first] + _LEADING_DOT.sub(b"..", data[first:])
            self.stuffed += stuffed
        self._line_start = data.endswith(b"\n")
        self.size += len(data)
        return data


class BodySummary:
    """The lines of a streamed body the transcript keeps: the first ones, the last ones and a count."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.head: list[bytes] = []
        self._head_budget = limits.body_keep_bytes // 2
        self._tail: deque[bytes] = deque(maxlen=limits.body_tail_lines)
        self._partial = b""
        self.line_count = 0
        self.size = 0

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        start = 0
        max_line = self.limits.max_line
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                if len(self._partial) < max_line:
                    self._partial += data[start:start + max_line - len(self._partial)]
                return
            line = self._partial + data[start:min(end + 1, start + max_line)]
            self._partial = b""
            self._line(line)
            start = end + 1

    def _line(self, line: bytes) -> None:
        self.line_count += 1
        if len(self.head) < self.limits.body_head_lines and self._head_budget > 0:
            self.head.append(line)
            self._head_budget -= len(line)
        else:
            self._tail.append(line)

    def result(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...], int, int]:
        """``(head, tail, omitted, line_count)`` as :func:`smtpdbg.core.wire.split_head_tail` gives them."""
        if self._partial:
            self._line(self._partial)
            self._partial = b""
        tail = tuple(self._tail)
        return tuple(self.head), tail, max(0, self.line_count - len(self.head) - len(tail)), self.line_count
