"""Per-recipient and per-transaction summaries, shared by exports and ``smtpdbg run``.

Each recipient of each transaction ends in one of
:data:`~smtpdbg.core.export.dialogue.OUTCOMES`, with the reply that decided
it and where in the dialogue it was decided (RCPT, DATA, after the message).
"""

from __future__ import annotations

from smtpdbg.core.export.dialogue import Dialogue, Recipient, Transaction


def decided_at(recipient: Recipient, transaction: Transaction) -> str:
    """Where the recipient's outcome was decided: ``RCPT``, ``DATA``, ``end of data`` or ``-``."""
    if not recipient.accepted_at_rcpt:
        return "RCPT"
    if transaction.final:
        return "end of data"
    if transaction.data_code is not None and transaction.data_code != 354:
        return "DATA"
    return "-"


def recipient_line(recipient: Recipient, transaction: Transaction) -> str:
    where = decided_at(recipient, transaction)
    if recipient.outcome == "not sent":
        return f"<{recipient.address}>: not sent (RCPT {recipient.code}; the transaction ended before the message was accepted)"
    reply = f"{recipient.final_code} {recipient.final_text}".strip()
    return f"<{recipient.address}>: {recipient.outcome} at {where}: {reply}"


def summary_lines(dialogue: Dialogue) -> list[str]:
    """One line per transaction and one per recipient (empty when no MAIL was accepted)."""
    lines = []
    for transaction in dialogue.transactions:
        sender = f"<{transaction.mail_from}>" if transaction.mail_from is not None else "(no MAIL FROM accepted)"
        counts = {}
        for recipient in transaction.recipients:
            counts[recipient.outcome] = counts.get(recipient.outcome, 0) + 1
        tally = ", ".join(f"{n} {outcome}" for outcome, n in counts.items()) or "no recipients"
        lines.append(f"transaction {transaction.index} (connection {transaction.connection}) from {sender}: {tally}")
        for recipient in transaction.recipients:
            lines.append("  " + recipient_line(recipient, transaction))
    return lines


def recipient_records(dialogue: Dialogue) -> list[dict]:
    """The per-recipient summary as plain data (JSONL, diff)."""
    out = []
    for transaction in dialogue.transactions:
        for r in transaction.recipients:
            out.append({"connection": r.connection, "transaction": r.transaction, "address": r.address,
                        "rcpt_code": r.code, "rcpt_text": r.text, "outcome": r.outcome,
                        "final_code": r.final_code, "final_text": r.final_text,
                        "decided_at": decided_at(r, transaction)})
    return out
