"""Each leg of a proxied connection judged by the core, as a session's connection is.

A :class:`LegJudge` feeds the core's :class:`~smtpdbg.core.protocol.ProtocolTracker`
with the lines one leg recorded: command lines, the message's end, every whole
reply. The tracker pairs each reply with the command it answers, judges it
(:class:`~smtpdbg.core.events.Reply` with its verdict), keeps the leg's ledger
and flags out-of-order commands, recording its events on the same leg. Nothing
here decides what a reply means: the tracker does, the same as for a session.

On the client leg the client is the client and smtpdbg the server; on the server
leg smtpdbg is the client: each leg is one SMTP conversation, judged on its own.
"""

from __future__ import annotations

from collections.abc import Callable

from smtpdbg.core.events import Event, Info, InfoKind, Reply, Wire
from smtpdbg.core.protocol import ProtocolTracker
from smtpdbg.core.secrets import AuthMasker
from smtpdbg.proxy.lines import reply_code


class LegJudge:
    """The tracker of one leg (see the module docstring).

    Args:
        add: records an event on the leg (``add(cls, **fields)``, returns the event).
        numbers: the connection's numbering of exchanges and transactions, shared by both legs (unique in an export
            holding both).
        masker: the connection's AUTH masker (the user name of an AUTH, once known).
    """

    def __init__(self, add: Callable[..., Event], numbers: dict[str, int], masker: AuthMasker) -> None:
        self._add = add
        self._numbers = numbers
        self._masker = masker
        self.tracker = ProtocolTracker(transcript=self)
        self._reply: list[Wire] = []
        self._continuation = False
        """The last reply was a 334: the next line the client sends answers it."""
        self._crlf_before = True

    # the tracker's transcript
    def add(self, cls, **fields) -> Event:
        return self._add(cls, **fields)

    def next_number(self, kind: str) -> int:
        self._numbers[kind] = self._numbers.get(kind, 0) + 1
        return self._numbers[kind]

    def observe(self, event: Event) -> None:
        """One event the leg recorded (the tracker's own events pass by)."""
        if type(event) is Wire:
            if event.tls and not self.tracker.tls:  # implicit TLS: the first line came over TLS
                self.tracker.on_implicit_tls()
            (self._send if event.is_send else self._received)(event)
        elif type(event) is Info:
            if event.kind is InfoKind.CONNECTED:
                self.tracker.on_connect()
            elif event.kind is InfoKind.TLS:
                self.tracker.on_tls()
            elif event.kind is InfoKind.CLOSED:
                self.close()

    def close(self, cause: str = "connection closed") -> None:
        """The leg is over: a reply still being read is judged as it stands, exchanges still waiting are unanswered."""
        if self._reply:
            self._judge()
        if self.tracker.connected:
            self.tracker.on_close(cause)

    def _send(self, event: Wire) -> None:
        tracker = self.tracker
        if self._reply:  # a reply cut short by the client speaking
            self._judge()
        if tracker.in_data:
            if event.data == b".\r\n" and self._crlf_before:
                tracker.on_body_sent()
            self._crlf_before = event.data.endswith(b"\r\n")
            return
        continuation, self._continuation = self._continuation, False
        tracker.on_send(event.data, auth_continuation=continuation, redacted=event.redacted)
        if self._masker.user:
            tracker.note_auth(self._masker.user, self._masker.mechanism)

    def _received(self, event: Wire) -> None:
        self._reply.append(event)
        data = event.data
        valid = len(data) >= 3 and data[:3].isdigit() and data[3:4] in (b" ", b"-", b"\r", b"\n", b"")
        if not valid or data[3:4] != b"-":
            self._judge()

    def _judge(self) -> None:
        lines, self._reply = self._reply, []
        code = reply_code(lines[-1].data)
        texts = [(line.data[4:] if line.data[:3].isdigit() else line.data).strip(b" \t\r\n") for line in lines]
        reply = self.tracker.on_reply(code, b"\n".join(texts).decode("utf-8", "replace"), first_seq=lines[0].seq,
                                      lines=len(lines), received=lines[0].mono,
                                      codes=tuple(reply_code(line.data) for line in lines))
        self._continuation = isinstance(reply, Reply) and reply.code == 334


def leg_judges(add: Callable[..., Event], legs: tuple[str, ...], masker: AuthMasker) -> dict[str, LegJudge]:
    """A judge for each leg, ``add(leg, cls, **fields)`` recording on that leg, numbering shared."""
    numbers: dict[str, int] = {}
    return {leg: LegJudge(lambda cls, _leg=leg, **fields: add(_leg, cls, **fields), numbers, masker) for leg in legs}
