"""The footer, fitted to the screen: the keys that do not fit are left out rather than cut or overflowing.

Textual's footer lays every key out in one row and lets the last ones run under
the command palette's key on a narrow terminal (80 columns). This one shows
keys in the order the bindings give them (the focused widget's first, then the
app's, most useful first) and hides those from the first one that would not fit;
the palette key (Ctrl+P) always stays, and F1 lists every key.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.widget import Widget
from textual.widgets import Footer

GAP = 1
"""Columns between two keys (the compact footer's margin)."""


def key_width(key: Widget) -> int:
    """Columns a compact footer key takes: its key, a space and its description (laid out size otherwise)."""
    shown = getattr(key, "key_display", None)
    if shown is None:  # a group or a label
        return key.outer_size.width
    description = getattr(key, "description", "")
    return cell_len(shown) + (1 + cell_len(description) if description else 0)


class FittingFooter(Footer):
    """A compact footer whose keys never overflow the screen's width."""

    async def recompose(self) -> None:
        await super().recompose()
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Show the keys that fit, in order, and hide the rest."""
        width = self.size.width
        if not width:
            return
        keys = [child for child in self.children if not child.has_class("-command-palette")]
        room = width - sum(key_width(c) + 1 for c in self.children if c.has_class("-command-palette"))
        used, fits = 0, True
        for child in keys:
            size = key_width(child)
            fits = fits and used + size <= room
            child.display = fits
            used += size + GAP
