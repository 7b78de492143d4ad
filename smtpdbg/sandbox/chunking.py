"""CHUNKING / BDAT and BINARYMIME (RFC 3030) for the sandbox's aiosmtpd protocol.

aiosmtpd 1.4.6 has neither: it answers ``BDAT`` with ``500 Error: command
"BDAT" not recognized`` and ``MAIL ... BODY=BINARYMIME`` with ``501 Error: BODY
can only be one of 7BIT, 8BITMIME``. :class:`ChunkingMixin` adds both to the
``SMTP`` subclass (the protocol module strips ``BODY=BINARYMIME`` before
aiosmtpd parses MAIL, and the handler marks the envelope).

``BDAT <size> [LAST]`` is followed by exactly ``size`` octets, read raw from the
stream: no dot-stuffing, no line parsing, any byte values. Replies:

=============================================  ===============================================
Situation                                      Reply
=============================================  ===============================================
a chunk that is not LAST                       ``250 2.0.0 <size> octets received``
the LAST chunk (``BDAT 0 LAST`` is allowed)    the message is delivered exactly as after DATA:
                                               same handler, same policy replies (LMTP: one
                                               per recipient), same :class:`ReceivedMessage`
                                               with :attr:`~ReceivedMessage.chunks` set
size missing, not a number, or a word other    ``501 5.5.4 Syntax: BDAT <size> [LAST]``
than LAST after it
no MAIL yet (also: before EHLO)                ``503 5.5.1 Error: need MAIL command``
no accepted RCPT yet                           ``503 5.5.1 Error: need RCPT command``
the chunks add up to more than the SIZE limit  ``552 5.3.4 Error: message size exceeds fixed
                                               maximum message size``; the transaction ends
DATA after a BDAT in the same transaction      ``503 5.5.1 Error: DATA not allowed after BDAT``
DATA after ``MAIL ... BODY=BINARYMIME``        ``503 5.6.1 BINARYMIME requires BDAT``
=============================================  ===============================================

Whenever the size parses, its octets are read (and thrown away on an error)
before the reply, so the session stays in step as RFC 3030 §2 requires of a
server that refuses a chunk. With an unparsable size there is no way to know
where the chunk ends: the server answers 501 and reads the following bytes as
commands, which is what a wrong byte count does to any real server too.
"""

from __future__ import annotations

import re
from typing import Any

from aiosmtpd.smtp import MISSING, syntax

READ_PIECE = 65536
"""Largest piece read at once, so that a chunk being discarded never sits in memory."""

# ASCII digits only: \d would also take "１０" (and int() would read it as 10).
_BDAT_ARGUMENT = re.compile(r"([0-9]+)(?:[ \t]+(LAST))?", re.IGNORECASE)

REPLY_BDAT_SYNTAX = "501 5.5.4 Syntax: BDAT <size> [LAST]"
REPLY_NEED_MAIL = "503 5.5.1 Error: need MAIL command"
REPLY_NEED_RCPT = "503 5.5.1 Error: need RCPT command"
REPLY_TOO_BIG = "552 5.3.4 Error: message size exceeds fixed maximum message size"
REPLY_DATA_AFTER_BDAT = "503 5.5.1 Error: DATA not allowed after BDAT"
REPLY_BINARYMIME_NEEDS_BDAT = "503 5.6.1 BINARYMIME requires BDAT"


def parse_bdat_argument(arg: str | None) -> tuple[int, bool] | None:
    """``(size, last)`` from the argument of BDAT, or None when it is malformed."""
    match = _BDAT_ARGUMENT.fullmatch(arg.strip()) if arg else None
    if match is None:
        return None
    return int(match.group(1)), match.group(2) is not None


def chunk_reply(size: int) -> str:
    """The reply to a chunk that is not the last one."""
    return f"250 2.0.0 {size} octets received"


class ChunkingMixin:
    """Adds BDAT to an aiosmtpd ``SMTP`` subclass and guards DATA; see the module docstring.

    The class using it sets ``chunking`` (when false, it must also remove ``BDAT``
    from aiosmtpd's command table) and creates envelopes with ``chunks`` (sizes
    so far), ``body`` (a bytearray) and ``binarymime`` (a bool).
    """

    chunking: bool = True
    # Provided by aiosmtpd's SMTP:
    envelope: Any
    data_size_limit: int | None
    _reader: Any

    @syntax("BDAT <size> [LAST]", when="chunking")
    async def smtp_BDAT(self, arg: str | None) -> None:
        parsed = parse_bdat_argument(arg)
        if parsed is None:
            await self.push(REPLY_BDAT_SYNTAX)  # type: ignore[attr-defined]
            return
        size, last = parsed
        envelope = self.envelope
        refusal = None
        if not envelope.mail_from:
            refusal = REPLY_NEED_MAIL
        elif not envelope.rcpt_tos:
            refusal = REPLY_NEED_RCPT
        elif self.data_size_limit and len(envelope.body) + size > self.data_size_limit:
            refusal = REPLY_TOO_BIG
        await self._read_chunk(size, None if refusal else envelope.body)
        if refusal is not None:
            if refusal == REPLY_TOO_BIG:
                self._set_post_data_state()  # type: ignore[attr-defined]
            await self.push(refusal)  # type: ignore[attr-defined]
            return
        envelope.chunks.append(size)
        if not last:
            await self.push(chunk_reply(size))  # type: ignore[attr-defined]
            return
        await self._deliver_chunks(envelope)

    async def _read_chunk(self, size: int, into: bytearray | None) -> None:
        """Read exactly ``size`` octets, appending them to ``into`` unless it is None."""
        remaining = size
        while remaining:
            piece = await self._reader.readexactly(min(remaining, READ_PIECE))
            remaining -= len(piece)
            if into is not None:
                into += piece

    async def _deliver_chunks(self, envelope: Any) -> None:
        """Hand the message to the handler exactly as aiosmtpd's DATA does."""
        envelope.content = envelope.original_content = bytes(envelope.body)
        envelope.body = bytearray()
        status = await self._call_handler_hook("DATA")  # type: ignore[attr-defined]
        self._set_post_data_state()  # type: ignore[attr-defined]
        await self.push("250 OK" if status is MISSING else status)  # type: ignore[attr-defined]

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        envelope = self.envelope
        if getattr(envelope, "binarymime", False):
            await self.push(REPLY_BINARYMIME_NEEDS_BDAT)  # type: ignore[attr-defined]
            return
        if getattr(envelope, "chunks", None):
            await self.push(REPLY_DATA_AFTER_BDAT)  # type: ignore[attr-defined]
            return
        await super().smtp_DATA(arg)  # type: ignore[misc]
