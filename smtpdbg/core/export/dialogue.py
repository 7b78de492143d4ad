"""The dialogue behind a transcript: commands, exchanges, replies, transactions.

Every exporter, the recorder, the differ and the ``run`` summary need more
than a flat list of events: which wire lines a command produced, which reply
answered which command, and what finally happened to each message. The core
decided all of that as the session ran and put it on its events
(:class:`~smtpdbg.core.events.Reply`, :class:`~smtpdbg.core.events.Unanswered`,
:class:`~smtpdbg.core.events.LedgerChange`); :func:`analyze` only groups those
events by command and connection. It pairs nothing and judges nothing itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from smtpdbg.core.events import Body, CommandEnd, CommandStart, Error, Event, Info, InfoKind, LedgerChange, StateChange, Unanswered, Wire
from smtpdbg.core.events import Reply as ReplyEvent
from smtpdbg.core.ledger import Recipient, Transaction
from smtpdbg.core.parser import ParseError, Parsed, parse
from smtpdbg.core.protocol import GREETING
from smtpdbg.core.state import TlsInfo
from smtpdbg.core.verdict import Fate, enhanced_code

OUTCOMES = tuple(f.value for f in Fate if f is not Fate.PENDING)
"""Per-recipient outcomes (see :class:`smtpdbg.core.verdict.Fate`)."""


@dataclass
class Reply:
    """One whole (possibly multi-line) server reply."""

    code: int
    """-1 when a line carried no valid code."""
    lines: list[Wire]
    text: str
    """The lines' texts (after the code) joined with newlines, as smtplib returns them."""
    answers: str = ""
    """The verb it answered (``EHLO``, ``RCPT``, ``<greeting>``, ``<end of data>``), empty if unsolicited."""
    argument: str = ""
    unsolicited: bool = False
    latency: float | None = None
    """Seconds from the command line it answers to the reply's first line."""
    event: ReplyEvent | None = None
    """The core's judgement of the reply: exchange, class, verdict, violation, recipient."""

    @property
    def enhanced(self) -> str | None:
        return self.event.enhanced if self.event is not None else enhanced_code(self.text)

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0]

    @property
    def tls(self) -> bool:
        return self.lines[-1].tls if self.lines else False

    def extensions(self) -> dict[str, str]:
        """EHLO keywords (upper case) and their parameters, for a positive EHLO/LHLO reply."""
        if self.answers not in ("EHLO", "LHLO") or not 200 <= self.code < 300:
            return {}
        found: dict[str, str] = {}
        for line in self.text.split("\n")[1:]:
            keyword, _, params = line.strip().partition(" ")
            if keyword:
                found[keyword.upper()] = params.strip()
        return found


@dataclass
class Exchange:
    """Lines sent back to back (or a body), then the replies that followed them."""

    sends: list[Wire] = field(default_factory=list)
    body: Body | None = None
    replies: list[Reply] = field(default_factory=list)


@dataclass
class Span:
    """One command of the session and everything it caused."""

    start: CommandStart | None
    """``None`` for events recorded outside any command."""
    end: CommandEnd | None = None
    events: list[Event] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.start.text if self.start else ""

    @property
    def parsed(self) -> Parsed | None:
        try:
            return parse(self.text) if self.start else None
        except ParseError:
            return None

    @property
    def name(self) -> str:
        parsed = self.parsed
        return parsed.name if parsed else ""

    @property
    def redacted(self) -> bool:
        """A line this command sent carried a secret (and was masked in the transcript)."""
        return any(isinstance(e, Wire) and e.redacted for e in self.events)

    @property
    def replies(self) -> list[Reply]:
        return [r for x in self.exchanges for r in x.replies]

    @property
    def sends(self) -> list[Wire]:
        return [w for x in self.exchanges for w in x.sends]

    @property
    def body(self) -> Body | None:
        for exchange in self.exchanges:
            if exchange.body is not None:
                return exchange.body
        return None

    @property
    def errors(self) -> list[Error]:
        return [e for e in self.events if isinstance(e, Error)]


@dataclass
class Connection:
    """One TCP (or unix socket) connection of the session."""

    index: int
    target: str = ""
    peer: str = ""
    local: str = ""
    banner: Reply | None = None
    tls: list[TlsInfo] = field(default_factory=list)
    extensions: list[dict[str, str]] = field(default_factory=list)
    """Keywords of each positive EHLO/LHLO, in order (before and after STARTTLS)."""
    closed: str = ""


