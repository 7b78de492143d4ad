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
from enum import Enum

from smtpdbg.core.events import Info, InfoKind, LedgerChange, Reply, Unanswered
from smtpdbg.core.ledger import LedgerBook
from smtpdbg.core.verdict import Fate, ReplyClass, Verdict, classify_reply, enhanced_code, verdict_for

GREETING = "<greeting>"
BODY_FOLLOWED = "(the body followed at once, before the 354)"
"""Argument of a DATA sent together with its body in one write: its 354 does not open DATA."""
END_OF_DATA = "<end of data>"
AUTH_RESPONSE = "<auth response>"


class Stage(str, Enum):
    """The protocol stage, in the order a session normally walks through them."""

    DISCONNECTED = "disconnected"
    CONNECTED = "connected"
    """TCP is up, the greeting has not arrived."""
    GREETED = "greeted"
    """The server sent its 220 banner; HELO/EHLO is next."""
    TLS = "tls"
    """STARTTLS succeeded; the client must EHLO again (RFC 3207 §4.2)."""
    IDENTIFIED = "identified"
    AUTHENTICATED = "authenticated"
    MAIL = "mail"
    """MAIL FROM accepted; RCPT TO is next."""
    RCPT = "rcpt"
    """At least one recipient accepted; more RCPT or DATA."""
    DATA = "data"
    """354 received: whatever is sent now is message text, until the final dot."""


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


def path_of(argument: str, keyword: str) -> str:
    """The address in ``FROM:<a@b> SIZE=1`` / ``TO:<c@d>`` (tolerating odd spacing)."""
    if argument.upper().startswith(keyword):
        argument = argument[len(keyword):].lstrip()
    if argument.startswith("<"):
        end = argument.find(">")
        return argument[1:end] if end >= 0 else argument[1:]
    return argument.split(" ", 1)[0]


def _params(argument: str) -> list[str]:
    """ESMTP parameters after the path (upper-cased keywords)."""
    rest = argument.split(">", 1)[1] if ">" in argument else argument.split(" ", 1)[1] if " " in argument else ""
    return [p.upper() for p in rest.split()]


def violation_of(verb: str, code: int, reply_class: ReplyClass, *, prdr_pending: bool = False) -> str:
    """Why a reply breaks the protocol as an answer to ``verb`` (RFC 5321 §4.2, §4.3.2), or ``""``."""
    if reply_class is ReplyClass.VIOLATION:
        shown = "no code" if code < 0 else str(code)
        return f"{shown} is not a valid reply code (RFC 5321 §4.2: three digits, 2xx to 5xx)"
    if verb == GREETING:
        if reply_class in (ReplyClass.POSITIVE, ReplyClass.INTERMEDIATE) and code != 220:
            return f"a greeting must be 220 (or 554/421), not {code} (RFC 5321 §4.3.2)"
        return ""
    if verb == "DATA":
        if reply_class is ReplyClass.POSITIVE:
            return f"DATA answered {code}: RFC 5321 §4.3.2 allows 354 or an error; the message was not sent"
        return ""
    if verb in ("EHLO", "HELO", "LHLO") and code == 220:
        return f"a second greeting (220) answered {verb} (RFC 5321 §4.3.2 expects 250)"
    if reply_class is not ReplyClass.INTERMEDIATE:
        if verb == "STARTTLS" and reply_class is ReplyClass.POSITIVE and code != 220:
            return f"STARTTLS answered {code}: RFC 3207 §4 expects 220 before the TLS handshake"
        return ""
    if verb in ("AUTH", AUTH_RESPONSE) and code == 334:
        return ""
    if verb == END_OF_DATA and code == 353 and prdr_pending:
        return ""
    return f"{code} asks for more input, which {verb} never does (RFC 5321 §4.3.2)"


