"""Small modal pickers: history search (Ctrl+R), a file name to save to, a yes/no, and a lesson.

Each returns its answer through ``dismiss`` (None when cancelled).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from smtpdbg.core.history import History


class HistoryScreen(ModalScreen[str | None]):
    """Search past commands; Enter puts the chosen one in the prompt."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("ctrl+r", "move(1)", "Older", show=False),
    ]

    def __init__(self, history: History, text: str = "") -> None:
        super().__init__()
        self.history = history
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box", classes="dialog"):
            yield Label("History search (newest first)")
            yield Input(self.text, placeholder="type to filter", id="history-filter")
            yield OptionList(id="history-list", markup=False)  # entries are typed text, not markup
            yield Static("↑/↓ choose · Enter puts it in the prompt · Esc cancels", classes="dialog-note")

    def on_mount(self) -> None:
        self._fill(self.text)
        self.query_one("#history-filter", Input).focus()

    def _fill(self, text: str) -> None:
        matches = self.history.search(text)[:500]
        options = self.query_one("#history-list", OptionList)
        options.set_options(Option(entry) for entry in matches)
        if matches:
            options.highlighted = 0

    @on(Input.Changed, "#history-filter")
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#history-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#history-list", OptionList)
        if options.highlighted is None:
            self.dismiss(None)
            return
        self.dismiss(str(options.get_option_at_index(options.highlighted).prompt))

    @on(OptionList.OptionSelected, "#history-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.prompt))

    def action_move(self, delta: int) -> None:
        options = self.query_one("#history-list", OptionList)
        if options.option_count:
            options.highlighted = ((options.highlighted or 0) + delta) % options.option_count

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskScreen(ModalScreen[str | None]):
    """Ask for one line of text (a file name, a search term)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield Input(self.value, id="ask")
            if self.note:
                yield Static(self.note, classes="dialog-note")

    def on_mount(self) -> None:
        self.query_one("#ask", Input).focus()

    @on(Input.Submitted, "#ask")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LessonScreen(ModalScreen[str | None]):
    """Pick a guided lesson; returns its id."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, lessons) -> None:
        super().__init__()
        self.lessons = list(lessons)

    def compose(self) -> ComposeResult:
        with Vertical(id="lesson-box", classes="dialog"):
            yield Label("Guided lessons on the embedded sandbox (each starts a new session)")
            yield OptionList(*(Option(_lesson_label(lesson), id=lesson.id) for lesson in self.lessons), id="lesson-list")
            yield Static("Enter starts the lesson · Esc cancels · teachers add their own with $SMTPDBG_LESSONS",
                         classes="dialog-note")

    def on_mount(self) -> None:
        options = self.query_one("#lesson-list", OptionList)
        options.highlighted = 0 if self.lessons else None
        options.focus()

    @on(OptionList.OptionSelected, "#lesson-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _lesson_label(lesson) -> Text:
    label = Text(lesson.title, style="bold")
    label.append(f"  {lesson.id}", style="dim")
    summary = " ".join(lesson.summary.split())
    if summary:
        first = summary.split(". ", 1)[0].rstrip(".")
        label.append("\n  " + (first if len(first) <= 90 else first[:89] + "…"), style="italic")
    return label
