"""The stage strip's model: where the session is in the protocol, read from the core.

connected → greeted → EHLO → TLS → EHLO again → AUTH → MAIL → RCPT → DATA → done.
The position comes from the core's :class:`~smtpdbg.core.state.SessionState`
(its ``stage``, ``tls``, ``connected``); what each stage took and whether it
was refused comes from the core's :class:`~smtpdbg.core.events.Reply` events
(the command a reply answers, its verdict and latency), however the command
was typed (``mail``, ``docmd MAIL``, ``raw RCPT``, a pipeline, ``sendmail``);
the message's outcome per recipient (``DATA 2/3 ✓``) comes from the ledger
(:class:`~smtpdbg.core.events.LedgerChange`). Nothing here looks at a typed
command, a code's digits or the wire. :class:`StageTrack` is fed by the row
store's timeline; :class:`smtpdbg.tui.widgets.stages.StageStrip` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpdbg.core.events import LedgerChange, Reply, Unanswered
from smtpdbg.core.ledger import Transaction
from smtpdbg.core.protocol import AUTH_RESPONSE, END_OF_DATA, GREETING, Stage
from smtpdbg.core.state import SessionState
from smtpdbg.core.verdict import Fate, ReplyClass, Verdict

CONNECTED, GREETED, EHLO, TLS, EHLO_AGAIN, AUTH, MAIL, RCPT, DATA, DONE = range(10)
LABELS = ("connected", "greeted", "EHLO", "TLS", "EHLO again", "AUTH", "MAIL", "RCPT", "DATA", "done")
"""Full stage names, in protocol order."""
SHORT = ("conn", "greet", "EHLO", "TLS", "EHLO²", "AUTH", "MAIL", "RCPT", "DATA", "done")
"""Abbreviations for narrow terminals."""
TINY = ("c", "g", "E", "T", "E²", "A", "M", "R", "D", "✓")
"""Last resort: one or two characters a stage."""

_POSITION = {Stage.DISCONNECTED: -1, Stage.CONNECTED: CONNECTED, Stage.GREETED: GREETED, Stage.TLS: TLS,
             Stage.AUTHENTICATED: AUTH, Stage.MAIL: MAIL, Stage.RCPT: RCPT, Stage.DATA: DATA}
_STAGE_OF_REPLY = {GREETING: GREETED, "STARTTLS": TLS, "AUTH": AUTH, AUTH_RESPONSE: AUTH, "MAIL": MAIL, "RCPT": RCPT,
                   "DATA": DATA, END_OF_DATA: DATA, "BDAT": DATA}
"""The stage a reply to this command reaches (EHLO/HELO/LHLO depend on TLS; see :meth:`StageTrack._stage_of`)."""
_IDENTIFY = ("EHLO", "HELO", "LHLO")
_TALLY = {"delivered": "done", "partly delivered": "partial", "failed": "failed", "unknown": "unknown"}
"""A sent message's ledger status to the style of its tally on the strip."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One stage as drawn."""

    index: int
    status: str
    """``done``, ``current``, ``todo``, ``skipped`` or ``failed``."""
    latency: float | None = None
    """Seconds the reply that reached it took."""
    code: int | None = None
    """The refusing reply code, for a failed stage (None: no reply or no valid code)."""
    tally: str = ""
    """For DATA once the message was sent: recipients accepted out of the envelope's, e.g. ``2/3 ✓``."""
    tally_status: str = ""
    """``done`` (all accepted), ``partial``, ``failed``, ``unknown`` or ``todo`` (replies still owed)."""


def tally(transaction: Transaction) -> tuple[str, str]:
    """``("2/3 ✓", "partial")``: how many of the transaction's recipients the message reached, and its style."""
    recipients = transaction.recipients
    accepted = sum(1 for r in recipients if r.fate is Fate.ACCEPTED)
    total = len(recipients)
    if any(r.fate is Fate.UNKNOWN for r in recipients):
        return f"?/{total} unknown", "unknown"
    if not transaction.closed:
        return f"{accepted}/{total} …", "todo"
    status = _TALLY.get(transaction.status, "failed")
    return f"{accepted}/{total} {'✓' if accepted else '✗'}", status


