"""The transcript search bar (Ctrl+F or / in the transcript)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label

from smtpdbg.tui.widgets.transcript import TranscriptView


class SearchBar(Horizontal):
    """Transcript search: Enter finds the next match, Up/Down move between matches, Esc closes."""

    BINDINGS = [Binding("escape", "close", "Close search"), Binding("down", "next(1)", "Next", show=False),
                Binding("up", "next(-1)", "Previous", show=False)]

    def compose(self) -> ComposeResult:
        yield Label("find:")
        yield Input(placeholder="text to find in the transcript", id="search-input", compact=True)
        yield Label("Enter/↓ next · ↑ previous · Esc close", id="search-help")

    def action_next(self, direction: int) -> None:
        self.app.search_transcript(self.query_one(Input).value, direction)

    def action_close(self) -> None:
        self.display = False
        self.app.query_one(TranscriptView).focus()
