"""The command prompt: an Input with completion from the core engine.

Completion is :func:`smtpdbg.core.completion.complete` (the same engine the
REPL uses) fed with the latest session snapshot, so ``auth`` offers the
mechanisms the server advertised and ``docmd`` its extension verbs. It shows
three ways: a ghost suggestion (Right/End accepts), a dropdown with each
candidate's meaning (Tab completes and cycles, Up/Down choose, Enter takes the
chosen one), and a hint line saying what is still expected. A line that
cannot parse is marked ``-invalid`` before it is sent. History is the core's
:class:`~smtpdbg.core.history.History` (persisted, scrubbed); Up/Down walk
it and Ctrl+R searches it.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from smtpdbg.core.commands import Kind, lookup
from smtpdbg.core.completion import Candidate, Completions, complete
from smtpdbg.core.history import History
from smtpdbg.core.parser import ParseError, analyze, parse
from smtpdbg.core.state import SessionState

MENU_ROWS = 8
"""Most candidates visible in the dropdown at once."""
MENU_WIDTH = 110
"""Widest the dropdown gets (longer meanings end in an ellipsis)."""
NO_SPACE_AFTER = ("/", "=", "://", ";", ":")
"""A completed word ending like this is not finished: no space is added."""


class CompletionSuggester(Suggester):
    """Ghost text: the first candidate for the word at the end of the line."""

    def __init__(self, prompt: CommandPrompt) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.prompt = prompt

    async def get_suggestion(self, value: str) -> str | None:
        return self.prompt.suggestion_for(value)


class CompletionMenu(OptionList):
    """The dropdown of candidates; lives on the screen's overlay layer above the prompt."""

    can_focus = False


class CommandInput(Input):
    """The Input the user types commands into."""


