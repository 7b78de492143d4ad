"""The per-transaction ledger: the envelope, and each recipient's fate and where it was decided.

The protocol tracker (:mod:`smtpdbg.core.protocol`) keeps one
:class:`LedgerBook` per session and emits an immutable :class:`Transaction`
snapshot on a :class:`~smtpdbg.core.events.LedgerChange` event each time a
fate is decided. Summaries, exports, ``diff``, the inspector and lessons read
those snapshots; none of them works a fate out for itself.

Where a fate is decided: ``RCPT`` (refused there), ``end of data`` (the
reply after the final dot; one per recipient for LMTP and PRDR; or its
absence: unknown), ``BDAT`` (a chunk refused: RFC 3030 §2, the transaction is
over), ``BDAT LAST``, or ``DATA``. A DATA refused (4xx/5xx) does not end the
transaction (RFC 5321 §3.3: only the end of a message, RSET or a new session
does; the server still holds the envelope): the refusal is recorded on the
transaction (:attr:`Transaction.data_refused`) and its recipients stay pending,
so a later DATA or BDAT LAST that succeeds delivers to them. If the
transaction ends without another message, the last refusal decides them
(``decided_at`` ``DATA``, its code and exchange). A DATA answered 250 (a
violation: no message follows) decides them at once as not sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from smtpdbg.core.verdict import (UNKNOWN_WARNING, Fate, ReplyClass, classify_reply, code_text, enhanced_code,
                                  fate_of, first_line, temporary_in_context)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One RCPT TO and its fate."""

    address: str
    rcpt_code: int
    rcpt_text: str
    fate: Fate
    decided_at: str = ""
    """``RCPT``, ``DATA``, ``end of data``, ``BDAT``, ``BDAT LAST``, ``connection``; empty while pending."""
    code: int | None = None
    """The code of the reply that decided the fate (the RCPT reply when refused there)."""
    text: str = ""
    exchange: int = 0
    """The exchange whose reply decided it."""
    why: str = ""
    """For ``unknown`` and ``not sent``: what happened instead of a verdict."""

    @property
    def accepted_at_rcpt(self) -> bool:
        return classify_reply(self.rcpt_code) is ReplyClass.POSITIVE

    @property
    def accepted(self) -> bool:
        """Accepted at RCPT (the message may still fail for it later)."""
        return self.accepted_at_rcpt

    @property
    def enhanced(self) -> str | None:
        return enhanced_code(self._said, self.code)

    @property
    def _said(self) -> str:
        """The line of the deciding reply shown with its code: the first, unless its enhanced code is of another
        class (a reply whose code changed inside it: the code is the last line's)."""
        first = first_line(self.text)
        return self.text.split("\n")[-1] if enhanced_code(first) and not enhanced_code(first, self.code) else first

    @property
    def reply(self) -> str:
        """``554 5.7.1 text`` of the deciding reply (code kept beside the enhanced code)."""
        if self.code is None:
            return ""
        return f"{code_text(self.code)} {self._said}".rstrip()

    def line(self) -> str:
        """One line for summaries: ``<a@b>: accepted at end of data: 250 2.0.0 queued``."""
        if self.fate is Fate.PENDING:
            return f"<{self.address}>: accepted at RCPT ({self.rcpt_code}); the message has not been sent"
        if self.fate is Fate.NOT_SENT:
            return f"<{self.address}>: not sent (RCPT {self.rcpt_code}; {self.why or 'the transaction ended before the message was sent'})"
        if self.fate is Fate.UNKNOWN and self.decided_at == "RCPT":  # no message was sent yet
            return f"<{self.address}>: unknown at RCPT: {self.why}: {self.reply}"
        if self.fate is Fate.UNKNOWN:
            return f"<{self.address}>: unknown after {self.decided_at or 'end of data'}: {self.why}; {UNKNOWN_WARNING}"
        line = f"<{self.address}>: {self.fate.value} at {self.decided_at}: {self.reply}"
        return f"{line} ({self.why})" if self.why else line


