"""Per-recipient and per-transaction summaries, shared by exports, ``diff`` and ``smtpdbg run``.

They are renderings of the core's ledger (:mod:`smtpdbg.core.ledger`): each
recipient's fate and where it was decided come from there, never worked out
again here.
"""

from __future__ import annotations

from smtpdbg.core.export.dialogue import Dialogue


def summary_lines(dialogue: Dialogue) -> list[str]:
    """One line per transaction and one per recipient (empty when there was no transaction)."""
    return [line for transaction in dialogue.transactions for line in transaction.lines()]


def recipient_records(dialogue: Dialogue) -> list[dict]:
    """The per-recipient ledger as plain data (JSONL, diff)."""
    out = []
    for transaction in dialogue.transactions:
        for r in transaction.recipients:
            out.append({"connection": transaction.connection, "transaction": transaction.index, "address": r.address,
                        "rcpt_code": r.rcpt_code, "rcpt_text": r.rcpt_text, "outcome": r.fate.value,
                        "final_code": r.code, "final_text": r.text, "decided_at": r.decided_at or "-",
                        "why": r.why, "exchange": r.exchange})
    return out


def transaction_records(dialogue: Dialogue) -> list[dict]:
    """Each transaction's envelope and ending as plain data (JSONL)."""
    return [{"index": t.index, "connection": t.connection, "mail_from": t.mail_from, "mail_code": t.mail_code,
             "method": t.method or None, "body_sent": t.body_sent, "status": t.status,
             "final": [{"code": c, "text": x} for c, x in t.final],
             "data_refused": [{"code": c, "text": x, "exchange": e} for c, x, e in t.data_refused]}
            for t in dialogue.transactions]
