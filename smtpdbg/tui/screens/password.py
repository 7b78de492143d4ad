"""The masked password prompt for ``login`` and ``auth``.

The password lives only in the Input until Enter, is handed to the session as
``secret=`` for that one command, and the field is cleared before the screen
closes: it is never in the transcript (the core masks the AUTH line), the
history (the command line never holds it) or a screenshot (the field masks it).

Without TLS the core refuses to send it unless the user consented. Here the
consent is explicit: a box to tick ("send it in cleartext") before the
dialog accepts; ticked, the dialog queues ``set plaintext-auth once`` ahead of
the command, so the consent is on record in the transcript and covers that
one AUTH exchange only. On the embedded sandbox (a lab) no consent is needed;
the warning still shows.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static


class PasswordScreen(ModalScreen[str | None]):
    """Ask for a password; dismisses with it, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, command: str, *, encrypted: bool, consent: bool) -> None:
        super().__init__()
        self.command = command
        """The command that needs the password (shown, never containing it)."""
        self.encrypted = encrypted
        """Whether the connection is inside TLS (else a warning is shown)."""
        self._consent = consent
        """The core's decision (:attr:`smtpdbg.core.context.Needs.consent`): sending without TLS needs the box ticked."""

    @property
    def needs_consent(self) -> bool:
        """Whether the core would refuse the password in cleartext without the user's consent."""
        return self._consent and not self.encrypted

    def compose(self) -> ComposeResult:
        with Vertical(id="password-box", classes="dialog"):
            yield Label(f"Password for [b]{_escape(self.command)}[/b]")
            yield Input(password=True, id="password", placeholder="password (hidden)")
            if self.encrypted:
                yield Static("Sent inside TLS. Never stored, never shown.", classes="dialog-note")
            elif self.needs_consent:
                yield Static("⚠ No TLS: base64 is not encryption; anyone on the path can read the password. "
                             "Cancel and run starttls first, or tick the box to send it in cleartext anyway.",
                             classes="dialog-warning")
                yield Checkbox("Send it without TLS, in cleartext (this AUTH only)", False, id="plaintext",
                               compact=True)
            else:
                yield Static("⚠ No TLS: base64 is not encryption; anyone on the path can read it. "
                             "Run starttls first unless this is a lab.", classes="dialog-warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Authenticate", id="ok", variant="primary", compact=True,
                             disabled=self.needs_consent)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()

    @property
    def consented(self) -> bool:
        boxes = self.query("#plaintext")
        return bool(boxes) and boxes.first(Checkbox).value

    @on(Checkbox.Changed, "#plaintext")
    def _consent_changed(self, event: Checkbox.Changed) -> None:
        self.query_one("#ok", Button).disabled = not event.value

    def _finish(self, value: str | None) -> None:
        field = self.query_one("#password", Input)
        field.value = ""
        self.dismiss(value)

    def _accept(self, value: str) -> None:
        if self.needs_consent:
            if not self.consented:
                self.notify("No TLS: tick the box to send the password in cleartext, or cancel and run starttls",
                            severity="warning", markup=False)
                self.query_one("#plaintext", Checkbox).focus()
                return
            # Queued before the command the dialog returns to: the consent is on record, for this AUTH only.
            submit = getattr(self.app, "submit", None)
            if submit is not None:
                submit("set plaintext-auth once")
        self._finish(value)

    @on(Input.Submitted, "#password")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept(event.value)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self._accept(self.query_one("#password", Input).value)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self._finish(None)

    def action_cancel(self) -> None:
        self._finish(None)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
