"""An app frame for many sessions at once: a list to switch between and the selected one's transcript.

Each session is fed core events (from any thread, through :meth:`SessionsApp.post_message`)
into the debugger's transcript view (:class:`smtpdbg.tui.widgets.transcript.TranscriptView`).
``listen`` and ``trace`` put their own widgets under the transcript (:meth:`SessionsApp.compose_below`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Label, ListItem, ListView

from smtpdbg.core.events import Event
from smtpdbg.core.render import safe_text
from smtpdbg.tui.widgets.transcript import TranscriptView

CSS = """
#sessions { width: 30; border: round $panel-lighten-2; }
#views { height: 1fr; }
#views > TranscriptView { height: 1fr; }
"""


class Opened(Message):
    """A session began: ``number`` names it in the list (``[N] title``)."""

    def __init__(self, number: int, title: str) -> None:
        super().__init__()
        self.number, self.title = number, title


class Arrived(Message):
    def __init__(self, number: int, event: Event) -> None:
        super().__init__()
        self.number, self.event = number, event


class Posted(Message):
    """Something a worker thread hands to the app: subclass it per kind, read ``value``."""

    def __init__(self, value) -> None:
        super().__init__()
        self.value = value


class SessionsApp(App[int]):
    CSS_PATH = [Path(__file__).parent.parent / "tui" / "app.tcss"]
    DEFAULT_CSS = CSS

    def __init__(self) -> None:
        super().__init__()
        self.selected = 0

    def compose_below(self) -> Iterable[Widget]:
        """The widgets under the transcript."""
        return ()

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ListView(id="sessions")
            with Vertical():
                yield ContentSwitcher(id="views")
                yield from self.compose_below()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sessions", ListView).border_title = "sessions"

    def view(self, number: int) -> TranscriptView:
        return self.query_one(f"#conn-{number}", TranscriptView)

    def on_opened(self, message: Opened) -> None:
        view = TranscriptView(id=f"conn-{message.number}")
        view.border_title = safe_text(f"[{message.number}] {message.title}")
        self.query_one("#views", ContentSwitcher).mount(view)
        self.query_one("#sessions", ListView).append(
            ListItem(Label(safe_text(f"[{message.number}] {message.title}"), markup=False),
                     id=f"item-{message.number}"))
        if not self.selected:
            self.select(message.number)

    def on_arrived(self, message: Arrived) -> None:
        try:
            self.view(message.number).append_events([message.event])
        except Exception:  # noqa: BLE001 - the view is mounted by the Opened message just before
            self.call_later(lambda: self.view(message.number).append_events([message.event]))

    def select(self, number: int) -> None:
        self.selected = number
        self.query_one("#views", ContentSwitcher).current = f"conn-{number}"

    @on(ListView.Selected, "#sessions")
    def chosen(self, event: ListView.Selected) -> None:
        if event.item.id:
            self.select(int(event.item.id.removeprefix("item-")))