class StageTrack:
    """Where the session is in the state machine, how long each step took and how the message ended."""

    def __init__(self) -> None:
        self.state = SessionState()
        """The latest snapshot."""
        self.latency: dict[int, float] = {}
        """Stage index to the latency of the reply that reached it."""
        self.failed: tuple[int, int | None] | None = None
        """The stage of the last refused (or unanswered) command and its code, until a later reply reaches a stage."""
        self.reset = ""
        """What last wiped the transaction stages (``RSET``), shown until the next MAIL."""
        self.message: Transaction | None = None
        """The ledger of the last transaction whose message was sent, until the next MAIL or connection."""
        self.last_position = -1
        """The position before the connection closed (the strip keeps it, dimmed)."""
        self.implicit_tls = False
        """The connection (the last one, once closed) had implicit TLS from the start (SMTPS)."""
        self.was_authenticated = False
        """The connection (the last one, once closed) was authenticated (the closed strip keeps the path walked)."""

    @property
    def delivered(self) -> bool:
        """The last message reached at least one recipient (``done`` is lit until the next MAIL)."""
        message = self.message
        return message is not None and message.closed and any(r.fate is Fate.ACCEPTED for r in message.recipients)

    def follow(self, timeline) -> None:
        """Apply replies, unanswered exchanges, ledger changes and state snapshots, in the order they happened."""
        for item in timeline:
            if isinstance(item, SessionState):
                if item.connected:
                    self.last_position = self._position(item)
                    self.implicit_tls = item.tls is not None and item.tls.implicit
                    self.was_authenticated = item.authenticated
                self.state = item
            elif isinstance(item, Reply):
                self._reply(item)
            elif isinstance(item, LedgerChange):
                if item.transaction.body_sent:
                    self.message = item.transaction
            elif isinstance(item, Unanswered):
                stage = self._stage_of(item.command)
                if stage is not None:
                    self.failed = (stage, None)

    def _stage_of(self, command: str) -> int | None:
        if command in _IDENTIFY:
            tls = self.state.tls
            return EHLO_AGAIN if tls is not None and not tls.implicit else EHLO
        return _STAGE_OF_REPLY.get(command)

    def _reply(self, reply: Reply) -> None:
        if reply.unsolicited:
            return
        ok = reply.verdict is Verdict.OK
        if reply.command == "RSET" and ok:
            self._clear(MAIL)
            self.reset, self.failed = "RSET", None
            return
        stage = self._stage_of(reply.command)
        if stage is None:
            return
        if reply.recipient:  # LMTP/PRDR: one reply per recipient; the ledger's tally says how the message ended
            if reply.latency is not None:
                self.latency[stage] = reply.latency
            return
        if stage == MAIL:
            self.message = None  # a new transaction, whatever its MAIL got
        if not ok:
            self.failed = (stage, reply.code if reply.reply_class is not ReplyClass.VIOLATION else None)
            return
        if reply.reply_class is ReplyClass.INTERMEDIATE and stage == AUTH:
            return  # 334: the exchange goes on; 235 reaches AUTH
        if stage == GREETED:
            self._clear(CONNECTED)
            self.last_position = -1
        elif stage in (TLS, MAIL):
            self._clear(stage)
        self.failed = None
        if reply.latency is not None:
            self.latency[stage] = reply.latency

    def _clear(self, first: int) -> None:
        """Forget the stages from ``first`` on (a new connection, STARTTLS, MAIL or RSET starts them over)."""
        for stage in range(first, DONE + 1):
            self.latency.pop(stage, None)
        self.message = None
        self.reset = ""

    def _position(self, state: SessionState) -> int:
        if state.stage is Stage.IDENTIFIED:
            if self.delivered:
                return DONE
            return EHLO_AGAIN if state.tls is not None and not state.tls.implicit else EHLO
        if state.stage is Stage.AUTHENTICATED and self.delivered:
            return DONE
        if state.stage is Stage.TLS and state.tls is not None and state.tls.implicit:
            return GREETED  # SMTPS: TLS came before the greeting; EHLO is next, not done
        return _POSITION[state.stage]

    def segments(self) -> list[Segment]:
        """Every stage with its status, for drawing."""
        state = self.state
        closed = not state.connected
        position = self.last_position if closed else self._position(state)
        implicit = state.tls.implicit if state.tls is not None else closed and self.implicit_tls
        skipped = {AUTH} if not (state.authenticated or closed and self.was_authenticated) else set()
        if state.tls is None or implicit:
            skipped |= {EHLO_AGAIN} if implicit else {TLS, EHLO_AGAIN}
        message = self.message
        out = []
        for index in range(DONE + 1):
            if implicit and index == TLS and position >= GREETED:
                status = "done"  # implicit TLS (SMTPS) is up before the greeting
            elif implicit and index == EHLO_AGAIN:
                status = "skipped"
            elif index < position:
                status = "skipped" if index in skipped else "done"
            elif index == position:
                status = "done" if closed else "current"
            else:
                status = "todo"
            code, mark, mark_status = None, "", ""
            if index == DATA and message is not None:
                mark, mark_status = tally(message)
                if mark_status in ("failed", "unknown"):
                    status = "failed"
                elif status == "todo":
                    status = "done"
            elif self.failed is not None and self.failed[0] == index and not closed:
                status, code = "failed", self.failed[1]
            out.append(Segment(index, status, self.latency.get(index) if status != "todo" else None, code, mark,
                               mark_status))
        return out


__all__ = ["DATA", "DONE", "LABELS", "SHORT", "Segment", "StageTrack", "TINY", "tally"]
