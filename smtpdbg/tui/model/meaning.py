"""What a transcript row means: inline annotations and the explanation of the selected line.

UI-free, like the row store it reads. Both come from the core's catalog. A reply
line is explained by the core's :class:`~smtpdbg.core.events.Reply` event for the
reply it belongs to (:func:`reply_at`), so in its context: the command it
answers and the stage (:func:`smtpdbg.core.catalog.explain_exchange`); a line of
an EHLO reply by the extension it names (:func:`~smtpdbg.core.describe.explain_keyword`);
a client line and a typed command by the command's meaning, and a masked AUTH
line by its decoded note. Rows the store holds no Reply event for (a store
filled without the core's events) are explained by their code alone.
Annotations are computed only for the rows on screen; which rows get one is a
cheap test on the kind byte and the code's separator (:func:`has_annotation`),
so toggling them on stays fast on a million rows. The transcript widget
(:mod:`smtpdbg.tui.widgets.transcript_lines`) only lays out and draws them.
"""

from __future__ import annotations

from smtpdbg.core.catalog import EXTENSIONS, explain_exchange, parse_enhanced
from smtpdbg.core.describe import annotate_reply, explain_keyword, explain_topic
from smtpdbg.core.events import Reply
from smtpdbg.core.parser import ParseError, parse
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.model.rows import RowStore

REPLY_KINDS = frozenset((R.RECV2, R.RECV3, R.RECV4, R.RECV5))
"""Row kinds of server reply lines with a valid code."""
EHLO_REPLY_LINES = 1000
"""How far back to look for the EHLO a reply line answers (the core cuts replies at 1,000 lines)."""
_RECEIVED = REPLY_KINDS | {R.RECV_BAD}
_FINAL = (" ", "")
"""What follows the code on the last line of a reply (RFC 5321 §4.2.1)."""
_EHLO_VERBS = ("EHLO", "LHLO")
_WIRE_VERBS = {"lhlo": "ehlo"}
"""Wire verbs whose command in the language has another name."""


def reply_at(store: RowStore, row: int) -> Reply | None:
    """The core's Reply event for the reply that ``row`` is a line of, or None.

    The row store keeps each Reply event under the row of the reply's last line (``store.replies``; the event
    is recorded right after that line). A reply's lines are consecutive received rows, so the event is found
    on the first such row at or after ``row``, and holds ``row`` if it has enough lines.
    """
    replies = getattr(store, "replies", None)
    if not replies or store.kinds[row] & R.KIND not in _RECEIVED:
        return None
    kinds, end = store.kinds, min(len(store), row + EHLO_REPLY_LINES)
    for at in range(row, end):
        event = replies.get(at)
        if event is not None:
            return event if at - event.lines < row else None
        if at + 1 < end and kinds[at + 1] & R.KIND not in _RECEIVED:
            return None
    return None


def has_annotation(store: RowStore, row: int) -> bool:
    """Whether ``row`` gets an annotation line: the last line of a reply, or an EHLO line naming a known extension."""
    if store.kinds[row] & R.KIND not in REPLY_KINDS:
        return False
    text = store.texts[row]
    separator = text[3:4]
    if separator in _FINAL:
        return True
    if separator != "-":
        return False
    keyword = text[4:].split(" ", 1)[0].split("=", 1)[0].upper()
    return keyword in EXTENSIONS and in_ehlo_reply(store, row)


def in_ehlo_reply(store: RowStore, row: int) -> bool:
    """Whether reply line ``row`` answers an EHLO/LHLO: its Reply event says so (without one, the client line
    before the reply)."""
    reply = reply_at(store, row)
    if reply is not None:
        return reply.command in _EHLO_VERBS
    kinds, stop = store.kinds, max(-1, row - EHLO_REPLY_LINES)
    at = row - 1
    while at > stop and kinds[at] & R.KIND in _RECEIVED:
        at -= 1
    return at > stop and kinds[at] & R.KIND == R.SEND and store.texts[at][:4].upper() in _EHLO_VERBS


def annotation(store: RowStore, row: int) -> str:
    """The dim one-line meaning shown under ``row`` (``""`` when there is none).

    An EHLO line naming an extension says what it means; the last line of any other reply says what the whole
    reply means where it came (``554 5.7.1 at RCPT → permanent failure: recipient refused by policy``).
    """
    if store.kinds[row] & R.KIND not in REPLY_KINDS:
        return ""
    text = store.texts[row]
    reply = reply_at(store, row)
    if reply is None:
        return annotate_reply(text, ehlo=in_ehlo_reply(store, row))
    if reply.command in _EHLO_VERBS and _keyword(store, row, reply):
        return annotate_reply(text, ehlo=True)
    return explain_exchange(reply).summary() if text[3:4] in _FINAL else ""


