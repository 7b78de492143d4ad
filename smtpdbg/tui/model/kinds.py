"""Row kinds of the transcript: one byte a row, its low six bits the kind, two flags above.

A received line's kind is the class of the whole reply it belongs to, as the
core judged it (:func:`smtpdbg.tui.model.outcomes.reply_kind`); until the
reply is complete its lines are :data:`RECV` (received, not judged yet).
"""

from __future__ import annotations

SEND, RECV2, RECV3, RECV4, RECV5, RECV_BAD, INFO, TLSINFO, WARN, ERROR, EXPLAIN, COMMAND, BODY, SUMMARY, DEBUG, \
    OMITTED, ORDER, RECV, NO_REPLY, FATE_OK, FATE_TEMPORARY, FATE_PERMANENT, FATE_UNKNOWN, FATE_NOT_SENT, \
    FATE_WARNING = range(1, 26)
RULE = ORDER
"""A protocol-rule warning about what the client sent (``Info.rule``): sent anyway."""
TLS = 0x80
"""Flag: the line travelled inside TLS."""
MASKED = 0x40
"""Flag: a redacted AUTH line (the secret replaced by asterisks)."""
KIND = 0x3F

REPLY_KINDS = frozenset((RECV2, RECV3, RECV4, RECV5, RECV_BAD, RECV))
"""Every kind of a received reply line."""
FATES = frozenset((FATE_OK, FATE_TEMPORARY, FATE_PERMANENT, FATE_UNKNOWN, FATE_NOT_SENT))
"""Lines saying how the message ended for one recipient (from the ledger); an unknown one is followed by a
:data:`FATE_WARNING` line (a retry may deliver a duplicate)."""

FILTERS: dict[str, frozenset[int]] = {
    "client": frozenset((SEND, COMMAND, BODY, SUMMARY)),
    "server": REPLY_KINDS,
    "errors": frozenset((RECV4, RECV5, RECV_BAD, WARN, ERROR, EXPLAIN, ORDER, NO_REPLY, FATE_TEMPORARY,
                         FATE_PERMANENT, FATE_UNKNOWN, FATE_WARNING)),
}
"""Which row kinds each transcript filter keeps (``all`` keeps everything)."""


def marker(kind: int) -> str:
    """The swaks-style prefix for a row kind byte (see :mod:`smtpdbg.core.render`)."""
    base, tls = kind & KIND, kind & TLS
    if base in (SEND, BODY, SUMMARY):
        return " ~> " if tls else " -> "
    if base in (RECV2, RECV3, RECV):
        return "<~  " if tls else "<-  "
    if base in (RECV4, RECV5, RECV_BAD):
        return "<~* " if tls else "<** "
    return _MARKERS.get(base, "    ")


_MARKERS = {INFO: "=== ", TLSINFO: "=== ", DEBUG: "=== ", WARN: "!!! ", ERROR: "*** ", EXPLAIN: "  ↳ ",
            COMMAND: "  ▸ ", OMITTED: "    ", ORDER: "!!! ", NO_REPLY: "*** ", FATE_OK: "  ⇒ ",
            FATE_TEMPORARY: "  ⇒ ", FATE_PERMANENT: "  ⇒ ", FATE_UNKNOWN: "  ⇒ ", FATE_NOT_SENT: "  ⇒ "}
