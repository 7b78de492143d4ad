"""The transcript's row store: compact, append-only, UI-free.

Every transcript event becomes one or more *rows*: a kind byte, a display
string (already made terminal-safe), and a wall-clock time, kept in parallel
arrays so a million rows fit in about 100 MB and appending a batch is a few
list/array extends. Sparse side tables hold what few rows need (AUTH notes,
command latencies, large DATA bodies kept collapsed). The widget in
:mod:`smtpdbg.tui.widgets.transcript` renders only the rows on screen.

What a row says comes from the core's decisions, never from the wire text: a
received line takes the kind of the :class:`~smtpdbg.core.events.Reply` it
belongs to (its class, or a violation as the core judged it), an exchange
without a reply is said from its :class:`~smtpdbg.core.events.Unanswered`
event, each recipient whose fate the ledger decided gets a compact line, and a
protocol-rule warning is known by its ``rule`` field.
"""

from __future__ import annotations

import textwrap
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Iterable

from smtpdbg.core.catalog import explain_enhanced, explain_exchange, explain_reply, parse_enhanced
from smtpdbg.core.describe import annotate_reply
from smtpdbg.core.ledger import Transaction
from smtpdbg.core.events import (Body, CommandEnd, CommandStart, Direction, Error, Event, Info, InfoKind, LedgerChange,
                                 Reply, StateChange, Unanswered, Wire)
from smtpdbg.core.render import body_summary, error_text, human_size, safe_text
from smtpdbg.core.state import SessionState
from smtpdbg.core.wire import Limits
from smtpdbg.core.verdict import UNKNOWN_WARNING, Fate, ReplyClass, classify_reply, code_text, first_line
from smtpdbg.tui.model.kinds import *  # noqa: F403 - the row kinds (and marker, FILTERS) are part of this interface
from smtpdbg.tui.model.outcomes import fate_lines, reply_kind, unanswered_text
from smtpdbg.tui.model.stages import tally

MAX_REPLY_LINES = Limits().max_reply_lines
"""The core cuts a reply at this many lines: older lines still waiting for a verdict will never get one."""
UNJUDGED_LIMIT = 2 * MAX_REPLY_LINES

INLINE_BODY_LINES = 20
"""A DATA body with more lines than this is collapsed to one summary row."""

_SEND = Direction.SEND
_INFO_KINDS = {InfoKind.TLS: TLSINFO, InfoKind.WARNING: WARN, InfoKind.DEBUG: DEBUG}


@dataclass(frozen=True, slots=True)
class Notice:
    """Something worth a notification (a failed command, an error event)."""

    title: str
    message: str
    severity: str = "error"


@dataclass(slots=True)
class Ingested:
    """What one batch of events changed."""

    added: int = 0
    """Rows appended."""
    changed: list[int] = field(default_factory=list)
    """Existing rows whose decoration changed (command latency, a reply's lines judged)."""
    rejudged: bool = False
    """Rows appended in an earlier batch changed kind (a reply completed later): filtered views must be rebuilt."""
    notices: list[Notice] = field(default_factory=list)
    state: SessionState | None = None
    """The last state snapshot in the batch."""
    timeline: list[Reply | Unanswered | LedgerChange | SessionState] = field(default_factory=list)
    """The core's replies, unanswered exchanges, ledger changes and state snapshots, in the order they happened
    (the stage strip follows them)."""


EXPLAIN_WIDTH = 72
"""Explanations are wrapped to this width so they fit an 80-column transcript."""


def explain_failure(code: int | None, text: str, reply=None) -> list[str]:
    """Plain-words explanation lines for a failed reply, wrapped.

    Args:
        code: the reply code; text: the reply's text (its enhanced code is read from it).
        reply: the core's :class:`~smtpdbg.core.events.Reply` event for the failed reply: the explanation is
            then the one for where it came (the command it answers and the stage), from
            :func:`smtpdbg.core.catalog.explain_exchange`. Without it, the code alone is explained.
    """
    if reply is not None:
        from smtpdbg.core.catalog import explain_exchange

        lines = [line.strip() for line in explain_exchange(reply).lines()]
    else:
        lines = _explain(code, text)
    return [part for line in lines
            for part in textwrap.wrap(line, EXPLAIN_WIDTH, subsequent_indent="  ", break_on_hyphens=False)]