class ProtocolTracker:
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

    def on_reply(self, code: int, text: str, *, first_seq: int = 0, lines: int = 1, received: float | None = None,
                 late: bool = False) -> Reply | None:
        """A whole reply arrived: pair it with its exchange, judge it, update state and ledger.

        Returns:
            The :class:`Reply` event recorded (``None`` without a transcript).
        """
        reply_class = classify_reply(code)
        received = time.monotonic() if received is None else received
        if not self.pending:
            if code == 421:
                self._closing(text)
            violation = "" if code == 421 else "unsolicited reply: no command was waiting for it"
            return self._emit(Reply, exchange=0, command="", connection=self.connection, code=code,
                              enhanced=enhanced_code(text), text=text, reply_class=reply_class,
                              verdict=verdict_for(code, reply_class, violation), violation=violation,
                              unsolicited=True, first_seq=first_seq, lines=lines)
        pending = self.pending.popleft()
        verb, argument = pending.verb, pending.argument
        violation = violation_of(verb, code, reply_class, prdr_pending=self.prdr_stage == 1)
        verdict = verdict_for(code, reply_class, violation)
        event = self._emit(
            Reply, exchange=pending.id, command=verb, argument=argument, stage=pending.stage.value,
            connection=self.connection, code=code, enhanced=enhanced_code(text), text=text, reply_class=reply_class,
            verdict=verdict, violation=violation, recipient=pending.recipient, late=late,
            latency=max(0.0, received - pending.sent), first_seq=first_seq, lines=lines)
        if violation and code >= 0:  # a line without a code was flagged as it was read
            self.warn(violation, rule=violation[violation.find("(") + 1:violation.rfind(")")] if "(" in violation else "",
                      exchange=pending.id)
        self._apply(pending, code, text, reply_class)
        return event

    # -- what follows from a reply -----------------------------------------------------------
    def _apply(self, pending: Pending, code: int, text: str, reply_class: ReplyClass) -> None:
        verb, argument = pending.verb, pending.argument
        positive = reply_class is ReplyClass.POSITIVE
        ledger = self.ledger
        if code == 421:
            self._closing(text)
        if verb == GREETING:
            self.greeted = code == 220
        elif verb in ("EHLO", "HELO", "LHLO"):
            if positive and code != 220:
                self.identified = True
                self.esmtp = verb != "HELO"
                self.features = _keywords(text) if self.esmtp else {}
                masked = [k for k in self.features if _masked_keyword(k)]
                if masked and "STARTTLS" not in self.features:
                    self.warn(f"the EHLO reply holds {masked[0]!r}: a middlebox may have masked STARTTLS "
                              "(Cisco ESMTP inspection rewrites it to XXXXXXXA), so STARTTLS may have been stripped "
                              "and the session can only continue in plaintext", rule="RFC 3207 §6", exchange=pending.id)
                self._end_transaction(f"{verb} reset the transaction (RFC 5321 §4.1.4)")
        elif verb in ("AUTH", AUTH_RESPONSE):
            auth = self._auth_open
            if code == 235 and auth is not None:
                self.authenticated = True
                self.auth_user, self.auth_mechanism = auth.auth or (None, auth.argument)
            if code != 334:
                self._auth_open = None
        elif verb == "MAIL":
            address = path_of(argument, "FROM:")
            params = _params(argument)
            current = ledger.current
            nested = not positive and current is not None and current.mail_accepted
            ledger.open(self.connection, address, code, text, lmtp=self.lmtp, prdr="PRDR" in params)
            if nested:  # refused inside a transaction: that transaction goes on unchanged
                return
            self.bdat_used = False
            self.smtputf8 = positive and "SMTPUTF8" in params
            self.binarymime = positive and "BODY=BINARYMIME" in params
        elif verb == "RCPT":
            ledger.add_recipient(self.connection, path_of(argument, "TO:"), code, text, pending.id, lmtp=self.lmtp)
        elif verb == "DATA":
            if argument == BODY_FOLLOWED:
                if not (reply_class is ReplyClass.INTERMEDIATE):
                    ledger.decide_all(code, text, "DATA", pending.id)
            elif reply_class is ReplyClass.INTERMEDIATE:
                self.in_data = True
                ledger.started("DATA")
            elif reply_class is ReplyClass.POSITIVE:  # a violation: smtplib sends no message after it
                ledger.decide_all(code, text, "DATA", pending.id, fate=Fate.NOT_SENT,
                                  why=f"DATA answered {code} instead of 354, so no message was sent")
            else:
                # With no recipient waiting (503 need RCPT) the server still holds MAIL FROM (RFC 5321 §3.3):
                # the transaction goes on, and a RCPT now joins it.
                if ledger.pending():
                    ledger.decide_all(code, text, "DATA", pending.id)
                else:
                    ledger.no_message()
        elif verb == "BDAT":
            last = " LAST" in f" {argument.upper()}"
            if pending.recipient:  # LMTP: one reply per accepted recipient after BDAT LAST
                ledger.decide_one(code, text, pending.id, where="BDAT LAST (LMTP)")
                if not any(p.verb == "BDAT" for p in self.pending):
                    ledger.close()
            elif not positive and not ledger.pending():
                ledger.no_message()  # 503 need RCPT: the server still holds MAIL FROM; the transaction goes on
            elif not positive:
                # RFC 3030 §2: a refused chunk fails the whole transaction.
                ledger.decide_all(code, text, "BDAT LAST" if last else "BDAT", pending.id)
            elif last:
                ledger.decide_all(code, text, "BDAT LAST", pending.id)
            if last or not positive:
                self.bdat_used = False
        elif verb == END_OF_DATA:
            self._final_reply(pending, code, text, reply_class)
        elif verb == "RSET":
            if positive:
                self._end_transaction("RSET ended the transaction")
        elif verb == "XCLIENT":
            if code == 220:  # Postfix: a new greeting; the session starts over
                self.identified = self.esmtp = False
                self.authenticated = False
                self.features = {}
                self._end_transaction("XCLIENT restarted the session")
        elif verb == "QUIT":
            self._closing(text, quit_=True)
            self._end_transaction("QUIT ended the session")

    def _final_reply(self, pending: Pending, code: int, text: str, reply_class: ReplyClass) -> None:
        ledger = self.ledger
        if self.prdr_stage == 1:
            if code == 353:  # draft-hall-prdr: one reply per accepted recipient follows, then the message's
                self.prdr_stage = 2
                now = time.monotonic()
                for recipient in ledger.pending():
                    self._expect(END_OF_DATA, "", now, recipient=recipient.address)
                self._expect(END_OF_DATA, "", now)
                return
            self.prdr_stage = 0  # the server declined PRDR: this reply speaks for every recipient
        if self.prdr_stage == 2 and pending.recipient:
            ledger.decide_one(code, text, pending.id, where="end of data (PRDR)")
            return
        if self.lmtp and pending.recipient:
            ledger.decide_one(code, text, pending.id, where="end of data (LMTP)")
            if not self.awaiting_final:
                ledger.close()
            return
        self.prdr_stage = 0
        if reply_class is ReplyClass.INTERMEDIATE or reply_class is ReplyClass.VIOLATION:
            ledger.decide_all(code, text, "end of data", pending.id, fate=Fate.UNKNOWN,
                              why=f"the reply after the message ({code if code >= 0 else 'no code'}) is not a verdict")
        else:
            ledger.decide_all(code, text, "end of data", pending.id)

    def _closing(self, text: str, *, quit_: bool = False) -> None:
        self.closing = True
        self.closing_reason = "QUIT" if quit_ else f"the server sent 421 ({text.splitlines()[0] if text else 'closing'})"

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


