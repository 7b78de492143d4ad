"""Transcript events: everything a session does, as immutable records.

The core emits these and frontends only render them. Wire events carry the raw
bytes of one line exactly as they crossed the socket (a redacted stand-in for
AUTH secrets, never the secret itself); meta events describe connections, TLS,
commands and errors. Every event has a sequence number, a monotonic timestamp
(for latencies) and a wall-clock timestamp (for display and exports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smtpdbg.core.ledger import Transaction
    from smtpdbg.core.state import SessionState, TlsInfo
    from smtpdbg.core.verdict import ReplyClass, Verdict


class Direction(str, Enum):
    """Which way a wire line travelled."""

    SEND = "send"
    """Client to server."""
    RECV = "recv"
    """Server to client."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every transcript event."""

    seq: int
    """Position in the session's transcript, starting at 1."""
    mono: float
    """`time.monotonic()` when the event happened."""
    wall: float
    """`time.time()` when the event happened."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Wire(Event):
    """One line (or a final fragment without a line ending) on the wire."""

    direction: Direction
    data: bytes
    """The bytes exactly as sent or received, including CR LF. For a redacted
    AUTH line, the part that held the secret is replaced by asterisks."""
    tls: bool = False
    """Whether the line travelled inside TLS."""
    redacted: bool = False
    """True when `data` is a stand-in: the real line carried a secret."""
    note: str = ""
    """A decoded meaning shown beside the line (AUTH payloads, challenges)."""
    pipelined: bool = False
    """Sent as part of a pipelined group (RFC 2920)."""

    @property
    def is_send(self) -> bool:
        return self.direction is Direction.SEND


@dataclass(frozen=True, slots=True, kw_only=True)
class Body(Event):
    """A DATA message body as sent, summarised when it is large.

    Small bodies keep every line in `head`; a large one keeps its first and
    last lines and counts the rest, so a 50 MB message is not held twice.
    """

    size: int
    """Bytes sent for the body, including dot-stuffing and the final dot line."""
    line_count: int
    head: tuple[bytes, ...]
    tail: tuple[bytes, ...] = ()
    omitted: int = 0
    """Lines neither in `head` nor `tail`."""
    tls: bool = False
    stuffed: int = 0
    """How many lines were dot-stuffed (RFC 5321 §4.5.2)."""

    @property
    def complete(self) -> bool:
        return self.omitted == 0


class InfoKind(str, Enum):
    """What an informational event is about."""

    INFO = "info"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    TLS = "tls"
    CLOSED = "closed"
    DEBUG = "debug"
    WARNING = "warning"
    """A protocol violation or suspicious server behaviour that did not stop the command."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Info(Event):
    """Something the session says about itself (connecting, TLS up, closed, ...)."""

    kind: InfoKind
    text: str
    peer: str = ""
    local: str = ""
    tls_info: "TlsInfo | None" = None
    rule: str = ""
    """For a protocol-rule warning: the rule it breaks, e.g. ``RFC 5321 §3.3``."""
    exchange: int = 0
    """The exchange the warning is about (0: none in particular)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Error(Event):
    """A classified failure: what went wrong, in plain words."""

    category: str
    """A stable identifier, e.g. ``timeout``, ``disconnected``, ``tls-verify``, ``reply-5xx``."""
    message: str
    exception: str = ""
    """The exception's class name (``SMTPRecipientsRefused``, ``ssl.SSLCertVerificationError``)."""
    connected: bool = False
    """Whether the connection is still usable after the error."""
    code: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandStart(Event):
    """A command began running on the session thread."""

    command_id: int
    text: str
    """The command as typed (never holds a password: those are not typed)."""
    call: str = ""
    """The equivalent smtplib call, e.g. ``smtp.ehlo('example.com')``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandEnd(Event):
    """A command finished (successfully or not)."""

    command_id: int
    text: str
    ok: bool
    elapsed: float
    code: int | None = None
    reply: str = ""
    category: str = ""
    """Error category when not ok."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply(Event):
    """A whole server reply, paired with the exchange it answers and judged in that context.

    Recorded right after the reply's last :class:`Wire` line. The core decides
    everything here once; frontends, exports and summaries only read it.
    """

    exchange: int
    """Id of the exchange it answers (unique in the session); 0 when nothing was waiting for it."""
    command: str
    """What it answers: a verb (``EHLO``, ``RCPT``) or ``<greeting>``, ``<end of data>``, ``<auth response>``;
    empty when unsolicited."""
    argument: str = ""
    """The command's argument as sent (``TO:<a@b>``); never an AUTH secret."""
    stage: str = ""
    """The protocol stage when the command was sent (a :class:`smtpdbg.core.protocol.Stage` value)."""
    connection: int = 0
    code: int
    """-1 when the reply had no valid code."""
    enhanced: str | None = None
    """The RFC 3463 enhanced status code, when the reply starts with one."""
    text: str = ""
    """The lines' texts joined by newlines, as smtplib returns them."""
    reply_class: "ReplyClass"
    verdict: "Verdict"
    violation: str = ""
    """Why the reply breaks the protocol here (with the RFC section), when it does."""
    recipient: str = ""
    """For a per-recipient reply after the message (LMTP, PRDR): the recipient it decides."""
    unsolicited: bool = False
    late: bool = False
    """It answers a command that had stopped reading (``raw`` read fewer replies than it sent)."""
    latency: float | None = None
    """Seconds from the command line it answers to the reply's first line."""
    first_seq: int = 0
    """Sequence number of the reply's first wire line."""
    lines: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Unanswered(Event):
    """An exchange that got no reply: the connection was lost, it timed out or was aborted."""

    exchange: int
    command: str
    argument: str = ""
    stage: str = ""
    connection: int = 0
    cause: str
    """``connection lost``, ``timed out``, ``aborted``, ``closed by the client``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerChange(Event):
    """A transaction's ledger changed: a recipient's fate was decided, or the transaction ended."""

    transaction: "Transaction" = field(repr=False)
    decided: tuple[int, ...] = ()
    """Indexes (in ``transaction.recipients``) of the recipients whose fate this change decided."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChange(Event):
    """The session state changed; carries the new immutable snapshot."""

    state: "SessionState" = field(repr=False)


__all__ = [
    "Body",
    "CommandEnd",
    "CommandStart",
    "Direction",
    "Error",
    "Event",
    "Info",
    "InfoKind",
    "LedgerChange",
    "Reply",
    "StateChange",
    "Unanswered",
    "Wire",
]
