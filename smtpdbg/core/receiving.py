"""Receiving on a traced session: bounded replies under one deadline, recorded and paired.

Part of the traced smtplib classes (:mod:`smtpdbg.core.traced`). Replies are
read with one wall-clock deadline per command and bounded line and reply
sizes (:mod:`smtpdbg.core.wire`); each whole reply goes to the protocol
tracker, which pairs it with its exchange and judges it. ``drain()`` reads
what arrived outside any command (late and unsolicited replies).
"""

from __future__ import annotations

import select
import smtplib
import time

from smtpdbg.core.errors import CommandTimeout, LineTooLong, ServerFault
from smtpdbg.core.events import Direction, InfoKind
from smtpdbg.core.render import safe_text
from smtpdbg.core.verdict import code_text
from smtpdbg.core.wire import ReplyReader

RECV = Direction.RECV
_DRAIN_GRACE = 0.25
"""Seconds a partial unsolicited line may take to complete before a command is sent."""


class ReceiveMixin:
    """Bounded, recorded reply reading for a traced ``smtplib.SMTP`` subclass."""

    # -- receiving -------------------------------------------------------------------------
    def getreply(self):
        """Read one reply under the command's deadline; smtplib's ``getreply()`` contract."""
        code, text, _ = self.read_reply()
        return code, text

    def _ensure_reader(self) -> ReplyReader:
        reader = self._reader
        if reader is None or reader.sock is not self.sock:
            if self.sock is None:
                raise smtplib.SMTPServerDisconnected("please run connect() first")
            reader = self._reader = ReplyReader(self.sock, self.limits)
        return reader

    def read_reply(self, deadline: float | None = None, *, quiet: bool = False,
                   late: bool = False) -> tuple[int, bytes, list[bytes]]:
        """Read one (possibly multi-line) reply, record it, and pair it with its command.

        Returns:
            ``(code, text, lines)`` where text joins the lines' texts with ``\\n``
            as smtplib does and code is -1 for a line without a valid code.
        """
        reader = self._ensure_reader()
        if deadline is None:
            deadline = self.deadline
        limits = self.limits
        texts: list[bytes] = []
        shown: list[bytes] = []
        """The texts as recorded (secrets scrubbed): what the Reply event carries."""
        lines: list[bytes] = []
        codes: list[int] = []
        first_seq = 0
        first_at = None
        size = 0
        errcode = -1
        while True:
            try:
                line = reader.readline(deadline)
            except LineTooLong as fault:
                self._record(RECV, fault.kept, note=f"truncated: the line was {fault.size:,} bytes")
                self._fail(fault)
            except ServerFault as fault:
                if reader.buffer:
                    fragment = bytes(reader.buffer)
                    reader.buffer.clear()
                    self._record(RECV, fragment, note="incomplete line")
                self._fail(fault)
            except OSError as exc:
                self.close_reason = f"receive failed: {exc.strerror or exc}"
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed: " + str(exc)) from exc
            if not line:
                waiting = " in the middle of a multi-line reply" if lines else ""
                self.close_reason = f"the server closed the connection{waiting}"
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            lines.append(line)
            size += len(line)
            code = line[:3]
            # RFC 5321 §4.2: three digits, then a space, a hyphen or the line's end ("2500" is no 250)
            valid = len(code) == 3 and code.isdigit() and line[3:4] in (b" ", b"-", b"\r", b"\n", b"")
            note = ""
            if valid and self._masker.active:
                note = self._masker.on_reply(int(code), line[4:].strip(b" \t\r\n")) if line[3:4] != b"-" else ""
            recorded = self._record(RECV, line, note=note)
            if first_at is None:
                first_seq, first_at = recorded.seq, recorded.mono
            if self.debuglevel > 0:
                self._print_debug("reply:", repr(line))
            # smtplib keeps line[4:]; a line without a code is kept whole, it is all there is to read
            texts.append((line[4:] if valid else line).strip(b" \t\r\n"))
            seen = recorded.data
            shown.append((seen[4:] if valid else seen).strip(b" \t\r\n"))
            if not line.endswith(b"\r\n"):
                self._warn_line_ending(line)
            if b"\r" in line[:-2 if line.endswith(b"\r\n") else -1 if line.endswith(b"\n") else len(line)]:
                self._warn("bare CR inside a reply line, kept as data (RFC 5321 §2.3.8: only CRLF ends a line)")
            if not valid:
                errcode = -1
                if not quiet:
                    self._warn(
                        f"reply line without a valid 3-digit code: {safe_text(line[:60])!r}; "
                        "the server may not be speaking SMTP here (`drain` reads whatever else it sent)"
                    )
                break
            errcode = int(code)
            codes.append(errcode)  # a code that changes inside the reply is judged (and flagged) with it
            if line[3:4] != b"-":
                break
            if len(lines) >= limits.max_reply_lines or size > limits.max_reply_bytes:
                self._fail(
                    ServerFault(
                        f"the server's multi-line reply exceeded {len(lines):,} lines / {size:,} bytes "
                        f"(limits {limits.max_reply_lines:,} lines, {limits.max_reply_bytes:,} bytes); "
                        "the reply was cut off here",
                        category="reply-too-long",
                    )
                )
        text = b"\n".join(texts)
        if self.debuglevel > 0:
            self._print_debug("reply: retcode (%s); Msg: %a" % (errcode, text))
        pairing = self.tracker.on_reply(errcode, b"\n".join(shown).decode("utf-8", "replace"), first_seq=first_seq,
                                        lines=len(lines), received=first_at, late=late, codes=tuple(codes))
        self.last_pairing = pairing
        if pairing is not None and pairing.command == "XCLIENT" and errcode == 220:
            # Postfix answers XCLIENT with a new greeting: what EHLO said no longer holds
            # (however XCLIENT was sent: the xclient command, docmd or raw).
            self.helo_resp = self.ehlo_resp = None
            self.esmtp_features = {}
            self.does_esmtp = False
        if pairing is not None and pairing.unsolicited and not quiet and errcode != 421:
            self._warn(f"unsolicited reply {code_text(errcode)}: no command was waiting for it")
        if self._masker.active and errcode != 334:
            self._masker.on_reply(errcode, b"")
        self.last_reply = (errcode, text)
        return errcode, text, lines

    def _warn_line_ending(self, line: bytes) -> None:
        if line.endswith(b"\n"):
            self._warn("bare LF line ending (RFC 5321 §2.3.8 requires CRLF)")
        elif line.endswith(b"\r"):
            self._warn("line ended by a bare CR (RFC 5321 §2.3.8 requires CRLF)")
        else:
            self._warn("the last line had no line ending before the connection closed")

    def _warn(self, text: str) -> None:
        self._info(InfoKind.WARNING, text)

    def drain(self, wait: float = 0.5, *, max_bytes: int | None = None) -> list[tuple[int, bytes]]:
        """Read replies that arrived outside their command, for up to ``wait`` seconds of quiet.

        A reply still owed to an earlier command (``raw`` read fewer than it
        sent) is paired with it and flagged as late; one no command asked for
        is flagged as unsolicited. Returns the replies read.
        """
        replies: list[tuple[int, bytes]] = []
        reader = self._ensure_reader()
        budget = max_bytes if max_bytes is not None else self.limits.max_reply_bytes
        self._drain_loop(reader, wait, budget, replies)
        return replies

    def _drain_loop(self, reader: ReplyReader, wait: float, budget: int, replies: list) -> None:
        read = 0
        unsolicited = 0
        deadline = self.deadline  # the command's: a server that never goes quiet must not keep it forever
        while self.sock is not None:
            now = time.monotonic()
            quiet_for = wait if deadline is None else min(wait, deadline - now)
            if not reader.available():
                if quiet_for <= 0 or not self._wait_readable(reader, quiet_for):
                    if wait > 0 and quiet_for < wait and replies:
                        self._warn_drain_cut()
                    break
            read_by = now + max(wait, _DRAIN_GRACE)
            try:
                code, text, lines = self.read_reply(read_by if deadline is None else min(read_by, deadline), quiet=True,
                                                    late=bool(self.tracker.pending))
            except CommandTimeout:
                if deadline is not None and replies and time.monotonic() >= deadline:
                    self._warn_drain_cut()
                break
            read += sum(len(line) for line in lines)
            replies.append((code, text))
            shown = code_text(code) if code >= 0 else "(no code)"
            pairing = self.last_pairing
            if pairing is not None and not pairing.unsolicited:
                command = pairing.command or "an empty line"
                self._warn(f"late reply {shown} to {command}: it arrived after that command stopped reading")
            else:
                unsolicited += 1
                if unsolicited <= 3:
                    self._warn(f"unsolicited reply {shown}: no command was waiting for it (protocol violation or desync)")
            if read > budget:
                self._fail(
                    ServerFault(
                        f"the server flooded {read:,} bytes nobody asked for (limit {budget:,}); connection closed",
                        category="flood",
                    )
                )
        if unsolicited > 3:
            self._warn(f"{unsolicited:,} unsolicited replies in all ({read:,} bytes) nobody asked for")

    def _warn_drain_cut(self) -> None:
        self._warn("drain stopped at the command's time limit while replies were still arriving "
                   "(the server does not go quiet)")

    def _wait_readable(self, reader: ReplyReader, wait: float) -> bool:
        try:
            readable, _, _ = select.select([reader.sock], [], [], wait)
        except (OSError, ValueError):
            return False
        return bool(readable)