class CommandPrompt(Widget):
    """Prompt, hint line and completion for the command language."""

    BINDINGS = [
        Binding("tab", "complete(1)", "Complete", tooltip="Complete the word, or cycle through the candidates",
                priority=False),
        Binding("shift+tab", "complete(-1)", "Previous", show=False),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("ctrl+r", "history_search", "History", tooltip="Search the command history", show=False),
    ]

    class Submitted(Message):
        """A line that parses was entered."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class HistorySearch(Message):
        """The user asked to search the history (the app shows the picker)."""

    def __init__(self, history: History, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history = history
        """Past command lines, persisted and scrubbed by the core."""
        self.state = SessionState()
        """The latest session snapshot; completion and hints read it."""
        self.menu: CompletionMenu | None = None
        """The dropdown, composed by the screen (overlay layer)."""
        self._completions: Completions | None = None
        self._candidates: tuple[Candidate, ...] = ()
        self._navigated = False
        """The user moved in the dropdown (Enter then takes the highlighted candidate)."""
        self._quiet_values: set[str] = set()
        """Values we set ourselves: their Changed message must not open the menu."""
        self._history_index: int | None = None
        self._draft = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="prompt-line"):
            yield Static("smtp›", id="sigil")
            yield CommandInput(placeholder="type a command · Tab completes · F1 help", id="command",
                               suggester=CompletionSuggester(self), select_on_focus=False)
        yield Static("", id="hint")

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    @property
    def menu_open(self) -> bool:
        return self.menu is not None and self.menu.display

    # -- state from the app ------------------------------------------------------------------------
    def update_state(self, state: SessionState) -> None:
        self.state = state
        self._update_hint()

    # -- completion ------------------------------------------------------------------------------------
    def suggestion_for(self, value: str) -> str | None:
        if not value or value != self.input.value or self.input.cursor_position != len(value):
            return None
        completions = complete(value, len(value), self.state)
        if not completions.word or not completions.candidates:
            return None
        candidate = self._highlighted() if self.menu_open and self._navigated else completions.candidates[0]
        if candidate is None or not candidate.text.lower().startswith(completions.word.lower()):
            return None
        return value[: completions.start] + candidate.text

    def _complete(self) -> Completions:
        field = self.input
        self._completions = complete(field.value, field.cursor_position, self.state)
        self._candidates = self._completions.candidates
        return self._completions

    def _show_menu(self, candidates: tuple[Candidate, ...]) -> None:
        menu = self.menu
        if menu is None:
            return
        if not candidates:
            self._hide_menu()
            return
        shown = candidates[:200]
        width = max(len(c.display) for c in shown)
        meaning = max((len(c.meaning) for c in shown), default=0)
        options = []
        for candidate in shown:
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(candidate.display.ljust(width), "bold" if candidate.preferred else "")
            if candidate.meaning:
                label.append("  " + candidate.meaning, "dim")
            options.append(Option(label))
        menu.set_options(options)
        menu.highlighted = 0
        self._navigated = False
        self._place_menu(len(options), width + (2 + meaning if meaning else 0))
        menu.display = True

    def _place_menu(self, count: int, width: int) -> None:
        """Size the dropdown for ``count`` rows of ``width`` cells and put it above the word being completed."""
        menu = self.menu
        field = self.input
        screen_width = self.screen.size.width
        region = field.content_region
        height = min(MENU_ROWS, count) + 2
        scrollbar = 1 if count > MENU_ROWS else 0
        menu_width = min(max(30, width + 2 + scrollbar), screen_width - 2, MENU_WIDTH)
        x = region.x + (self._completions.start if self._completions else 0) - field.scroll_offset.x - 1
        x = max(0, min(x, screen_width - menu_width))
        menu.styles.width = menu_width
        menu.styles.height = height
        menu.styles.offset = (x, max(0, self.region.y - height))

    def _hide_menu(self) -> None:
        if self.menu is not None:
            self.menu.display = False
        self._navigated = False

    def _highlighted(self) -> Candidate | None:
        menu = self.menu
        if menu is None or menu.highlighted is None or menu.highlighted >= len(self._candidates):
            return None
        return self._candidates[menu.highlighted]

    def _apply(self, candidate: Candidate, *, final: bool) -> None:
        """Replace the word being completed with ``candidate`` (plus a space when it is finished)."""
        completions = self._completions
        field = self.input
        text, cursor = field.value, field.cursor_position
        start = completions.start if completions else cursor
        rest = text[cursor:]
        space = final and not candidate.text.endswith(NO_SPACE_AFTER) and not rest.startswith(" ")
        value = text[:start] + candidate.text + (" " if space else "") + rest
        if not final:
            self._quiet_values.add(value)
        field.value = value
        field.cursor_position = start + len(candidate.text) + (1 if space else 0)

    def action_complete(self, direction: int) -> None:
        if self.menu_open and self._candidates:
            if len(self._candidates) == 1:
                self._accept(self._candidates[0])
                return
            menu = self.menu
            if not self._navigated:
                index = 0 if direction > 0 else len(self._candidates) - 1
            else:
                index = ((menu.highlighted or 0) + direction) % len(self._candidates)
            menu.highlighted = index
            self._navigated = True
            self._apply(self._candidates[index], final=False)
            return
        completions = self._complete()
        candidates = completions.candidates
        if not candidates:
            self.app.bell()
            return
        if len(candidates) == 1:
            self._accept(candidates[0])
            return
        prefix = _common_prefix([c.text for c in candidates])
        if len(prefix) > len(completions.word) and prefix.lower().startswith(completions.word.lower()):
            self._apply(Candidate(prefix, prefix), final=False)
            self._completions = Completions(completions.start, prefix, candidates, completions.hint, completions.kind)
        self._show_menu(candidates)

    def _accept(self, candidate: Candidate) -> None:
        self._hide_menu()
        self._apply(candidate, final=True)

    def action_move(self, delta: int) -> None:
        if self.menu_open:
            menu = self.menu
            count = len(self._candidates)
            menu.highlighted = ((menu.highlighted or 0) + delta) % count if self._navigated else (0 if delta > 0 else count - 1)
            self._navigated = True
            self.input._suggestion = ""
            return
        self._walk_history(delta)

    def on_key(self, event) -> None:
        """Esc closes the dropdown; otherwise it reaches the app (abort), so it is not bound here."""
        if event.key == "escape" and self.menu_open:
            event.stop()
            event.prevent_default()
            self._hide_menu()

    def action_history_search(self) -> None:
        self._hide_menu()
        self.post_message(self.HistorySearch())

    # -- history -----------------------------------------------------------------------------------------
    def _walk_history(self, delta: int) -> None:
        entries = self.history.entries
        if not entries:
            return
        if self._history_index is None:
            if delta > 0:
                return
            self._draft = self.input.value
            index = len(entries) - 1
        else:
            index = self._history_index + delta
        if index < 0:
            self.app.bell()
            return
        if index >= len(entries):
            self._history_index = None
            self.set_text(self._draft)
            return
        self._history_index = index
        self.set_text(entries[index])

    def set_text(self, value: str) -> None:
        """Put ``value`` in the prompt (cursor at the end) without opening the menu."""
        self._quiet_values.add(value)
        field = self.input
        field.value = value
        field.cursor_position = len(value)
        self._hide_menu()

    # -- typing and submitting ----------------------------------------------------------------------------
    @on(Input.Changed, "#command")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        quiet = event.value in self._quiet_values
        self._quiet_values.discard(event.value)
        if quiet:  # set by completion or history: keep the menu as it is
            self._update_hint()
            return
        completions = self._complete()
        self._update_hint()
        if not event.value.strip():
            self._hide_menu()
            return
        show = completions.candidates and (completions.word or completions.kind not in (None, Kind.COMMAND))
        if show:
            self._show_menu(completions.candidates)
        else:
            self._hide_menu()

    @on(Input.Submitted, "#command")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.menu_open and self._navigated:
            candidate = self._highlighted()
            if candidate is not None:
                self._accept(candidate)
                return
        self._hide_menu()
        text = event.value.strip()
        if not text:
            return
        try:
            parse(text)
        except ParseError as error:
            self.input.add_class("-invalid")
            self._show_error(error)
            self.app.bell()
            return
        self.history.append(text)
        self._history_index = None
        self._draft = ""
        self.set_text("")
        self.post_message(self.Submitted(text))

    def _show_error(self, error: ParseError) -> None:
        self.query_one("#hint", Static).update(Text(f"✗ {error.message}", style="bold red"))

    def _update_hint(self) -> None:
        field = self.input
        text = field.value
        hint = self.query_one("#hint", Static)
        if not text.strip():
            field.remove_class("-invalid")
            valid = [c for c in self.state.valid_next if c not in ("noop", "rset", "help", "docmd", "raw", "drain", "close",
                                                                   "vrfy", "verify", "expn")][:6]
            line = Text("next: ", style="dim")
            line.append(" · ".join(valid) or "connect", style="bold")
            line.append("   Tab lists commands · Ctrl+P all actions", style="dim")
            hint.update(line)
            return
        analysis = analyze(text, field.cursor_position)
        completions = self._completions
        error = analysis.error
        invalid = error is not None and error.column < len(text.rstrip()) and not (
            analysis.kind is Kind.COMMAND and completions is not None and completions.candidates)
        field.set_class(invalid, "-invalid")
        if invalid:
            self._show_error(error)
            return
        verb = text.split(None, 1)[0]
        spec = lookup(verb)
        line = Text(no_wrap=True, overflow="ellipsis")
        if spec is None:
            line.append("a command: Tab shows those that fit now", style="dim")
        else:
            expected = analysis.hint
            if expected:
                line.append("expects ", style="dim")
                line.append(expected + "   ", style="bold")
            line.append(_short_usage(spec), style="")
            line.append(f"   {spec.summary}", style="dim")
        hint.update(line)


def _short_usage(spec) -> str:
    """``auth MECHANISM USER [options]``: the usage without the option list."""
    parts = [spec.name]
    for arg in spec.args:
        label = arg.name.upper() + ("..." if arg.many else "")
        parts.append(label if arg.required else f"[{label}]")
    if spec.options:
        parts.append("[--options]")
    return " ".join(parts)


def _common_prefix(words: list[str]) -> str:
    if not words:
        return ""
    first, last = min(words, key=str.lower), max(words, key=str.lower)
    size = 0
    while size < min(len(first), len(last)) and first[size].lower() == last[size].lower():
        size += 1
    return first[:size]
