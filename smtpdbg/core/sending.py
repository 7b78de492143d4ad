"""Sending on a traced session: every command line recorded as it goes out, AUTH secrets masked first.

Part of the traced smtplib classes (:mod:`smtpdbg.core.traced`). Lines are
judged as the server will see them (a line sent in pieces with ``raw
--no-crlf`` as the whole line; an AUTH hidden behind a bare CR), masked by
the :class:`~smtpdbg.core.secrets.AuthMasker` before they are recorded, and
handed to the protocol tracker, which pairs their replies.
"""

from __future__ import annotations

import smtplib
import socket
import sys

from smtpdbg.core.errors import CommandAborted, CommandTimeout
from smtpdbg.core.events import Direction, InfoKind
from smtpdbg.core.secrets import MASK

SEND = Direction.SEND
_PARTIAL_KEEP = 1024
"""How much of an unterminated command line is kept to judge (AUTH?) and track it when the rest follows."""
BARE_LF_SENT = ("bare LF line ending sent (RFC 5321 §2.3.8 requires CRLF; a server that ends lines there "
                "ends the message at <LF>.<LF>: SMTP smuggling)")

EMPTY_AFTER_CHUNK = ("an empty line right after a BDAT chunk: the chunk is exactly the bytes BDAT announced, so this "
                     "CRLF is a command line of its own (expect 500); `raw --no-crlf` sends a chunk without it")


def has_auth(line: bytes) -> bool:
    """Whether a client line is (or, behind a bare CR, hides) an AUTH command."""
    if line.lstrip()[:4].upper() == b"AUTH":  # any ASCII blank before it (a server may skip \v or \f too)
        return True
    body = line.rstrip(b"\r\n")
    return b"\r" in body and any(p.lstrip()[:4].upper() == b"AUTH" for p in body.split(b"\r"))


class SendMixin:
    """Recorded, masked sending for a traced ``smtplib.SMTP`` subclass."""

    _crlf_before = True
    """The line sent last (a command, or message text) ended in CRLF: a "." CRLF now ends the message."""
    _bdat_left = 0
    """Bytes of chunk data still owed after a BDAT line sent by hand (``raw``): they are not lines."""

    # -- sending ---------------------------------------------------------------------------
    def send(self, s):
        """Record and send a command (or raw bytes); smtplib's ``send()`` contract."""
        if self.debuglevel > 0:
            self._print_debug("send:", repr(s))
        if not self.sock:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        if isinstance(s, str):
            s = s.encode(self.command_encoding)
        if self._reader is not None and not self.tracker.pending and self._reader.available():
            self.drain(0)
            if not self.sock:
                raise smtplib.SMTPServerDisconnected("Server not connected")
        sys.audit("smtplib.send", self, s)
        self._record_lines(s)
        self._sendall(s)

    def _record_lines(self, data: bytes, pipelined: bool = False) -> None:
        tracker = self.tracker
        masker = self._masker
        start = 0
        end = len(data)
        blind_body = False  # a DATA line went out with more lines behind it: those are its body
        bare_lf = False
        after_chunk = False
        while start < end:
            if self._bdat_left:  # the bytes a BDAT line announced are its chunk, whatever they hold (RFC 3030 §2)
                take = min(self._bdat_left, end - start)
                self._bdat_left -= take
                self._record_chunk(data[start:start + take])
                start += take
                after_chunk = not self._bdat_left
                continue
            stop = data.find(b"\n", start)
            stop = end if stop < 0 else stop + 1
            line = data[start:stop]
            start = stop
            if bare_lf:  # flag the line recorded last (each path below records it)
                self._info(InfoKind.WARNING, BARE_LF_SENT, rule="RFC 5321 §2.3.8")
            bare_lf = line.endswith(b"\n") and not line.endswith(b"\r\n")
            if tracker.in_data or blind_body:
                self._record(SEND, line, pipelined=pipelined)
                if line == b".\r\n" and self._crlf_before:  # only CRLF "." CRLF ends it (RFC 5321 §4.1.1.4)
                    tracker.on_body_sent()
                    blind_body = False
                self._crlf_before = line.endswith(b"\r\n")
                continue
            self._crlf_before = True
            # A command line can go out in pieces (raw --no-crlf): judge and track the whole line so far.
            partial = self._send_partial
            full = partial + line if partial else line
            complete = full.endswith(b"\n")
            if not partial:
                self._send_continuation = masker.active
            continuation = self._send_continuation
            self._send_partial = b"" if complete else full[:_PARTIAL_KEEP]
            if masker.active or has_auth(full):
                shown, redacted, note = masker.on_send(full)
                if continuation and not masker.active:  # a command pipelined behind AUTH's initial response
                    self._record(SEND, line, pipelined=pipelined)
                    if complete:
                        tracker.on_send(full)
                    continue
                if partial and redacted:  # the line's start is on record already: this piece of the masked line
                    masked_from = shown.find(MASK)
                    shown = shown[len(partial):] if 0 <= len(partial) <= masked_from else \
                        MASK + line[len(line.rstrip(b"\r\n")):]
                self._record(SEND, shown, redacted=redacted, note=note, pipelined=pipelined)
                if complete:
                    tracker.on_send(full, auth_continuation=continuation, redacted=redacted)
                if masker.user:
                    tracker.note_auth(masker.user, masker.mechanism)
                if redacted and self.transcript.secrets is not None:  # the session masks them from now on
                    self.transcript.secrets.learn_sent(masker.known)
                continue
            if after_chunk and full == b"\r\n":
                self._info(InfoKind.WARNING, EMPTY_AFTER_CHUNK, rule="RFC 3030 §2")
            after_chunk = False
            # A secret AUTH sent on this connection, typed again outside AUTH (the transcript masks the
            # session's own secrets in every event): masked in the line and in the exchange's verb and argument.
            shown = masker.scrub(line) if masker.known else line
            self._record(SEND, shown, pipelined=pipelined, redacted=shown != line)
            if complete:
                blind_body = start < end and not pipelined and full.rstrip(b"\r\n").upper() == b"DATA"
                book = self.transcript.secrets
                clean = masker.scrub(full) if masker.known else full
                clean = book.mask(clean) if book else clean
                tracker.on_send(clean, body_follows=blind_body, redacted=clean != full)
                words = full.split()
                if len(words) >= 2 and words[0].upper() == b"BDAT" and words[1].isdigit():
                    self._bdat_left = int(words[1])
        if bare_lf:
            self._info(InfoKind.WARNING, BARE_LF_SENT, rule="RFC 5321 §2.3.8")

    def _sendall(self, data: bytes) -> None:
        sock = self.sock
        try:
            self._set_deadline(sock)
            sock.sendall(data)
        except (socket.timeout, TimeoutError):
            self._fail(CommandTimeout("timed out sending to the server (it stopped reading)"))
        except OSError as exc:
            if self.aborted:
                self._fail(CommandAborted("aborted by the user; the connection was shut down"))
            self.close_reason = f"send failed: {exc.strerror or exc}"
            self.close()
            raise smtplib.SMTPServerDisconnected("Server not connected") from exc

    def send_pipelined(self, lines: list[bytes]) -> None:
        """Send several command lines in one write (RFC 2920); replies are read by the caller."""
        if not self.sock:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        data = b"".join(lines)
        self._record_lines(data, pipelined=True)
        self._sendall(data)
