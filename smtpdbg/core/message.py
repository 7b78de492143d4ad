"""The message on a traced session: DATA bodies and BDAT chunks, recorded in bounded form.

Part of the traced smtplib classes (:mod:`smtpdbg.core.traced`). ``data()``
normalises line endings, dot-stuffs, sends the body and its final dot in one
write (no Nagle stall), streams a message file from disk
(:mod:`smtpdbg.core.body`), and reads every reply the end of the message gets
(one per accepted recipient for LMTP, PRDR's 353 and per-recipient replies).
The transcript keeps the head and tail of a large body, not all of it.
"""

from __future__ import annotations

import smtplib

from smtpdbg.core.body import BodyEncoder, BodySummary, FileBody
from smtpdbg.core.errors import CommandAborted
from smtpdbg.core.events import Body
from smtpdbg.core.wire import prepare_body, split_head_tail

_ONE_WRITE = 1 << 20
"""Bodies up to this size are sent together with their final dot in one write."""


class MessageMixin:
    """DATA and BDAT for a traced ``smtplib.SMTP`` subclass."""

    # -- DATA -----------------------------------------------------------------------------
    def data(self, msg):
        """Send DATA and the message; for LMTP read one reply per accepted recipient."""
        self.putcmd("data")
        code, repl = self.getreply()
        if self.debuglevel > 0:
            self._print_debug("data:", (code, repl))
        if code != 354:
            raise smtplib.SMTPDataError(code, repl)
        if isinstance(msg, FileBody):
            self.send_body_stream(msg)
        else:
            self.send_body(prepare_body(msg))
        return self.read_final_replies()

    def read_final_replies(self) -> tuple[int, bytes]:
        """Read every reply the end of the message gets: one (SMTP), one per accepted recipient (LMTP),
        or PRDR's 353, per-recipient replies and the message's reply. Returns the first failure, else the last."""
        self.data_replies = [self.getreply()]
        while self.sock is not None and self.tracker.awaiting_final:
            self.data_replies.append(self.getreply())
        if self.debuglevel > 0:
            for reply in self.data_replies:
                self._print_debug("data:", reply)
        for code, repl in self.data_replies:
            if code != 250 and code != 353:
                return code, repl
        return self.data_replies[-1]

    def send_body(self, body) -> None:
        """Record a bounded summary of a prepared body and send it with its final dot."""
        head, tail, omitted, line_count = split_head_tail(body.payload, self.limits)
        self._record_body(body, head, tail, omitted, line_count)
        self.tracker.on_body_sent()
        if self.debuglevel > 0:
            self._print_debug("send:", repr(body.payload + body.terminator))
        if len(body.payload) <= _ONE_WRITE:
            # One write: a body and its final dot in two small writes would wait for
            # the server's delayed ACK (Nagle), ~40 ms per message.
            self._sendall(body.payload + body.terminator)
        else:  # large: no 50 MB copy; TCP_NODELAY (set at connect) keeps the dot from waiting
            self._sendall(body.payload)
            self._sendall(body.terminator)

    def send_body_stream(self, source: FileBody) -> None:
        """Send a message file a chunk at a time (CRLF, dot-stuffed), then the final dot.

        Memory stays bounded whatever the file's size; the command's deadline and an abort stop it
        within a chunk. If the file cannot be sent whole, the connection is closed before the final
        dot, so the server discards the partial message (and nothing else can be taken for it).
        """
        encoder = BodyEncoder()
        summary = BodySummary(self.limits)
        try:
            for chunk in source.chunks():
                if self.aborted:
                    raise CommandAborted("aborted by the user while sending the message")
                out = encoder.feed(chunk)
                summary.feed(out)
                self._sendall(out)
            out = encoder.finish()
            summary.feed(out)
            self._sendall(out)
        except BaseException as exc:
            source.close()
            self._add_body(summary, encoder, complete=False)
            self._warn(f"the message was cut off after {encoder.size:,} bytes, before the final dot: not delivered")
            if self.sock is not None:
                self.close_reason = f"the message could not be sent whole ({exc})"
                self.close()
            raise
        self._add_body(summary, encoder, complete=True)
        self.tracker.on_body_sent()
        self._sendall(b".\r\n")

    def _add_body(self, summary: BodySummary, encoder: BodyEncoder, *, complete: bool) -> None:
        if complete:
            summary.feed(b".\r\n")
        head, tail, omitted, line_count = summary.result()
        self.transcript.add(Body, size=summary.size, line_count=line_count, head=head, tail=tail, omitted=omitted,
                            tls=self._tls, stuffed=encoder.stuffed)

    def _record_body(self, body, head, tail, omitted, line_count) -> None:
        if omitted or tail:
            tail = tail + (body.terminator,)
        else:
            head = head + (body.terminator,)
        self.transcript.add(
            Body,
            size=body.size,
            line_count=line_count + 1,
            head=head,
            tail=tail,
            omitted=omitted,
            tls=self._tls,
            stuffed=body.stuffed,
        )

    # -- CHUNKING ---------------------------------------------------------------------------
    def _record_chunk(self, chunk: bytes) -> None:
        """A BDAT chunk as the transcript keeps it: its size and the head and tail of its lines."""
        head, tail, omitted, line_count = split_head_tail(chunk, self.limits)
        self.transcript.add(Body, size=len(chunk), line_count=line_count, head=head, tail=tail, omitted=omitted,
                            tls=self._tls, stuffed=0)

    def bdat(self, message: bytes, chunk_size: int = 65536, *, declared: int | None = None, last: bool = True):
        """Send ``message`` with BDAT chunks (RFC 3030 §2), reading a reply after each.

        Args:
            message: the bytes, or a :class:`~smtpdbg.core.body.FileBody` read a chunk at a time.
            chunk_size: bytes per chunk.
            declared: announce this size for the first chunk instead of its real
                size (a deliberately wrong count, to test a server).
            last: mark the final chunk ``LAST``.

        Returns:
            Every reply read; stops at the first failure.
        """
        if isinstance(message, str):
            message = message.encode("utf-8")
        if chunk_size < 1:
            raise ValueError("the chunk size must be at least 1 byte")
        replies: list[tuple[int, bytes]] = []
        for index, (chunk, is_last) in enumerate(_sized(message, chunk_size)):
            final = last and is_last
            size = declared if declared is not None and index == 0 else len(chunk)
            if size != len(chunk):
                self._warn(f"BDAT announces {size:,} bytes but {len(chunk):,} follow (deliberate wrong count)")
            line = f"BDAT {size}{' LAST' if final else ''}\r\n".encode("ascii")
            self._record_lines(line)
            self._bdat_left = 0  # the chunk is recorded here, not taken from the lines that follow
            self._record_chunk(chunk)
            self._sendall(line + chunk)
            chunk_replies = [self.getreply()]
            # LMTP: BDAT LAST gets one reply per accepted recipient (RFC 2033 + RFC 3030)
            while self.sock is not None and any(p.verb == "BDAT" for p in self.tracker.pending):
                chunk_replies.append(self.getreply())
            replies += chunk_replies
            self.data_replies = chunk_replies
            if any(code >= 400 or code < 0 for code, _ in chunk_replies):
                break
        return replies


def _sized(message, size: int):
    """``(chunk, is_last)`` pairs of ``size`` bytes (the last may be shorter; an empty message is one empty
    chunk), cut from bytes or read from a :class:`~smtpdbg.core.body.FileBody` without holding all of it."""
    if isinstance(message, (bytes, bytearray, memoryview)):
        pieces = [bytes(message[i : i + size]) for i in range(0, len(message), size)] or [b""]
        for index, piece in enumerate(pieces):
            yield piece, index == len(pieces) - 1
        return
    buffer = bytearray()
    held = None
    for data in message.chunks():
        buffer += data
        while len(buffer) >= size:
            if held is not None:
                yield held, False
            held = bytes(buffer[:size])
            del buffer[:size]
    if held is not None:
        yield held, not buffer
    if buffer or held is None:
        yield bytes(buffer), True
