"""The exchange model: every command paired with its replies, judged, and the state that follows.

Every command line sent and every reply received passes through the
:class:`ProtocolTracker`, however it was produced (a high-level call,
``docmd``, ``raw``, a pipelined group, the EHLO smtplib sends by itself).
Each command line becomes an *exchange* with an id; replies are paired with
exchanges first in, first out (RFC 2920 §3.1), classified once
(:func:`smtpdbg.core.verdict.classify_reply`), judged in the context of the
command they answer, and recorded as :class:`~smtpdbg.core.events.Reply`
events. The tracker also keeps the per-transaction ledger
(:mod:`smtpdbg.core.ledger`) and the protocol stage, which follow the
*server's* replies, never the commands typed. Lines that break a protocol
rule are flagged when they go on the wire (:mod:`smtpdbg.core.rules`).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from smtpdbg.core.events import Info, InfoKind, LedgerChange, Unanswered
from smtpdbg.core.ledger import LedgerBook
from smtpdbg.core.judging import ReplyJudge
from smtpdbg.core.rules import path_of, violation_of  # noqa: F401 - part of this module's API
from smtpdbg.core.stages import AUTH_RESPONSE, BODY_FOLLOWED, END_OF_DATA, GREETING, Stage, valid_next
from smtpdbg.core.verdict import Fate, Verdict


@dataclass(slots=True)
class Pending:
    """An exchange still waiting for its reply."""

    id: int
    verb: str
    argument: str
    stage: Stage
    sent: float
    recipient: str = ""
    auth: tuple[str | None, str] | None = None
    """For AUTH: the user and mechanism, recorded as authenticated only on 235."""


def _verb_and_argument(line: bytes) -> tuple[str, str]:
    text = line.rstrip(b"\r\n").decode("utf-8", "replace")
    verb, _, argument = text.strip(" \t").partition(" ")
    return verb.upper(), argument


class ProtocolTracker(ReplyJudge):
    """Follows one connection's dialogue: exchanges, verdicts, the ledger and the stage.

    Args:
        transcript: where the :class:`Reply`, :class:`Unanswered`, :class:`LedgerChange`
            and rule-warning events go (anything with ``add(cls, **fields)`` and
            ``next_number(kind)``); ``None`` records nothing (unit tests).
    """

    def __init__(self, lmtp: bool = False, transcript=None) -> None:
        self.lmtp = lmtp
        self.transcript = transcript
        self.ledger = LedgerBook(self._ledger_changed, self._number)
        self.connection = 0
        self._reset_connection()
        self.last_transaction = None
        self.deliveries = 0

    def _reset_connection(self) -> None:
        self.pending: deque[Pending] = deque()
        self.lost_during = ""
        """The exchange that was waiting when the connection ended (an error message names it); "" once a line
        goes out again."""
        self.connected = False
        self.greeted = False
        self.identified = False
        self.esmtp = False
        """The client is identified by EHLO/LHLO (not HELO): ESMTP commands and AUTH are allowed."""
        self.tls = False
        self.authenticated = False
        self.auth_user: str | None = None
        self.auth_mechanism: str | None = None
        self.smtputf8 = False
        """The transaction's MAIL carried SMTPUTF8 (RFC 6531): non-ASCII recipients may follow."""
        self.in_data = False
        self.binarymime = False
        """The transaction's MAIL carried BODY=BINARYMIME: only BDAT may send it (RFC 3030 §3)."""
        self.bdat_used = False
        """BDAT was used in this transaction: DATA is not allowed any more (RFC 3030 §2)."""
        self.prdr_stage = 0
        """PRDR after the final dot: 0 no; 1 waiting for 353; 2 per-recipient replies and the final one."""
        self.closing = False
        """The server said 421 (or answered QUIT): the connection is ending (RFC 5321 §3.8)."""
        self.closing_reason = ""
        self._auth_open: Pending | None = None
        self.features: dict[str, str] = {}
        """The keywords of the last positive EHLO/LHLO (upper case)."""

    # -- numbering and events --------------------------------------------------------------
    def _number(self, kind: str) -> int:
        transcript = self.transcript
        if transcript is not None and hasattr(transcript, "next_number"):
            return transcript.next_number(kind)
        counters = self.__dict__.setdefault("_counters", {})
        counters[kind] = counters.get(kind, 0) + 1
        return counters[kind]

    def _emit(self, cls, **fields):
        if self.transcript is not None:
            return self.transcript.add(cls, **fields)
        return None

    def _ledger_changed(self, transaction, decided: tuple[int, ...]) -> None:
        if transaction.closed:
            self.last_transaction = transaction
            if any(r.fate is Fate.ACCEPTED for r in transaction.recipients):
                self.deliveries += 1
        self._emit(LedgerChange, transaction=transaction, decided=decided)

    def warn(self, text: str, *, rule: str = "", exchange: int = 0) -> None:
        self._emit(Info, kind=InfoKind.WARNING, text=text, rule=rule, exchange=exchange)

    # -- connection events -------------------------------------------------------------------
    def on_connect(self) -> None:
        self._close_pending("connection lost")
        self._reset_connection()
        self.connection = self._number("connection")
        self.connected = True
        self._expect(GREETING, "", time.monotonic())

    def on_close(self, cause: str = "connection lost") -> None:
        """The connection is gone: every exchange still waiting is unanswered."""
        self._close_pending(cause)
        self.connected = False
        self.in_data = False

    def _close_pending(self, cause: str) -> None:
        body_waiting = any(p.verb == END_OF_DATA or (p.verb == "BDAT" and " LAST" in f" {p.argument.upper()}")
                           for p in self.pending)
        self.lost_during = self.pending[0].verb if self.pending else ""
        for pending in self.pending:
            self._emit(Unanswered, exchange=pending.id, command=pending.verb, argument=pending.argument,
                       stage=pending.stage.value, connection=self.connection, cause=cause)
        self.pending.clear()
        if self.ledger.current is not None:
            if body_waiting:
                self.ledger.body_sent()
            self.ledger.close(unknown_why=f"no reply after the message was sent ({cause})",
                              not_sent_why=f"the connection ended before the message was sent ({cause})")

    def on_tls(self) -> None:
        """STARTTLS completed: RFC 3207 §4.2, forget what was learnt before it."""
        self.tls = True
        self.identified = self.esmtp = False
        self.authenticated = False
        self.auth_user = None
        self.auth_mechanism = None
        self.features = {}
        self._end_transaction("STARTTLS reset the session (RFC 3207 §4.2)")

    def on_implicit_tls(self) -> None:
        self.tls = True

    # -- traffic -----------------------------------------------------------------------------
    def _expect(self, verb: str, argument: str, sent: float, **extra) -> Pending:
        # the reply after the final dot answers the message: it belongs to the DATA stage
        stage = Stage.DATA if verb == END_OF_DATA else self.stage
        pending = Pending(self._number("exchange"), verb, argument, stage, sent, **extra)
        self.pending.append(pending)
        return pending

    def on_send(self, line: bytes, auth_continuation: bool = False, body_follows: bool = False,
                redacted: bool = False) -> int:
        """A command line went out (not a message text line). Returns its exchange id.

        Args:
            auth_continuation: the line answers a 334 (an AUTH response, masked).
            body_follows: a DATA whose body went out in the same write (``raw DATA\\r\\n...\\r\\n.``).
            redacted: the line carried a secret (masked in the transcript): its argument is not kept.
        """
        now = time.monotonic()
        self.lost_during = ""
        if auth_continuation:
            return self._expect(AUTH_RESPONSE, "", now).id
        verb, argument = _verb_and_argument(line)
        if redacted and verb != "AUTH":  # an AUTH hidden behind a bare CR: the argument holds the secret
            argument = "********"
        from smtpdbg.core.rules import check

        for rule, text in check(self, verb, argument):
            self.warn(f"out of order (sent anyway): {text}", rule=rule)
        if body_follows:
            argument = BODY_FOLLOWED
        if verb == "AUTH":
            parts = argument.split()
            pending = self._expect(verb, parts[0].upper() if parts else "", now)
            self._auth_open = pending
            return pending.id
        if verb == "BDAT":
            self.bdat_used = True
            self.ledger.started("BDAT")
            if " LAST" in f" {argument.upper()}":
                self.ledger.body_sent()
                if self.lmtp:  # RFC 2033 + RFC 3030: one reply per accepted recipient
                    return self._expect_final(now, verb=verb, argument=argument)
        return self._expect(verb, argument, now).id

    def _expect_final(self, now: float, *, verb: str = END_OF_DATA, argument: str = "") -> int:
        recipients = [r.address for r in self.ledger.pending()] if self.lmtp else [""]
        first = 0
        for address in recipients or [""]:
            pending = self._expect(verb, argument, now, recipient=address)
            first = first or pending.id
        return first

    def on_body_sent(self) -> None:
        """The message text and its final dot went out: one reply (SMTP), one per accepted recipient (LMTP),
        or with PRDR a 353 first."""
        self.in_data = False
        self.ledger.started("DATA")
        self.ledger.body_sent()
        current = self.ledger.current
        self.prdr_stage = 1 if current is not None and current.prdr and "PRDR" in self.features else 0
        self._expect_final(time.monotonic())

    @property
    def expected_data_replies(self) -> int:
        """How many replies the final dot gets (LMTP: one per accepted recipient)."""
        if not self.lmtp:
            return 1
        return max(1, len(self.ledger.pending()))

    @property
    def awaiting_final(self) -> bool:
        """Replies to the end of the message are still owed (LMTP per-recipient, PRDR)."""
        return any(p.verb == END_OF_DATA for p in self.pending)

    def note_auth(self, user: str | None, mechanism: str) -> None:
        """The AUTH exchange's identity, recorded as authenticated only if the server says 235."""
        if self._auth_open is not None:
            self._auth_open.auth = (user, mechanism)


    def _end_transaction(self, why: str) -> None:
        self.in_data = False
        self.smtputf8 = self.binarymime = False
        self.bdat_used = False
        self.prdr_stage = 0
        self.ledger.abandon(why)

    # -- views ------------------------------------------------------------------------------
    @property
    def mail_from(self) -> str | None:
        current = self.ledger.current
        return current.mail_from if current is not None and current.mail_accepted else None

    @property
    def recipients(self):
        current = self.ledger.current
        return current.recipients if current is not None else ()

    @property
    def transaction(self):
        return self.ledger.current

    @property
    def stage(self) -> Stage:
        if not self.connected:
            return Stage.DISCONNECTED
        if not self.greeted:
            return Stage.CONNECTED
        if self.in_data:
            return Stage.DATA
        if any(r.accepted_at_rcpt for r in self.recipients):
            return Stage.RCPT
        if self.mail_from is not None:
            return Stage.MAIL
        if not self.identified:
            return Stage.TLS if self.tls else Stage.GREETED
        if self.authenticated:
            return Stage.AUTHENTICATED
        return Stage.IDENTIFIED


__all__ = ["AUTH_RESPONSE", "BODY_FOLLOWED", "END_OF_DATA", "GREETING", "Pending", "ProtocolTracker", "Stage",
           "Verdict", "path_of", "valid_next", "violation_of"]

