"""The explanation panel under the transcript: what the selected line means.

Shown while the transcript has focus, for the line under its cursor: a reply
code and its enhanced status code, an EHLO extension, a command, a decoded
AUTH exchange. The words come from
:func:`smtpdbg.tui.model.meaning.explain_row`, so from the core's catalog;
they are shown as plain text, never as markup. The panel keeps a fixed height
(it scrolls) so moving the cursor does not make the transcript jump.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from smtpdbg.core.render import safe_text
from smtpdbg.tui.model.meaning import explain_row
from smtpdbg.tui.model.rows import RowStore


class LineExplainer(VerticalScroll, can_focus=False):
    """A few lines explaining the transcript row under the cursor."""

    COMPONENT_CLASSES = {"explainer--head", "explainer--next", "explainer--none"}

    def compose(self) -> ComposeResult:
        yield Static(id="explanation")

    @property
    def text(self) -> str:
        """What the panel says, as plain text."""
        content = self.query_one("#explanation", Static).content
        return content.plain if isinstance(content, Text) else str(content)

    def show_row(self, store: RowStore, row: int | None) -> None:
        """Explain ``row`` of ``store``; hide the panel when no row is selected."""
        self.display = row is not None
        if row is None or not 0 <= row < len(store):
            return
        lines = explain_row(store, row)
        style = lambda name: self.get_component_rich_style(f"explainer--{name}", partial=True)  # noqa: E731
        text = Text(end="")
        if not lines:
            text.append("nothing to explain on this line: move to a reply, a command or a client line",
                        style("none"))
        for number, line in enumerate(lines):
            if number:
                text.append("\n")
            stripped = line.strip()
            kind = "head" if not line.startswith(" ") else "next" if stripped.startswith("next:") else ""
            text.append(safe_text(stripped), style(kind) if kind else "")
        self.query_one("#explanation", Static).update(text)
        self.scroll_home(animate=False)
