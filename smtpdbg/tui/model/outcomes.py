"""The words and row kinds for what the core decided: a reply's verdict, an exchange without a reply, a recipient's fate.

The core pairs and judges every reply (:class:`~smtpdbg.core.events.Reply`:
``reply_class`` and ``verdict``), says which exchanges got no reply
(:class:`~smtpdbg.core.events.Unanswered`) and decides each recipient's fate
in the ledger (:class:`~smtpdbg.core.events.LedgerChange`). This module only
says how the app shows those decisions; it never looks at a code's digits or
at wire text.
"""

from __future__ import annotations

from smtpdbg.core.events import Reply, Unanswered
from smtpdbg.core.ledger import Recipient
from smtpdbg.core.protocol import AUTH_RESPONSE, BODY_FOLLOWED, END_OF_DATA, GREETING
from smtpdbg.core.render import safe_text
from smtpdbg.core.verdict import UNKNOWN_WARNING, Fate, ReplyClass, Verdict
from smtpdbg.tui.model import kinds as K

_BY_CLASS = {ReplyClass.POSITIVE: K.RECV2, ReplyClass.INTERMEDIATE: K.RECV3, ReplyClass.TRANSIENT: K.RECV4,
             ReplyClass.PERMANENT: K.RECV5, ReplyClass.VIOLATION: K.RECV_BAD}
_BY_FATE = {Fate.ACCEPTED: K.FATE_OK, Fate.TEMPORARY: K.FATE_TEMPORARY, Fate.PERMANENT: K.FATE_PERMANENT,
            Fate.UNKNOWN: K.FATE_UNKNOWN, Fate.NOT_SENT: K.FATE_NOT_SENT}


def reply_kind(reply: Reply) -> int:
    """The row kind of a reply's lines: its class, or a violation when the core judged it one (DATA answered 250,
    an unsolicited reply, a code outside 200-599)."""
    if reply.verdict is Verdict.VIOLATION:
        return K.RECV_BAD
    return _BY_CLASS[reply.reply_class]


def unanswered_text(event: Unanswered) -> str:
    """``no reply to DATA: connection lost`` (terminal-safe)."""
    command, argument = event.command, event.argument
    if command == GREETING:
        what = "no greeting"
    elif command == END_OF_DATA:
        what = "no reply after the message (its final dot)"
    elif command == AUTH_RESPONSE:
        what = "no reply to the AUTH response"
    else:
        shown = f" {argument}" if argument and argument != BODY_FOLLOWED and command != "AUTH" else ""
        what = f"no reply to {command}{shown}"
    return safe_text(f"{what}: {event.cause}")


def fate_lines(recipient: Recipient) -> list[tuple[int, str]]:
    """(kind, text): one compact line for a recipient whose fate was decided (two when unknown: the duplicate warning).

    ``bob@x: accepted at end of data (250 2.0.0)``, ``carol@x: temporary failure at end of data (LMTP): 452 4.2.2``,
    ``dave@x: unknown after end of data: no reply …`` then ``the message may have been delivered: …``.
    """
    address = recipient.address or "(empty address)"
    fate = recipient.fate
    if fate is Fate.UNKNOWN:
        why = f": {recipient.why}" if recipient.why else ""
        return [(K.FATE_UNKNOWN, safe_text(f"{address}: unknown after {recipient.decided_at or 'end of data'}{why}")),
                (K.FATE_WARNING, UNKNOWN_WARNING)]
    if fate is Fate.NOT_SENT:
        return [(K.FATE_NOT_SENT, safe_text(f"{address}: not sent" + (f" ({recipient.why})" if recipient.why else "")))]
    where = recipient.decided_at
    code = f"{recipient.code} {recipient.enhanced or ''}".rstrip() if recipient.code is not None else ""
    if code:
        code = f": {code}" if where.endswith(")") else f" ({code})"
    return [(_BY_FATE.get(fate, K.FATE_NOT_SENT), safe_text(f"{address}: {fate.value} at {where}{code}"))]


__all__ = ["fate_lines", "reply_kind", "unanswered_text"]