@dataclass(frozen=True, slots=True)
class Transaction:
    """MAIL FROM, its recipients, the message, and how it ended."""

    index: int
    """Numbered across the whole session, from 1."""
    connection: int
    mail_from: str | None
    """``None`` when no MAIL FROM was accepted (RCPT sent outside a transaction)."""
    mail_code: int | None = None
    mail_text: str = ""
    recipients: tuple[Recipient, ...] = ()
    method: str = ""
    """``DATA`` or ``BDAT`` once the message started."""
    body_sent: bool = False
    """The final dot (or BDAT LAST) went out."""
    final: tuple[tuple[int, str], ...] = ()
    """The replies after the final dot / to BDAT LAST (LMTP and PRDR: one per recipient)."""
    closed: bool = False
    """Nothing more can change."""
    lmtp: bool = False
    prdr: bool = False
    data_refused: tuple[tuple[int, str, int], ...] = ()
    """``(code, text, exchange)`` of each DATA refused while recipients were accepted (the transaction went on)."""

    @property
    def mail_accepted(self) -> bool:
        return self.mail_code is not None and classify_reply(self.mail_code) is ReplyClass.POSITIVE

    @property
    def status(self) -> str:
        """``open``, ``delivered``, ``partly delivered``, ``failed``, ``unknown`` or ``abandoned``."""
        fates = {r.fate for r in self.recipients}
        if not self.closed:
            return "open"
        if self.mail_code is not None and not self.mail_accepted:
            return "refused at MAIL"
        if Fate.UNKNOWN in fates:
            return "unknown"
        if fates == {Fate.ACCEPTED}:
            return "delivered"
        if Fate.ACCEPTED in fates:
            return "partly delivered"
        if not self.body_sent and (Fate.NOT_SENT in fates or not self.recipients) and not self.method:
            return "abandoned"
        return "failed"

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for recipient in self.recipients:
            out[recipient.fate.value] = out.get(recipient.fate.value, 0) + 1
        return out

    def summary(self) -> str:
        sender = f"<{self.mail_from}>" if self.mail_from is not None else "(no MAIL FROM accepted)"
        if self.mail_code is not None and not self.mail_accepted:
            said = f"{code_text(self.mail_code)} {first_line(self.mail_text)}".rstrip()
            broken = classify_reply(self.mail_code) is ReplyClass.VIOLATION
            sender = f"<{self.mail_from}> " + (f"not accepted at MAIL ({said}: not a valid SMTP reply)" if broken
                                                else f"refused at MAIL ({said})")
        tally = ", ".join(f"{n} {fate}" for fate, n in self.counts().items()) or "no recipients"
        return f"transaction {self.index} (connection {self.connection}) from {sender}: {tally}"

    def lines(self) -> list[str]:
        lines = [self.summary()] + ["  " + r.line() for r in self.recipients]
        if self.data_refused and not self.closed:
            code, text, _ = self.data_refused[-1]
            lines.append(f"  DATA refused ({code_text(code)} {first_line(text)}".rstrip() + "): the server keeps "
                         "the transaction; another DATA or BDAT may still deliver it, RSET or QUIT ends it undelivered")
        return lines