@dataclass
class Dialogue:
    """Everything :func:`analyze` rebuilt from a transcript."""

    events: list[Event]
    spans: list[Span]
    replies: list[Reply]
    connections: list[Connection]
    transactions: list[Transaction]
    reply_of: dict[int, Reply] = field(default_factory=dict)
    """The reply whose *last* line is the wire event with this sequence number."""
    first_mono: float = 0.0
    first_wall: float = 0.0
    bodies: dict[int, list[Body]] = field(default_factory=dict)
    """What was sent of the message in each transaction (by index): the DATA body, or each BDAT chunk."""
    unanswered: list[Unanswered] = field(default_factory=list)

    @property
    def recipients(self) -> list[Recipient]:
        return [r for t in self.transactions for r in t.recipients]

    def parts_of(self, transaction: Transaction) -> list[Body]:
        """The message of a transaction as it went out: one DATA body, or its BDAT chunks in order."""
        return self.bodies.get(transaction.index, [])

    @property
    def commands(self) -> list[Span]:
        return [s for s in self.spans if s.start is not None]

    def failed(self) -> list[Span]:
        return [s for s in self.commands if s.end is not None and not s.end.ok]


_CONNECTING = re.compile(r"^connecting to (?:unix socket )?(.*)$")


class _Builder:
    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.spans: list[Span] = []
        self.replies: list[Reply] = []
        self.connections: list[Connection] = []
        self.transactions: dict[int, Transaction] = {}
        self.open_transaction: int | None = None
        self.bodies: dict[int, list[Body]] = {}
        self.unanswered: list[Unanswered] = []
        self.reply_of: dict[int, Reply] = {}
        self.span: Span | None = None
        self.pending_lines: list[Wire] = []
        self.connecting = ""

    def run(self) -> Dialogue:
        for event in self.events:
            if isinstance(event, StateChange):
                continue
            if isinstance(event, CommandStart):
                self.span = Span(event)
                self.spans.append(self.span)
            elif self.span is None:
                self.span = Span(None)
                self.spans.append(self.span)
            self.span.events.append(event)
            if isinstance(event, CommandEnd):
                if self.span.start is not None and self.span.start.command_id == event.command_id:
                    self.span.end = event
                    self.span = None
            elif isinstance(event, Wire):
                if event.is_send:
                    self._exchange(sending=True).sends.append(event)
                else:
                    self.pending_lines.append(event)
            elif isinstance(event, ReplyEvent):
                self._reply(event)
            elif isinstance(event, Body):
                self._body(event)
            elif isinstance(event, LedgerChange):
                transaction = event.transaction
                self.transactions[transaction.index] = transaction
                self.open_transaction = None if transaction.closed else transaction.index
            elif isinstance(event, Unanswered):
                self.unanswered.append(event)
            elif isinstance(event, Info):
                self._info(event)
        first = self.events[0] if self.events else None
        transactions = [self.transactions[i] for i in sorted(self.transactions)]
        return Dialogue(self.events, self.spans, self.replies, self.connections, transactions, self.reply_of,
                        first.mono if first else 0.0, first.wall if first else 0.0, self.bodies, self.unanswered)

    def _exchange(self, *, sending: bool) -> Exchange:
        exchanges = self.span.exchanges
        if not exchanges or (sending and exchanges[-1].replies):
            exchanges.append(Exchange())
        return exchanges[-1]

    def _info(self, event: Info) -> None:
        if event.kind is InfoKind.CONNECTING:
            match = _CONNECTING.match(event.text)
            self.connecting = match.group(1) if match else ""
        elif event.kind is InfoKind.CONNECTED:
            self.pending_lines = []
            self.connections.append(Connection(len(self.connections) + 1, self.connecting, event.peer, event.local))
        elif event.kind is InfoKind.TLS and event.tls_info is not None:
            if self.connections:
                self.connections[-1].tls.append(event.tls_info)
        elif event.kind is InfoKind.CLOSED:
            self.pending_lines = []
            if self.connections:
                self.connections[-1].closed = event.text

    def _body(self, event: Body) -> None:
        exchange = self._exchange(sending=True)
        if exchange.body is not None or exchange.sends:
            exchange = Exchange()
            self.span.exchanges.append(exchange)
        exchange.body = event
        if self.open_transaction is not None:
            self.bodies.setdefault(self.open_transaction, []).append(event)

    def _reply(self, event: ReplyEvent) -> None:
        lines = [line for line in self.pending_lines if line.seq >= event.first_seq] or self.pending_lines
        self.pending_lines = []
        reply = Reply(event.code, lines, event.text, event.command, event.argument, event.unsolicited, event.latency,
                      event)
        self.replies.append(reply)
        if lines:
            self.reply_of[lines[-1].seq] = reply
        self._exchange(sending=False).replies.append(reply)
        connection = self.connections[-1] if self.connections else None
        if connection is None:
            return
        if event.command == GREETING:
            connection.banner = reply
        elif event.command in ("EHLO", "LHLO") and 200 <= event.code < 300:
            connection.extensions.append(reply.extensions())


def analyze(events: list[Event]) -> Dialogue:
    """Group the events by command and connection (the core already paired and judged everything)."""
    return _Builder(list(events)).run()
