"""One incoming connection's transcript, in the core's events.

The client's lines are ``SEND`` (client to server, as in every smtpdbg
transcript) and the server's ``RECV``; each reply ends with a judged
:class:`~smtpdbg.core.events.Reply` (:func:`smtpdbg.core.verdict.classify_reply`,
:func:`~smtpdbg.core.verdict.verdict_for`), so the core's renderers mark and
colour them as they do a client session's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smtpdbg.core.events import Body, Direction, Info, InfoKind, Reply, Wire
from smtpdbg.core.transcript import Transcript
from smtpdbg.core.verdict import classify_reply, enhanced_code, verdict_for
from smtpdbg.core.wire import Limits, split_head_tail


@dataclass
class Connection:
    """An incoming connection: its number (from 1, server-wide), where it came in, and its transcript."""

    number: int
    listener: str
    """``smtp``, ``smtps``, ``lmtp`` or ``unix``."""
    peer: str
    transcript: Transcript = field(default_factory=Transcript)
    tls: bool = False
    closed: bool = False
    messages: int = 0

    @property
    def label(self) -> str:
        return f"[{self.number}]"

    def info(self, text: str, kind: InfoKind = InfoKind.INFO) -> None:
        self.transcript.add(Info, kind=kind, text=text, peer=self.peer)

    def close(self, text: str) -> None:
        if not self.closed:
            self.closed = True
            self.info(text, InfoKind.CLOSED)

    def client_line(self, data: bytes, *, redacted: bool = False, note: str = "") -> None:
        self.transcript.add(Wire, direction=Direction.SEND, data=data, tls=self.tls, redacted=redacted, note=note)

    def client_body(self, payload: bytes, terminator: bytes, stuffed: int) -> None:
        head, tail, omitted, line_count = split_head_tail(payload, Limits())
        self.transcript.add(Body, size=len(payload) + len(terminator), line_count=line_count, head=head, tail=tail,
                            omitted=omitted, tls=self.tls, stuffed=stuffed)
        self.client_line(terminator)

    def server_reply(self, lines: tuple[str, ...], command: str, argument: str = "") -> bytes:
        """Record a reply's lines and its judged :class:`Reply`; returns the bytes to send."""
        data = [line.encode("utf-8") + b"\r\n" for line in lines]
        first = 0
        for chunk in data:
            event = self.transcript.add(Wire, direction=Direction.RECV, data=chunk, tls=self.tls)
            first = first or event.seq
        code = int(lines[0][:3]) if lines and lines[0][:3].isdigit() else -1
        text = "\n".join(line[4:] for line in lines)
        reply_class = classify_reply(code)
        self.transcript.add(
            Reply, exchange=self.transcript.next_number("exchange"), command=command, argument=argument,
            connection=self.number, code=code, enhanced=enhanced_code(text), text=text, reply_class=reply_class,
            verdict=verdict_for(code, reply_class, ""), first_seq=first, lines=len(lines))
        return b"".join(data)
