"""What a transcript row means: inline annotations and the explanation of the selected line.

UI-free, like the row store it reads. Both come from the core's catalog
(:func:`smtpdbg.core.describe.annotate_reply` and
:func:`~smtpdbg.core.describe.explain_topic`): a reply line is explained by its
code and enhanced status code, a line of an EHLO reply by the extension it
names, a client line and a typed command by the command's meaning, and a
masked AUTH line by its decoded note. Annotations are computed only for the
rows on screen; which rows get one is a cheap test on the kind byte and the
code's separator, so toggling them on stays fast on a million rows.
"""

from __future__ import annotations

from array import array
from typing import Iterable

from smtpdbg.core.catalog import EXTENSIONS, parse_enhanced
from smtpdbg.core.describe import annotate_reply, explain_topic
from smtpdbg.core.parser import ParseError, parse
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.model.rows import RowStore

ANNOTATION = -2
"""The ``sub`` value of a display line that holds the annotation of its row."""
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
    keyword = text[4:].split(" ", 1)[0].upper()
    return keyword in EXTENSIONS and in_ehlo_reply(store, row)


def in_ehlo_reply(store: RowStore, row: int) -> bool:
    """Whether reply line ``row`` answers an EHLO/LHLO (the client line before the reply says so)."""
    kinds, stop = store.kinds, max(-1, row - EHLO_REPLY_LINES)
    at = row - 1
    while at > stop and kinds[at] & R.KIND in _RECEIVED:
        at -= 1
    return at > stop and kinds[at] & R.KIND == R.SEND and store.texts[at][:4].upper() in _EHLO_VERBS


def annotation(store: RowStore, row: int) -> str:
    """The dim one-line meaning shown under ``row`` (``""`` when there is none)."""
    if store.kinds[row] & R.KIND not in REPLY_KINDS:
        return ""
    return annotate_reply(store.texts[row], ehlo=in_ehlo_reply(store, row))


def interleave(store: RowStore, rows: Iterable[int]) -> tuple[array, array]:
    """Display rows with an annotation line after each annotated one: (rows, subs), sub -1 for the row itself."""
    out_rows, out_subs = array("I"), array("i")
    kinds, texts = store.kinds, store.texts
    add_row, add_sub = out_rows.append, out_subs.append
    for row in rows:
        add_row(row)
        add_sub(-1)
        if kinds[row] & R.KIND in REPLY_KINDS and (texts[row][3:4] in _FINAL or has_annotation(store, row)):
            add_row(row)
            add_sub(ANNOTATION)
    return out_rows, out_subs


def explain_row(store: RowStore, row: int) -> list[str]:
    """What the selected row means, in a few lines (empty when the row speaks for itself)."""
    kind = store.kinds[row] & R.KIND
    text = store.texts[row]
    note = store.notes.get(row, "")
    lines: list[str] = []
    if kind in REPLY_KINDS:
        code, rest = text[:3], text[4:]
        if text[3:4] == "-" and in_ehlo_reply(store, row):
            keyword, _, params = rest.partition(" ")
            if keyword.upper() in EXTENSIONS:
                lines += explain_topic(f"{keyword} {params}".strip())
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