def _explain(code: int | None, text: str) -> list[str]:
    lines = []
    if code is not None:
        info = explain_reply(code)
        if info is not None:
            lines.append(f"{code} {info.text}: {info.meaning}")
    enhanced = parse_enhanced(text) if text else None
    if enhanced:
        detail = explain_enhanced(enhanced)
        if detail is not None:
            lines.append(f"{enhanced} {detail.detail}: {detail.meaning}")
            lines.append(f"next: {detail.client_action}")
    elif code is not None:
        info = explain_reply(code)
        if info is not None:
            lines.append(f"next: {info.client_action}")
    return lines


class RowStore:
    """All rows of a transcript, oldest first."""

    def __init__(self) -> None:
        self.kinds = bytearray()
        """One kind byte per row."""
        self.texts: list[str] = []
        """The terminal-safe text of each row, without its marker."""
        self.walls = array("d")
        """``time.time()`` of each row's event."""
        self.notes: dict[int, str] = {}
        """Decoded meaning shown beside a row (AUTH payloads, the smtplib call of a command)."""
        self.bodies: dict[int, Body] = {}
        """Collapsed DATA bodies by their summary row."""
        self.latency: dict[int, tuple[float, bool, int | None]] = {}
        self.tallies: dict[int, tuple[str, str]] = {}
        """Command rows whose message reached several recipients: the ledger's tally (``2/3 ✓``, style)
        shown instead of a single reply code (an LMTP DATA with 250, 452, 250 is not just "✗ 452")."""
        self._decided: Transaction | None = None
        """Command rows' (elapsed seconds, ok, reply code), once the command ended."""
        self.commands = array("I")
        """Rows that start a command (ascending): the boundaries of exchanges."""
        self.width = 0
        """Widest row text seen, in characters (for horizontal scrolling)."""
        self._command_rows: dict[int, int] = {}
        """Command id to its row, until the command ends."""
        self._error_explained = False
        """The running command's failure was already explained and notified (its Error event had a reply code)."""
        self.replies: dict[int, Reply] = {}
        """The core's Reply event of each reply, under the row of its last line (the meaning panel reads it)."""
        self._failed: Reply | None = None
        """The running command's last reply the core judged failed (its failure is explained in context)."""
        self.violations: dict[int, str] = {}
        """Rows of a reply the core judged a protocol violation: why (with the RFC section)."""
        self._unjudged: list[tuple[int, int]] = []
        """(seq, row) of received lines whose reply is not complete yet (their kind is :data:`RECV` until it is)."""
        self._violations: set[int] = set()
        """Exchanges whose reply the core judged a protocol violation (its rule warning is the server's, not ours)."""

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def unjudged(self) -> int:
        """Received lines still waiting for the verdict on their reply."""
        return len(self._unjudged)

    # -- appending -------------------------------------------------------------------------------
    def add(self, kind: int, text: str, wall: float = 0.0, note: str = "") -> int:
        row = len(self.texts)
        self.kinds.append(kind)
        self.texts.append(text)
        self.walls.append(wall)
        width = len(text)
        if note:
            self.notes[row] = note
            width += len(note) + 4
        if kind == COMMAND:
            width += 20  # verdict and latency
        if width > self.width:
            self.width = width
        return row

    def extend(self, kinds: bytes, texts: list[str], walls: Iterable[float]) -> None:
        """Append many plain rows at once (the fast path for bulk loads)."""
        self.kinds += kinds
        self.texts += texts
        self.walls.extend(walls)
        if texts:
            self.width = max(self.width, max(map(len, texts)))

    def ingest(self, events: Iterable[Event]) -> Ingested:
        """Turn a batch of events into rows (wire lines take an inlined fast path)."""
        result = Ingested()
        before = len(self.texts)
        add = self.add
        texts = self.texts
        kinds_append, texts_append, walls_append = self.kinds.append, texts.append, self.walls.append
        unjudged = self._unjudged  # replaced only by _judge (a Reply): taken again after any other event
        width = self.width
        for event in events:
            kind = type(event)
            if kind is Wire:
                data = event.data
                if data[-2:] == b"\r\n":
                    line = data[:-2]
                elif data[-1:] == b"\n":
                    line = data[:-1]
                else:
                    line = data
                try:  # the common case: printable ASCII, no escaping needed
                    text = line.decode("ascii")
                    if not text.isprintable():
                        text = safe_text(line)
                except UnicodeDecodeError:
                    text = safe_text(line)
                if event.direction is _SEND:
                    row_kind = SEND | TLS if event.tls else SEND
                else:  # judged when its Reply arrives
                    row_kind = RECV | TLS if event.tls else RECV
                    unjudged.append((event.seq, len(texts)))
                    if len(unjudged) > UNJUDGED_LIMIT:  # lines no Reply followed (a transcript without them)
                        del unjudged[:-MAX_REPLY_LINES]
                if event.redacted or event.note or line is data:
                    if event.redacted:
                        row_kind |= MASKED
                    add(row_kind, text, event.wall, safe_text(event.note) if event.note else
                        ("(no line ending)" if line is data else ""))
                    width = self.width
                    continue
                kinds_append(row_kind)
                texts_append(text)
                walls_append(event.wall)
                if len(text) > width:
                    width = self.width = len(text)
                continue
            if kind is Reply:

                self._judge(event, before, result)
                result.timeline.append(event)
            elif kind is LedgerChange:
                self._ledger(event, result)
                result.timeline.append(event)
            elif kind is Unanswered:
                add(NO_REPLY, unanswered_text(event), event.wall)
                result.timeline.append(event)
            elif kind is StateChange:
                result.state = event.state
                result.timeline.append(event.state)
            elif kind is CommandStart:
                self._error_explained, self._failed, self._decided = False, None, None
                row = add(COMMAND, safe_text(event.text), event.wall, event.call)
                self.commands.append(row)
                self._command_rows[event.command_id] = row
            elif kind is CommandEnd:
                self._command_end(event, result)
            elif kind is Body:
                self._body(event)
            elif kind is Info:
                text = safe_text(event.text)
                if event.rule and event.exchange in self._violations:  # the server broke the rule: its reply
                    add(WARN, text, event.wall)
                elif event.rule:  # what the client sent breaks a protocol rule (sent anyway)
                    add(RULE, text, event.wall)
                    result.notices.append(Notice(f"Breaks {safe_text(event.rule)} (sent anyway)", text, "warning"))
                else:
                    add(_INFO_KINDS.get(event.kind, INFO), text, event.wall)
            elif kind is Error:
                add(ERROR, error_text(event), event.wall)
                if event.category != "parse":
                    for line in explain_failure(event.code, event.message, reply=self._reply_for(event.code)) \
                            if event.code else ():
                        add(EXPLAIN, line, event.wall)
                    self._error_explained = bool(event.code)
                    result.notices.append(Notice(f"Error: {event.category.replace('-', ' ')}", safe_text(event.message)))
            width, unjudged = self.width, self._unjudged
        result.added = len(self.texts) - before
        return result

    def _command_end(self, event: CommandEnd, result: Ingested) -> None:
        row = self._command_rows.pop(event.command_id, None)
        if row is not None:
            self.latency[row] = (event.elapsed, event.ok, event.code)
            decided = self._decided
            if decided is not None and len(decided.recipients) > 1:
                self.tallies[row] = tally(decided)
            result.changed.append(row)
        explained, self._error_explained = self._error_explained, False
        failed = self._reply_for(event.code)  # in context when the core saw the failed reply, else by its code
        # a failed reply is explained where it came; one without a code (a violation) only with the core's Reply
        if not event.ok and event.code is not None and not explained and (
                event.category.startswith("reply-") or failed is not None):
            for line in explain_failure(event.code, event.reply, reply=failed):
                self.add(EXPLAIN, line, event.wall)
            text = safe_text(first_line(event.reply))
            reply = f"{event.code} {text}".rstrip() if event.code >= 0 else text
            meaning = (explain_exchange(failed).summary() if failed is not None else annotate_reply(reply)).partition(" → ")[2]
            result.notices.append(Notice(f"{event.text.split(' ', 1)[0]} failed", reply + (f"\n→ {meaning}" if meaning else ""),
                                         "warning" if classify_reply(event.code) is ReplyClass.TRANSIENT else "error"))

    def _reply_for(self, code: int | None) -> Reply | None:
        """The failed reply a command's failure with ``code`` reports (explained where it came), if the core saw it."""
        failed = self._failed
        return failed if failed is not None and failed.code == code else None

    def _judge(self, reply: Reply, batch_start: int, result: Ingested) -> None:
        """A reply is complete: its lines take the kind of the core's verdict on it."""
        unjudged, self._unjudged = self._unjudged, []
        kind = reply_kind(reply)
        if reply.violation:
            self._violations.add(reply.exchange)
        if reply.verdict.failed and not reply.unsolicited:
            self._failed = reply
        kinds = self.kinds
        last = -1
        for seq, row in unjudged:
            if seq < reply.first_seq:
                continue  # a fragment of a reply that never completed: it stays unjudged
            last = row
            kinds[row] = (kinds[row] & ~KIND) | kind
            if reply.violation:
                self.violations[row] = reply.violation
            if row < batch_start:
                result.changed.append(row)
                result.rejudged = True
        if last >= 0:
            self.replies[last] = reply

    def _ledger(self, change: LedgerChange, result: Ingested) -> None:
        """A compact line per recipient whose fate this change decided (a refusal at RCPT is its reply's line)."""
        recipients = change.transaction.recipients
        unknown = []
        if self._decided is not None and self._decided.index == change.transaction.index:
            self._decided = change.transaction  # later news of the same message (it closed)
        for index in change.decided:
            if not 0 <= index < len(recipients) or recipients[index].decided_at == "RCPT":
                continue
            self._decided = change.transaction  # the message's outcome was decided by this command
            recipient = recipients[index]
            for kind, line in fate_lines(recipient):
                self.add(kind, line, change.wall)
            if recipient.fate is Fate.UNKNOWN:
                unknown.append(safe_text(recipient.address))
        if unknown:
            result.notices.append(Notice("Outcome unknown", f"{', '.join(unknown)}: {UNKNOWN_WARNING}", "warning"))

    def _body(self, event: Body) -> None:
        flags = TLS if event.tls else 0
        if event.complete and event.line_count <= INLINE_BODY_LINES:
            for line in event.head:
                self.add(BODY | flags, safe_text(line), event.wall)
        else:
            row = self.add(SUMMARY | flags, body_summary(event), event.wall)
            self.bodies[row] = event

    # -- reading ---------------------------------------------------------------------------------
    def body_lines(self, row: int) -> list[tuple[int, str]]:
        """The rows a collapsed body expands to: (kind, text)."""
        event = self.bodies[row]
        flags = TLS if event.tls else 0
        lines = [(BODY | flags, safe_text(line)) for line in event.head]
        if event.omitted:
            lines.append((OMITTED, f"[... {event.omitted:,} lines not kept by the transcript "
                                   f"({human_size(event.size)} sent in all) ...]"))
        lines += [(BODY | flags, safe_text(line)) for line in event.tail]
        return lines

    def plain(self, row: int) -> str:
        """A row as plain text (marker, text, a command's verdict, note), for copying."""
        kind = self.kinds[row]
        text = marker(kind) + self.texts[row]
        latency = self.latency.get(row)
        if latency is not None:
            _, ok, code = latency
            text += "  " + self.verdict(row)
        note = self.notes.get(row)
        if note:
            text += f"  # {note}"
        return text

    def verdict(self, row: int) -> str:
        """A command row's verdict: ``✓ 250``, ``✗ 550``, or for a message to several recipients the tally."""
        shown = self.tallies.get(row)
        if shown is not None:
            return f"◐ {shown[0]}" if shown[1] == "partial" else shown[0]
        _, ok, code = self.latency[row]
        return ("✓" if ok else "✗") + ("" if code is None else f" {code_text(code)}")

    def exchange(self, row: int) -> range:
        """The rows of the command exchange that contains ``row``."""
        commands = self.commands
        index = bisect_right(commands, row) - 1
        start = commands[index] if index >= 0 else 0
        end = commands[index + 1] if index + 1 < len(commands) else len(self.texts)
        return range(start, end)

    def matching(self, allowed: frozenset[int], start: int = 0) -> array:
        """Rows from ``start`` whose kind is in ``allowed``."""
        kinds = self.kinds
        return array("I", [i for i in range(start, len(kinds)) if kinds[i] & KIND in allowed])
