"""Judging each reply in the context of its exchange, and what follows from it.

Part of the protocol tracker (:class:`smtpdbg.core.protocol.ProtocolTracker`):
a whole reply is paired with the oldest exchange still waiting (RFC 2920
§3.1), classified once, judged as an answer to that command (a 250 to DATA is
a violation, a 353 after the final dot is PRDR going on), recorded as a
:class:`~smtpdbg.core.events.Reply` event, and applied: the stage, the AUTH
identity (only on 235), the ledger's fates and a 421's closing follow the
server's replies, never the commands typed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from smtpdbg.core.events import Reply
from smtpdbg.core.rules import keywords_of, masked_keyword, params_of, path_of, violation_of
from smtpdbg.core.stages import AUTH_RESPONSE, BODY_FOLLOWED, END_OF_DATA, GREETING
from smtpdbg.core.verdict import (Fate, ReplyClass, classify_reply, code_change, enhanced_code, first_line,
                                  verdict_for)

if TYPE_CHECKING:
    from smtpdbg.core.protocol import Pending


class ReplyJudge:
    """Reply pairing, judging and its consequences, for :class:`~smtpdbg.core.protocol.ProtocolTracker`."""

    def on_reply(self, code: int, text: str, *, first_seq: int = 0, lines: int = 1, received: float | None = None,
                 late: bool = False, codes: tuple[int, ...] = ()) -> Reply | None:
        """A whole reply arrived: pair it with its exchange, judge it, update state and ledger.

        Args:
            codes: the code of each line (a reply whose code changes inside it is a violation, its outcome unknown).

        Returns:
            The :class:`Reply` event recorded (``None`` without a transcript).
        """
        reply_class = classify_reply(code, codes)
        changed = code_change(codes) if code >= 0 else ""
        received = time.monotonic() if received is None else received
        if changed:
            self.warn(changed, rule="RFC 5321 §4.2.1", exchange=self.pending[0].id if self.pending else 0)
        if not self.pending:
            if code == 421:
                self._closing(text)
            violation = changed or ("" if code == 421 else "unsolicited reply: no command was waiting for it")
            return self._emit(Reply, exchange=0, command="", connection=self.connection, code=code,
                              enhanced=enhanced_code(text, code), text=text, reply_class=reply_class,
                              verdict=verdict_for(code, reply_class, violation), violation=violation,
                              unsolicited=True, first_seq=first_seq, lines=lines)
        pending = self.pending.popleft()
        verb, argument = pending.verb, pending.argument
        violation = changed or violation_of(verb, code, reply_class, prdr_pending=self.prdr_stage == 1)
        verdict = verdict_for(code, reply_class, violation, verb)
        event = self._emit(
            Reply, exchange=pending.id, command=verb, argument=argument, stage=pending.stage.value,
            connection=self.connection, code=code, enhanced=enhanced_code(text, code), text=text, reply_class=reply_class,
            verdict=verdict, violation=violation, recipient=pending.recipient, late=late,
            latency=max(0.0, received - pending.sent), first_seq=first_seq, lines=lines)
        if violation and code >= 0 and not changed:  # a line without a code was flagged as it was read
            self.warn(violation, rule=violation[violation.find("(") + 1:violation.rfind(")")] if "(" in violation else "",
                      exchange=pending.id)
        self._apply(pending, code, text, reply_class, changed)
        return event

    # -- what follows from a reply -----------------------------------------------------------
    def _apply(self, pending: Pending, code: int, text: str, judged: ReplyClass, changed: str = "") -> None:
        verb, argument = pending.verb, pending.argument
        # The state follows the code smtplib acts on (the last line's); a reply whose code changed inside it
        # (``changed``) decides no recipient's fate: what the server meant is unknown.
        reply_class = classify_reply(code) if changed else judged
        doubt = {"fate": Fate.UNKNOWN, "why": changed} if changed else {}
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
                self.features = keywords_of(text) if self.esmtp else {}
                masked = [k for k in self.features if masked_keyword(k)]
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
            params = params_of(argument)
            current = ledger.current
            nested = not positive and current is not None and current.mail_accepted
            ledger.open(self.connection, address, code, text, lmtp=self.lmtp, prdr="PRDR" in params)
            if nested:  # refused inside a transaction: that transaction goes on unchanged
                return
            self.bdat_used = False
            self.smtputf8 = positive and "SMTPUTF8" in params
            self.binarymime = positive and "BODY=BINARYMIME" in params
        elif verb == "RCPT":
            ledger.add_recipient(self.connection, path_of(argument, "TO:"), code, text, pending.id, lmtp=self.lmtp,
                                 **doubt)
        elif verb == "DATA":
            if argument == BODY_FOLLOWED:
                if not (reply_class is ReplyClass.INTERMEDIATE):
                    # the body that followed went out as commands, its end awaits a reply: decided here, as before
                    ledger.decide_all(code, text, "DATA", pending.id, **doubt)
            elif reply_class is ReplyClass.INTERMEDIATE:
                self.in_data = True
                ledger.started("DATA")
            elif reply_class is ReplyClass.POSITIVE:  # a violation: smtplib sends no message after it
                ledger.decide_all(code, text, "DATA", pending.id, fate=Fate.NOT_SENT,
                                  why=f"DATA answered {code} instead of 354, so no message was sent")
            else:
                # A refused DATA leaves the server's state as it was (RFC 5321 §3.3): the recipients stay
                # accepted, and a later DATA or BDAT LAST may deliver to them. With no recipient waiting (503 need
                # RCPT) the server still holds MAIL FROM (RFC 5321 §3.3): a RCPT now joins the transaction.
                if ledger.pending():
                    ledger.refused_at_data(code, text, pending.id)
                else:
                    ledger.no_message()
        elif verb == "BDAT":
            last = " LAST" in f" {argument.upper()}"
            if pending.recipient:  # LMTP: one reply per accepted recipient after BDAT LAST
                ledger.decide_one(code, text, pending.id, where="BDAT LAST (LMTP)", **doubt)
                if not any(p.verb == "BDAT" for p in self.pending):
                    ledger.close()
            elif not positive and not ledger.pending():
                ledger.no_message()  # 503 need RCPT: the server still holds MAIL FROM; the transaction goes on
            elif not positive:
                # RFC 3030 §2: a refused chunk fails the whole transaction.
                ledger.decide_all(code, text, "BDAT LAST" if last else "BDAT", pending.id, **doubt)
            elif last:
                ledger.decide_all(code, text, "BDAT LAST", pending.id, **doubt)
            if last or not positive:
                self.bdat_used = False
        elif verb == END_OF_DATA:
            self._final_reply(pending, code, text, judged, doubt)
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

    def _final_reply(self, pending: Pending, code: int, text: str, reply_class: ReplyClass, doubt: dict) -> None:
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
            ledger.decide_one(code, text, pending.id, where="end of data (PRDR)", **doubt)
            return
        if self.lmtp and pending.recipient:
            ledger.decide_one(code, text, pending.id, where="end of data (LMTP)", **doubt)
            if not self.awaiting_final:
                ledger.close()
            return
        self.prdr_stage = 0
        if reply_class is ReplyClass.INTERMEDIATE or reply_class is ReplyClass.VIOLATION:
            ledger.decide_all(code, text, "end of data", pending.id, fate=Fate.UNKNOWN,
                              why=doubt.get("why") or f"the reply after the message ({code if code >= 0 else 'no code'}) is not a verdict")
        else:
            ledger.decide_all(code, text, "end of data", pending.id)

    def _closing(self, text: str, *, quit_: bool = False) -> None:
        self.closing = True
        self.closing_reason = "QUIT" if quit_ else f"the server sent 421 ({first_line(text) or 'closing'})"