def _keyword(store: RowStore, row: int, reply: Reply) -> str:
    """The extension keyword an EHLO reply line names (``""`` on its first line, or for an unknown one)."""
    first = _last_row(store, row, reply) - reply.lines + 1
    keyword = store.texts[row][4:].split(" ", 1)[0].split("=", 1)[0].upper()
    return keyword if row > first and keyword in EXTENSIONS else ""


def _last_row(store: RowStore, row: int, reply: Reply) -> int:
    replies = store.replies
    at = row
    while replies.get(at) is not reply:
        at += 1
    return at


def explain_row(store: RowStore, row: int) -> list[str]:
    """What the selected row means, in a few lines (empty when the row speaks for itself)."""
    kind = store.kinds[row] & R.KIND
    text = store.texts[row]
    note = store.notes.get(row, "")
    lines: list[str] = []
    if kind in REPLY_KINDS:
        code, rest = text[:3], text[4:]
        reply = reply_at(store, row)
        if reply is not None:
            if reply.command in _EHLO_VERBS and _keyword(store, row, reply):
                lines += explain_keyword(rest)
            if not lines or row == _last_row(store, row, reply):
                lines += explain_exchange(reply).lines()
        else:
            if text[3:4] == "-" and in_ehlo_reply(store, row):
                lines += explain_keyword(rest)
            if not lines:
                lines += explain_topic(code)
                enhanced = parse_enhanced(rest)
                if enhanced:
                    lines += explain_topic(enhanced)
        if note:
            lines.append(f"decoded: {note}")
    elif kind == R.RECV_BAD:
        lines.append(store.violations.get(row)
                     or "not a valid reply line: RFC 5321 §4.2 wants three digits (2xx-5xx), then a space or a dash")
        reply = reply_at(store, row)
        if reply is not None and row == _last_row(store, row, reply):
            lines += explain_exchange(reply).lines()
    elif kind == R.SEND:
        verb = text.split(" ", 1)[0].lower()
        lines += _command_lines(_WIRE_VERBS.get(verb, verb), "" if note else f"the client sent {verb.upper()}")
        if note:
            lines.append(f"decoded: {note}")
    elif kind in (R.BODY, R.SUMMARY):
        lines.append("a line of the message after DATA: headers, a blank line, the body; a line starting with '.' is "
                     "sent with the dot doubled (RFC 5321 §4.5.2), and a line holding only '.' ends it")
    elif kind == R.COMMAND:
        verb = text.split(" ", 1)[0]
        try:
            verb = parse(text).name
        except ParseError:
            pass
        lines += _command_lines(verb, "")
    elif kind == R.ORDER:
        lines.append("the command was sent although the protocol does not allow it here: a debugger lets you break "
                     "the rules on purpose; expect the server to refuse it (often 503)")
        lines.append(text)
    elif kind in _SAID_BY_SMTPDBG:  # smtpdbg's own words: the whole line, however long (the transcript cuts it)
        lines.append(_SAID_BY_SMTPDBG[kind])
        lines.append("  " + text)
    return lines


_SAID_BY_SMTPDBG = {R.ERROR: "what went wrong, in full:", R.WARN: "a warning from smtpdbg, in full:",
                    R.INFO: "a note from smtpdbg, in full:", R.TLSINFO: "the TLS handshake, in full:",
                    R.EXPLAIN: "smtpdbg's explanation of the failure above:", R.DEBUG: "a debug line, in full:",
                    R.NO_REPLY: "an exchange that got no reply:",
                    **dict.fromkeys(R.FATES | {R.FATE_WARNING}, "how the message ended for this recipient (the ledger):")}
"""Rows written by smtpdbg rather than sent or received: the panel repeats them whole."""


def _command_lines(verb: str, fallback: str) -> list[str]:
    lines = explain_topic(verb)
    if lines and lines[0].startswith("nothing known"):
        return [fallback] if fallback else []
    return lines


def index_reply(store: RowStore, event: Reply) -> None:
    """Keep the core's Reply ``event`` under the store's last row, the last line of the reply it describes.

    :class:`~smtpdbg.tui.model.rows.RowStore` keeps them itself as it ingests the events; this is for a store
    filled another way (the core records a Reply right after its last wire line); :func:`reply_at` then finds it
    for any line of that reply.
    """
    replies = getattr(store, "replies", None)
    if replies is None:
        replies = store.replies = {}
    if len(store):
        replies[len(store) - 1] = event