class LedgerBook:
    """The mutable side of the ledger, driven by the protocol tracker."""

    def __init__(self, emit, number) -> None:
        self._emit = emit
        self._number = number
        """Gives the next transaction number (numbered across the session's connections)."""
        self.current: Transaction | None = None

    def _publish(self, transaction: Transaction, decided: tuple[int, ...] = ()) -> Transaction:
        self.current = None if transaction.closed else transaction
        self._emit(transaction, decided)
        return transaction

    @staticmethod
    def _newly_decided(before: Transaction, after: tuple[Recipient, ...]) -> tuple[int, ...]:
        return tuple(i for i, (old, new) in enumerate(zip(before.recipients, after)) if old.fate is not new.fate)

    def open(self, connection: int, mail_from: str | None, code: int | None, text: str, *, lmtp: bool,
             prdr: bool) -> None:
        current = self.current
        if current is not None and current.mail_accepted and classify_reply(code) is not ReplyClass.POSITIVE:
            # A MAIL refused inside a transaction (503 nested MAIL, RFC 5321 §4.1.4) leaves that transaction
            # as it was: the server still holds its recipients, and a DATA now delivers to them.
            refused = Transaction(self._number("transaction"), connection, mail_from, code, text, lmtp=lmtp, closed=True)
            self._emit(refused, ())
            return
        self.abandon("a new MAIL FROM started another transaction")
        self._publish(Transaction(self._number("transaction"), connection, mail_from, code, text, lmtp=lmtp, prdr=prdr))

    def ensure(self, connection: int, *, lmtp: bool) -> Transaction:
        if self.current is None:
            self.current = Transaction(self._number("transaction"), connection, None, lmtp=lmtp)
        return self.current

    def add_recipient(self, connection: int, address: str, code: int, text: str, exchange: int, *, lmtp: bool,
                      fate: Fate | None = None, why: str = "") -> None:
        """A RCPT reply: the recipient waits for the message, or its fate is decided now (``fate``: judged so)."""
        current = self.current
        if code == 503 and (current is None or not current.mail_accepted):
            return  # "need MAIL": no transaction, and the recipient was never judged (the exchange says the 503)
        transaction = self.ensure(connection, lmtp=lmtp)
        reply_class = classify_reply(code)
        if fate is not None:
            recipient = Recipient(address, code, text, fate, "RCPT", code, text, exchange, why)
        elif reply_class is ReplyClass.POSITIVE:
            recipient = Recipient(address, code, text, Fate.PENDING, exchange=exchange)
        else:
            fate = fate_of(reply_class)
            why = "the RCPT reply was not a valid SMTP reply" if fate is Fate.UNKNOWN else ""
            treated = temporary_in_context("RCPT", code)
            if treated:
                fate, why = Fate.TEMPORARY, treated
            recipient = Recipient(address, code, text, fate, "RCPT", code, text, exchange, why)
        decided = () if recipient.fate is Fate.PENDING else (len(transaction.recipients),)
        self._publish(replace(transaction, recipients=transaction.recipients + (recipient,)), decided)

    def pending(self) -> list[Recipient]:
        current = self.current
        return [r for r in current.recipients if r.fate is Fate.PENDING] if current else []

    def started(self, method: str) -> None:
        if self.current is not None and not self.current.method:
            self.current = replace(self.current, method=method)

    def refused_at_data(self, code: int, text: str, exchange: int) -> None:
        """DATA refused while recipients wait: recorded, and the transaction goes on (see the module's docstring)."""
        current = self.current
        if current is not None:
            self._publish(replace(current, data_refused=current.data_refused + ((code, text, exchange),)))

    def no_message(self) -> None:
        """DATA or BDAT refused while no recipient was waiting (503 need RCPT): no message was taken,
        and the transaction goes on (the server still holds MAIL FROM; a RCPT now joins it)."""
        if self.current is not None:
            self.current = replace(self.current, method="", body_sent=False)

    def body_sent(self) -> None:
        if self.current is not None:
            self.current = replace(self.current, body_sent=True)

    def decide_all(self, code: int, text: str, where: str, exchange: int, *, close: bool = True,
                   fate: Fate | None = None, why: str = "") -> None:
        """One reply decides every pending recipient (SMTP end of data, DATA or a BDAT chunk refused)."""
        current = self.current
        if current is None:
            return
        new_fate = fate or fate_of(classify_reply(code))
        if new_fate is Fate.UNKNOWN and not why:
            why = f"the reply {code if code >= 0 else '(no code)'} is not a valid SMTP reply"
        recipients = tuple(
            replace(r, fate=new_fate, decided_at=where, code=code, text=text, exchange=exchange, why=why)
            if r.fate is Fate.PENDING else r for r in current.recipients)
        final = current.final + ((code, text),) if where in ("end of data", "BDAT LAST") else current.final
        self._publish(replace(current, recipients=recipients, final=final, closed=close),
                      self._newly_decided(current, recipients))

    def decide_one(self, code: int, text: str, exchange: int, *, where: str = "end of data", fate: Fate | None = None,
                   why: str = "") -> bool:
        """A per-recipient reply (LMTP, PRDR) decides the first pending recipient. Returns whether one was."""
        current = self.current
        if current is None:
            return False
        fate = fate or fate_of(classify_reply(code))
        why = why or ("the reply was not a valid SMTP reply" if fate is Fate.UNKNOWN else "")
        for index, recipient in enumerate(current.recipients):
            if recipient.fate is Fate.PENDING:
                updated = replace(recipient, fate=fate, decided_at=where, code=code, text=text, exchange=exchange, why=why)
                recipients = current.recipients[:index] + (updated,) + current.recipients[index + 1:]
                self._publish(replace(current, recipients=recipients, final=current.final + ((code, text),)), (index,))
                return True
        return False

    def close(self, *, unknown_why: str = "", not_sent_why: str = "") -> None:
        """End the current transaction; pending recipients become unknown (body sent) or not sent."""
        current = self.current
        if current is None:
            return
        if current.body_sent:
            fate, why, where = Fate.UNKNOWN, unknown_why or "no reply came after the message was sent", "end of data"
        else:
            fate, why, where = Fate.NOT_SENT, not_sent_why or "the transaction ended before the message was sent", ""
        refusal = {}
        if current.data_refused and not current.body_sent:  # not delivered: the message was refused at DATA
            code, text, exchange = current.data_refused[-1]
            fate, where = fate_of(classify_reply(code)), "DATA"
            refusal = {"code": code, "text": text, "exchange": exchange}
            why = f"the message was refused at DATA, and then {why}"
        recipients = tuple(replace(r, fate=fate, decided_at=where, why=why, **refusal) if r.fate is Fate.PENDING else r
                           for r in current.recipients)
        self._publish(replace(current, recipients=recipients, closed=True), self._newly_decided(current, recipients))

    def abandon(self, why: str) -> None:
        """A command reset the transaction (RSET, EHLO, a new MAIL, STARTTLS, XCLIENT, QUIT)."""
        self.close(not_sent_why=why, unknown_why=why)