def _masked_keyword(keyword: str) -> bool:
    """A keyword of X's with a letter or two left (``XXXXXXXA``, ``XXXA``): a middlebox's masking."""
    return len(keyword) >= 4 and keyword.count("X") >= len(keyword) - 2 and keyword != "XCLIENT"


def _keywords(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.split("\n")[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            found[keyword.upper()] = params.strip()
    return found


_ALWAYS = ("noop", "rset", "quit", "help", "verify", "vrfy", "expn", "docmd", "raw", "drain", "close")
_NEXT: dict[Stage, tuple[str, ...]] = {
    Stage.DISCONNECTED: ("connect", "reconnect"),
    Stage.CONNECTED: ("drain", "close", "reconnect"),
    Stage.GREETED: ("ehlo", "helo", "ehlo_or_helo_if_needed", "quit"),
    Stage.TLS: ("ehlo", "helo", "ehlo_or_helo_if_needed"),
    Stage.IDENTIFIED: ("starttls", "login", "auth", "mail", "sendmail", "send_message", "verify", "expn", "noop", "rset", "quit"),
    Stage.AUTHENTICATED: ("mail", "sendmail", "send_message", "noop", "rset", "quit"),
    Stage.MAIL: ("rcpt", "rset", "noop"),
    Stage.RCPT: ("rcpt", "data", "rset", "noop"),
    Stage.DATA: ("data",),
}


def valid_next(stage: Stage, tls: bool = False, authenticated: bool = False) -> tuple[str, ...]:
    """Commands that fit the protocol stage, most natural first (RFC 5321 §4.1.4)."""
    commands = list(_NEXT[stage])
    if stage is Stage.IDENTIFIED:
        if tls:
            commands.remove("starttls")
        if authenticated:
            for verb in ("login", "auth"):
                commands.remove(verb)
    if stage not in (Stage.DISCONNECTED, Stage.CONNECTED, Stage.DATA):
        commands += [c for c in _ALWAYS if c not in commands]
    return tuple(commands)


__all__ = ["AUTH_RESPONSE", "BODY_FOLLOWED", "END_OF_DATA", "GREETING", "Pending", "ProtocolTracker", "Stage",
           "Verdict", "path_of", "valid_next", "violation_of"]
