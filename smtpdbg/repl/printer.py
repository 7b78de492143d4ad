"""The REPL's transcript printer: each event's lines in swaks notation, as the core judged them.

A reply's lines are marked and coloured by the core's verdict on the whole
reply (:class:`~smtpdbg.core.render.TextRenderer` holds them until its
:class:`~smtpdbg.core.events.Reply` event); meanings from the core's
:class:`~smtpdbg.core.describe.Annotator` follow the lines they are about; after
a command that sent a message, the ledger's account of it, recipient by recipient.
"""

from __future__ import annotations

import threading
from typing import Callable, TextIO

from smtpdbg.core.events import CommandEnd, Event, LedgerChange, Wire
from smtpdbg.core.ledger import Transaction
from smtpdbg.core.render import ANSI as ANSI_CODES, RESET, TextRenderer, safe_text
from smtpdbg.core.verdict import Fate


class TranscriptPrinter:
    """A session listener that prints each event's lines (called on the session thread).

    A reply's lines are marked and coloured by the core's verdict on it (see
    :class:`~smtpdbg.core.render.TextRenderer`); after a command in which a
    message was sent (``data``, ``sendmail``, ``bdat``, a pipeline, ``raw .``),
    the ledger's words on that transaction: how it ended and each recipient's fate.

    Args:
        explain: after each reply (and each extension of an EHLO reply), a dim line with its meaning.
        outcomes: print each recipient's fate after a command that sent a message (the interactive REPL; the
            piped REPL prints what ``smtpdbg run`` prints, whose summary at the end gives the fates).
    """

    def __init__(self, stream: Callable[[], TextIO] | TextIO, color: bool, *, explain: bool = False,
                 outcomes: bool = True) -> None:
        self._stream = stream
        self.color = color
        self.renderer = TextRenderer(color=color, notes=True)
        self._lock = threading.Lock()
        self.explain = explain
        self.outcomes = outcomes
        self._messages: dict[int, Transaction] = {}
        """Transactions whose message was sent, as the ledger left them during the running command."""
        self._notes: dict[int, list[str]] = {}
        """Annotations of received lines still held by the renderer (their reply not complete), by line."""

    @property
    def explain(self) -> bool:
        """Annotate every reply (``--explain``, ``set explain on``); otherwise only failed ones, as ``run`` does."""
        return self._explain

    @explain.setter
    def explain(self, value: bool) -> None:
        from smtpdbg.core.describe import Annotator

        self._explain = value
        self._annotator = Annotator(failures_only=not value)

    @property
    def stream(self) -> TextIO:
        return self._stream() if callable(self._stream) else self._stream

    def __call__(self, event: Event) -> None:
        lines = self.lines(event)
        if lines:
            self.write(lines)

    def lines(self, event: Event) -> list[str]:
        """The printed lines of ``event``, with its annotation when explaining."""
        notes = [self.dim(f"   ↳ {safe_text(meaning)}") for meaning in self._annotator.lines(event)]
        rendered = self.renderer.render_lines(event)
        if notes and not rendered and type(event) is Wire:  # held until its reply is judged: so is its note
            self._notes[event.seq] = notes
            notes = []
        out: list[str] = []
        for line in rendered:
            out.append(line.text)
            if self._notes and type(line.event) is Wire:
                out += self._notes.pop(line.event.seq, [])
        out += notes
        kind = type(event)
        if kind is LedgerChange and event.transaction.body_sent and self.outcomes:
            self._messages[event.transaction.index] = event.transaction
        elif kind is CommandEnd and self._messages:
            out += self.outcome_lines(list(self._messages.values()))
            self._messages.clear()
        return out

    def outcome_lines(self, transactions: list[Transaction]) -> list[str]:
        """The ledger's account of each transaction whose message was sent: its status, then each recipient."""
        out = []
        for transaction in transactions:
            out.append(self.paint(f"=== {transaction.summary()}: {transaction.status}", "info"))
            for recipient in transaction.recipients:
                out.append(self.paint(f"===   {safe_text(recipient.line())}", _FATE_STYLE.get(recipient.fate, "info")))
        return out

    def flush(self) -> list[str]:
        """The lines of a reply still being read, let out unjudged (the server went quiet in the middle of it)."""
        out = []
        for line in self.renderer.flush_lines():
            out.append(line.text)
            out += self._notes.pop(line.event.seq, []) if type(line.event) is Wire else []
        return out

    def dim(self, text: str) -> str:
        return self.paint(text, "note")

    def paint(self, text: str, style: str) -> str:
        return f"{ANSI_CODES[style]}{text}{RESET}" if self.color and ANSI_CODES[style] else text

    def write(self, lines: list[str]) -> None:
        with self._lock:
            stream = self.stream
            stream.write("\n".join(lines) + "\n")
            stream.flush()


_FATE_STYLE = {Fate.ACCEPTED: "2", Fate.TEMPORARY: "4", Fate.PERMANENT: "5", Fate.UNKNOWN: "0", Fate.PENDING: "info",
               Fate.NOT_SENT: "info"}
"""The colour of a recipient's line in the outcome after a message (ANSI keys of :mod:`smtpdbg.core.render`)."""


__all__ = ["TranscriptPrinter"]
