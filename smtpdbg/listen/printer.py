"""Printing ``listen``'s sessions as they happen: the text notation, each line marked with its connection."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

from smtpdbg.core.catalog.replies import explain_reply
from smtpdbg.core.render import TextRenderer, safe_output, safe_text

if TYPE_CHECKING:
    from smtpdbg.listen.mailbox import Delivered
    from smtpdbg.listen.recorder import Connection
    from smtpdbg.listen.rules import RuleBook
    from smtpdbg.listen.server import Held


class Printer:
    """Writes every followed connection's lines to ``stream`` (called on the server thread; one lock for all)."""

    def __init__(self, stream: TextIO | None = None, *, color: bool = False) -> None:
        self._stream = stream
        self.color = color
        self._lock = threading.Lock()
        self._rules_said = ("", 0)

    @property
    def stream(self) -> TextIO:
        """The stream given, else ``sys.stdout`` as it is now (a prompt may have patched it)."""
        return self._stream or sys.stdout

    def write(self, text: str) -> None:
        with self._lock:
            self.stream.write(safe_output(text, color=self.color) + "\n")
            self.stream.flush()

    def follow(self, conn: "Connection") -> None:
        renderer = TextRenderer(color=self.color)
        label = conn.label + " "

        def on_event(event) -> None:
            lines = renderer.render(event)
            if lines:
                self.write("\n".join(label + line for line in lines))

        conn.transcript.subscribe(on_event, replay=True)

    def held(self, held: "Held") -> None:
        default = " / ".join(held.default)
        self.write(f"? [{held.connection}] {safe_text(held.command)}  (default: {safe_text(default)})"
                   "  reply CODE TEXT | default | drop | stall N")

    def message(self, message: "Delivered") -> None:
        self.write(f"[{message.connection}] === {message.describe()}")

    def meaning(self, code: int) -> None:
        info = explain_reply(code)
        if info is not None:
            self.write(f"    {code}: {info.meaning}")

    def rules(self, book: "RuleBook | None") -> None:
        """Reread the rules if the file changed, and say so (or why the new file is not used)."""
        if book is None:
            return
        reloaded = book.poll()
        said = (book.error, book.loads)
        if said != self._rules_said:
            self._rules_said = said
            if book.error:
                self.write(f"!!! rules {book.path}: {book.error} (the rules before stay in force)")
            elif reloaded:
                self.write(f"=== rules {book.path}: {len(book.rules)} rules loaded")
