"""The dialogue behind a transcript: commands, exchanges, replies, transactions.

Every exporter, the recorder, the differ and the ``run`` summary need more
than a flat list of events: which wire lines a command produced, which reply
answered which line, which recipients were accepted and what finally happened
to each message. :func:`analyze` walks the events once and rebuilds that,
pairing replies with the protocol tracker the session itself uses
(:class:`smtpdbg.core.protocol.ProtocolTracker`), so the answer is the same
whether the bytes came from ``sendmail``, ``raw`` or a pipelined group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from smtpdbg.core.events import Body, CommandEnd, CommandStart, Error, Event, Info, InfoKind, StateChange, Wire
from smtpdbg.core.parser import ParseError, Parsed, parse
from smtpdbg.core.protocol import BODY_FOLLOWED, END_OF_DATA, GREETING, ProtocolTracker
from smtpdbg.core.state import TlsInfo

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")

OUTCOMES = ("accepted", "temporary failure", "permanent failure", "not sent")
"""Per-recipient outcomes: the server took the message for this recipient; it
deferred (4xx) or refused (5xx) it, at RCPT, at DATA or after the final dot;
or the transaction ended before the message was sent."""


def enhanced_code(text: str) -> str | None:
    """The RFC 3463 enhanced status code at the start of a reply text, if any."""
    match = _ENHANCED.match(text)
    return match.group(0) if match else None


def outcome_of(code: int | None) -> str:
    """``accepted``, ``temporary failure`` or ``permanent failure`` for a reply code."""
    if code is not None and 200 <= code < 300:
        return "accepted"
    if code is not None and 400 <= code < 500:
        return "temporary failure"
    return "permanent failure"


def path_of(argument: str, keyword: str) -> str:
    """The address in ``FROM:<a@b> SIZE=1`` / ``TO:<c@d>`` (tolerating odd spacing)."""
    if argument.upper().startswith(keyword):
        argument = argument[len(keyword):].lstrip()
    if argument.startswith("<"):
        end = argument.find(">")
        return argument[1:end] if end >= 0 else argument[1:]
    return argument.split(" ", 1)[0]


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

    @property
    def enhanced(self) -> str | None:
        return enhanced_code(self.text)

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
class Recipient:
    """One RCPT TO of a transaction and what finally happened to the message for it."""

    address: str
    code: int
    text: str
    final_code: int | None = None
    final_text: str = ""
    outcome: str = "not sent"
    connection: int = 0
    transaction: int = 0

    @property
    def accepted_at_rcpt(self) -> bool:
        return 200 <= self.code < 300


@dataclass
class Transaction:
    """MAIL FROM, its recipients, DATA and the reply (or LMTP replies) after the final dot."""

    index: int
    connection: int
    mail_from: str | None
    mail_code: int | None = None
    recipients: list[Recipient] = field(default_factory=list)
    data_code: int | None = None
    data_text: str = ""
    final: list[tuple[int, str]] = field(default_factory=list)
    lmtp: bool = False
    body: Body | None = None
    """The message as sent (dot-stuffed), when it went out with ``data``/``sendmail``."""

    @property
    def final_code(self) -> int | None:
        return self.final[-1][0] if self.final else None

    def settle(self) -> None:
        """Work out each recipient's outcome from RCPT, DATA and the final reply(ies)."""
        accepted = [r for r in self.recipients if r.accepted_at_rcpt]
        for recipient in self.recipients:
            if not recipient.accepted_at_rcpt:
                recipient.final_code, recipient.final_text = recipient.code, recipient.text
                recipient.outcome = outcome_of(recipient.code)
                continue
            result: tuple[int, str] | None = None
            if self.final:
                if self.lmtp:
                    index = accepted.index(recipient)
                    result = self.final[index] if index < len(self.final) else None
                else:
                    result = self.final[-1]
            elif self.data_code is not None and self.data_code != 354:
                result = (self.data_code, self.data_text)
            if result is None:
                recipient.final_code, recipient.final_text, recipient.outcome = None, "", "not sent"
            else:
                recipient.final_code, recipient.final_text = result
                recipient.outcome = outcome_of(result[0])


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

    @property
    def recipients(self) -> list[Recipient]:
        return [r for t in self.transactions for r in t.recipients]

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
        self.transactions: list[Transaction] = []
        self.reply_of: dict[int, Reply] = {}
        self.tracker = ProtocolTracker()
        self.span: Span | None = None
        self.pending_lines: list[Wire] = []
        self.auth_active = False
        self.partial_send = b""
        """The start of a command line recorded without its line ending."""
        self.data_sent = False
        """A DATA line went out and nothing has come back (nor another command started) since."""
        self.blind_body = False
        """Lines that followed DATA in the same write: its body, sent before the 354."""
        self.connecting = ""
        self.sent_at: list[float] = []
        """Monotonic time of each command line still waiting for its reply (FIFO like the tracker)."""
        self.transaction: Transaction | None = None

    # -- the walk --------------------------------------------------------------------------
    def run(self) -> Dialogue:
        for event in self.events:
            if isinstance(event, StateChange):
                continue
            if isinstance(event, CommandStart):
                self.data_sent = self.blind_body = False
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
                self._send(event) if event.is_send else self._receive(event)
            elif isinstance(event, Body):
                self._body(event)
            elif isinstance(event, Info):
                self._info(event)
        for transaction in self.transactions:
            transaction.settle()
        first = self.events[0] if self.events else None
        return Dialogue(self.events, self.spans, self.replies, self.connections, self.transactions, self.reply_of,
                        first.mono if first else 0.0, first.wall if first else 0.0)

    def _exchange(self, *, sending: bool) -> Exchange:
        exchanges = self.span.exchanges
        if not exchanges or (sending and exchanges[-1].replies):
            exchanges.append(Exchange())
        return exchanges[-1]

    # -- connections ------------------------------------------------------------------------
    def _info(self, event: Info) -> None:
        if event.kind is InfoKind.CONNECTING:
            match = _CONNECTING.match(event.text)
            self.connecting = match.group(1) if match else ""
        elif event.kind is InfoKind.CONNECTED:
            self.tracker = ProtocolTracker()
            self.tracker.on_connect()
            self.auth_active = False
            self.partial_send = b""
            self.sent_at = [event.mono]
            self.pending_lines = []
            self.transaction = None
            self.connections.append(Connection(len(self.connections) + 1, self.connecting, event.peer, event.local))
        elif event.kind is InfoKind.TLS and event.tls_info is not None:
            if event.tls_info.implicit:
                self.tracker.on_implicit_tls()
            else:
                self.tracker.on_tls()
                self.transaction = None
            if self.connections:
                self.connections[-1].tls.append(event.tls_info)
        elif event.kind is InfoKind.CLOSED:
            self.tracker.on_close()
            self.sent_at = []
            self.pending_lines = []
            self.transaction = None
            if self.connections:
                self.connections[-1].closed = event.text

    # -- traffic ------------------------------------------------------------------------------
    def _send(self, event: Wire) -> None:
        self._exchange(sending=True).sends.append(event)
        tracker = self.tracker
        if self.data_sent and not event.pipelined and tracker.pending and tracker.pending[-1][0] == "DATA":
            tracker.pending[-1] = ("DATA", BODY_FOLLOWED)  # as the live tracker saw it (traced._record_lines)
            self.blind_body = True
        self.data_sent = False
        if tracker.in_data or self.blind_body:
            if event.data in (b".\r\n", b".\n"):
                tracker.on_body_sent()
                self.sent_at += [event.mono] * tracker.expected_data_replies
                self.blind_body = False
            return
        data = self.partial_send + event.data
        if not data.endswith(b"\n"):  # a piece of a line (raw --no-crlf): the server sees it with the rest
            self.partial_send = data[:1024]
            return
        self.partial_send = b""
        verb = data.split(None, 1)[0].upper() if data.strip() else b""
        # The recorder masks every AUTH response (and "*" cancels): an unmasked line after AUTH is a
        # command pipelined behind its initial response (RFC 4954 §4).
        if self.auth_active and verb != b"AUTH" and (event.redacted or data.strip() == b"*"):
            tracker.on_send(data, auth_continuation=True)
        else:
            tracker.on_send(data)
            self.auth_active = verb == b"AUTH"
        if verb == b"LHLO":
            tracker.lmtp = True
        self.data_sent = data.rstrip(b"\r\n").upper() == b"DATA"
        self.sent_at.append(event.mono)

    def _body(self, event: Body) -> None:
        exchange = self._exchange(sending=True)
        if exchange.body is not None or exchange.sends:
            exchange = Exchange()
            self.span.exchanges.append(exchange)
        exchange.body = event
        if self.transaction is not None:
            self.transaction.body = event
        self.tracker.on_body_sent()
        self.sent_at += [event.mono] * self.tracker.expected_data_replies

    def _receive(self, event: Wire) -> None:
        self.data_sent = False
        self.pending_lines.append(event)
        data = event.data
        valid = len(data) >= 3 and data[:3].isdigit()
        if valid and data[3:4] == b"-":
            return
        lines, self.pending_lines = self.pending_lines, []
        code = int(data[:3]) if valid else -1
        texts = [line.data[4:].strip(b" \t\r\n").decode("utf-8", "replace") for line in lines]
        text = "\n".join(texts)
        pending_before = len(self.tracker.pending)
        pairing = self.tracker.on_reply(code, text)
        latency = None
        if pending_before and self.sent_at:
            latency = max(0.0, lines[0].mono - self.sent_at.pop(0))
        reply = Reply(code, lines, text, pairing.command, pairing.argument, pairing.unsolicited, latency)
        self.replies.append(reply)
        self.reply_of[lines[-1].seq] = reply
        self._exchange(sending=False).replies.append(reply)
        self._paired(reply)

    def _paired(self, reply: Reply) -> None:
        verb, code = reply.answers, reply.code
        connection = self.connections[-1] if self.connections else None
        if verb in ("AUTH", "<auth response>") and code != 334:
            self.auth_active = False
        if connection is None:
            return
        if verb == GREETING:
            connection.banner = reply
        elif verb in ("EHLO", "LHLO") and 200 <= code < 300:
            connection.extensions.append(reply.extensions())
        elif verb == "MAIL":
            if 200 <= code < 300:
                self._new_transaction(path_of(reply.argument, "FROM:"), code)
        elif verb == "RCPT":
            if self.transaction is None:
                self._new_transaction(None, None)
            self.transaction.recipients.append(
                Recipient(path_of(reply.argument, "TO:"), code, reply.first_line, connection=connection.index,
                          transaction=self.transaction.index))
        elif verb == "DATA" and self.transaction is not None:
            self.transaction.data_code, self.transaction.data_text = code, reply.first_line
        elif verb == END_OF_DATA and self.transaction is not None:
            self.transaction.final.append((code, reply.first_line))
            if not any(v == END_OF_DATA for v, _ in self.tracker.pending):
                self.transaction = None
        elif verb == "BDAT" and self.transaction is not None and " LAST" in f" {reply.argument.upper()}":
            self.transaction.final.append((code, reply.first_line))
            self.transaction = None
        elif verb in ("RSET", "EHLO", "HELO", "LHLO", "QUIT") and 200 <= code < 300:
            self.transaction = None

    def _new_transaction(self, mail_from: str | None, code: int | None) -> None:
        connection = self.connections[-1].index if self.connections else 0
        self.transaction = Transaction(len(self.transactions) + 1, connection, mail_from, code, lmtp=self.tracker.lmtp)
        self.transactions.append(self.transaction)


def analyze(events: list[Event]) -> Dialogue:
    """Rebuild commands, exchanges, replies, connections and transactions from events."""
    return _Builder(list(events)).run()
