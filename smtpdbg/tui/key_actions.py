"""What the app's keys and palette entries do that is not about files: abort, focus, search, help, connect.

A mixin of :class:`smtpdbg.tui.app.SmtpdbgApp`, kept apart so the app module stays about wiring."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Input

from smtpdbg.tui.widgets.inspector import Inspector
from smtpdbg.tui.widgets.prompt import CommandPrompt
from smtpdbg.tui.widgets.search import SearchBar
from smtpdbg.tui.widgets.transcript import TranscriptView

if TYPE_CHECKING:  # screens are imported when first opened
    from smtpdbg.tui.screens.connect import ConnectRequest


class KeyActions:
    """What the app's keys and palette entries do that is not about files: abort, focus, search, help, connect."""

    # -- actions ------------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "abort":
            return self.state.busy or self.pending > 0
        if action == "lesson_try":
            return self.lesson is not None and not self.lesson.done
        return True

    def action_abort(self) -> None:
        if self.session is not None and not self.session.abort():
            self.notify("nothing is running", timeout=2, markup=False)

    def action_toggle_inspector(self) -> None:
        self._inspector_auto = False
        self.show_inspector = not self.show_inspector

    def action_switch_focus(self) -> None:
        """F6: prompt → transcript → inspector (when shown) → prompt."""
        transcript = self.query_one(TranscriptView)
        inspector = self.query_one(Inspector)
        if transcript.has_focus and inspector.display:
            inspector.focus()
        elif transcript.has_focus or inspector.has_focus:
            self.query_one(CommandPrompt).input.focus()
        else:
            transcript.focus()

    def action_page(self, direction: int) -> None:
        self.query_one(TranscriptView).action_page(direction)

    def action_search(self) -> None:
        bar = self.query_one(SearchBar)
        bar.display = True
        bar.query_one(Input).focus()

    def search_transcript(self, term: str, direction: int = 1) -> bool:
        found = self.query_one(TranscriptView).search(term, direction)
        if term and not found:
            self.notify(f"not found: {term}", severity="warning", timeout=2, markup=False)
        return found

    def action_search_next(self, direction: int) -> None:
        self.query_one(TranscriptView).action_search_next(direction)

    def action_help(self) -> None:
        from smtpdbg.tui.screens.help import InfoScreen, help_renderable

        self.push_screen(InfoScreen("Help: keys and commands", help_renderable()))

    def action_tls_chain(self) -> None:
        from smtpdbg.tui.screens.help import InfoScreen, chain_renderable

        self.push_screen(InfoScreen("TLS certificate chain", chain_renderable(self.state.tls)))

    def action_connect_dialog(self) -> None:
        sandbox = self.target if self.target is not None and self.target.sandbox else None
        from smtpdbg.tui.screens.connect import ConnectScreen

        self.push_screen(ConnectScreen(self.target, self.options, sandbox=sandbox), self._connect_requested)

    def _connect_requested(self, request: ConnectRequest | None) -> None:
        if request is not None:
            self.start_session(request.target, request.options, request.startup)

    def action_run(self, command: str) -> None:
        """Submit a command line (palette entries use this)."""
        self.submit(command)

    def action_insert(self, text: str) -> None:
        """Put ``text`` in the prompt."""
        prompt = self.query_one(CommandPrompt)
        prompt.set_text(text)
        prompt.input.focus()
