"""The masked password prompt for ``login`` and ``auth``.

The password lives only in the Input until Enter, is handed to the session as
``secret=`` for that one command, and the field is cleared before the screen
closes: it is never in the transcript (the core masks the AUTH line), the
history (the command line never holds it) or a screenshot (the field masks it).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class PasswordScreen(ModalScreen[str | None]):
    """Ask for a password; dismisses with it, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, command: str, *, encrypted: bool) -> None:
        super().__init__()
        self.command = command
        """The command that needs the password (shown, never containing it)."""
        self.encrypted = encrypted
        """Whether the connection is inside TLS (else a warning is shown)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="password-box", classes="dialog"):
            yield Label(f"Password for [b]{_escape(self.command)}[/b]")
            yield Input(password=True, id="password", placeholder="password (hidden)")
            if self.encrypted:
                yield Static("Sent inside TLS. Never stored, never shown.", classes="dialog-note")
            else:
                yield Static("⚠ No TLS: base64 is not encryption; anyone on the path can read it. "
                             "Run starttls first unless this is a lab.", classes="dialog-warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Authenticate", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()

    def _finish(self, value: str | None) -> None:
        field = self.query_one("#password", Input)
        field.value = ""
        self.dismiss(value)

    @on(Input.Submitted, "#password")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._finish(event.value)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self._finish(self.query_one("#password", Input).value)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self._finish(None)

    def action_cancel(self) -> None:
        self._finish(None)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
