"""The listen app's mailbox: every delivered message with its envelope, opened with ctrl+o."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, ListItem, ListView, Static

from smtpdbg.core.render import safe_text
from smtpdbg.listen.mailbox import Delivered


def message_text(message: Delivered) -> str:
    """The message as stored (envelope headers first), every line escaped for the terminal."""
    return "\n".join(safe_text(line) for line in message.with_envelope().splitlines())


class MailboxScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    MailboxScreen { align: center middle; }
    MailboxScreen > Horizontal { width: 95%; height: 90%; border: round $primary; background: $surface; }
    MailboxScreen #messages { width: 40%; }
    MailboxScreen #message { width: 60%; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("ctrl+o", "dismiss", "Close", show=False)]

    def __init__(self, messages: list[Delivered]) -> None:
        super().__init__()
        self.messages = messages

    def compose(self) -> ComposeResult:
        with Horizontal() as box:
            box.border_title = f"mailbox: {len(self.messages)} messages"
            yield ListView(*(ListItem(Label(safe_text(m.describe()))) for m in self.messages), id="messages")
            with VerticalScroll(id="message"):
                yield Static(message_text(self.messages[0]) if self.messages else "nothing delivered yet",
                             id="content", markup=False)

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        if event.list_view.index is not None and self.messages:
            self.query_one("#content", Static).update(message_text(self.messages[event.list_view.index]))
