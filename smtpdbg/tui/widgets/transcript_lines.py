"""How the transcript view draws a row: its style, time stamp, parts and the strip on screen.

A mixin of :class:`~smtpdbg.tui.widgets.transcript.TranscriptView` (Textual's Line API: only visible rows are drawn)."""

from __future__ import annotations

import time
from array import array
from typing import Iterable

from rich.style import Style
from rich.text import Text
from textual.selection import Selection
from textual.strip import Strip
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.model.meaning import annotation, has_annotation
from smtpdbg.tui.model.rows import RowStore, marker


ANNOTATION = -2
"""The ``sub`` value of a display line that holds the annotation of its row."""

FILTER_CYCLE = ("all", "client", "server", "errors")
TIMESTAMP_CYCLE = ("", "absolute", "delta")

STYLE_OF = {
    R.SEND: "send", R.BODY: "body", R.SUMMARY: "summary", R.RECV2: "recv-2", R.RECV3: "recv-3", R.RECV4: "recv-4",
    R.RECV5: "recv-5", R.RECV_BAD: "recv-bad", R.INFO: "info", R.TLSINFO: "tls", R.DEBUG: "info", R.WARN: "warning",
    R.ERROR: "error", R.EXPLAIN: "explain", R.COMMAND: "command", R.OMITTED: "info", R.ORDER: "out-of-order",
    R.RECV: "recv", R.NO_REPLY: "error", R.FATE_OK: "fate-ok", R.FATE_TEMPORARY: "fate-temporary",
    R.FATE_PERMANENT: "fate-permanent", R.FATE_UNKNOWN: "fate-unknown", R.FATE_NOT_SENT: "fate-not-sent",
    R.FATE_WARNING: "fate-warning",
}


def interleave(store: RowStore, rows: Iterable[int]) -> tuple[array, array]:
    """Display rows with an annotation line after each annotated one: (rows, subs), sub -1 for the row itself."""
    out_rows, out_subs = array("I"), array("i")
    add_row, add_sub = out_rows.append, out_subs.append
    for row in rows:
        add_row(row)
        add_sub(-1)
        if has_annotation(store, row):
            add_row(row)
            add_sub(ANNOTATION)
    return out_rows, out_subs


def format_elapsed(seconds: float) -> str:
    """A command's latency: ``2.4 ms`` below a second, ``10.0 s`` above."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


ANNOTATION_MARKER = "      ↳ "
"""Prefix of an annotation line: indented under the reply it explains."""


class TranscriptLines:
    """How the transcript view draws a row: its style, time stamp, parts and the strip on screen."""

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"transcript--{name}", partial=True)
        return style

    def _prefix_width(self) -> int:
        return {"": 0, "absolute": 13, "delta": 12}[self.timestamps]

    def _stamp(self, row: int) -> str:
        wall = self.store.walls[row]
        if self.timestamps == "absolute":
            return time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall * 1000) % 1000:03d} "
        previous = self.store.walls[row - 1] if row > 0 else wall
        delta = max(0.0, wall - previous)
        return f"+{delta * 1000:8.1f}ms " if delta < 100 else f"+{delta:9.1f}s  "

    def line_parts(self, index: int) -> list[tuple[str, str]]:
        """The pieces of display line ``index``'s whole row as (text, style name); joined, its plain text."""
        return self._parts(*self.row_at(index))

    def _parts(self, row: int, sub: int) -> list[tuple[str, str]]:
        store = self.store
        parts: list[tuple[str, str]] = []
        if self.timestamps:
            parts.append((self._stamp(row) if sub != ANNOTATION else " " * self._prefix_width(), "timestamp"))
        if sub == ANNOTATION:
            parts.append((ANNOTATION_MARKER + annotation(store, row), "annotation"))
            return parts
        if sub >= 0:
            kind, text = self._expansions[row][sub]
            parts.append((marker(kind), "tls-marker" if kind & R.TLS else STYLE_OF[kind & R.KIND]))
            parts.append((text, STYLE_OF[kind & R.KIND]))
            return parts
        kind = store.kinds[row]
        base = kind & R.KIND
        style = STYLE_OF[base]
        parts.append((marker(kind), "tls-marker" if kind & R.TLS else style))
        text = store.texts[row]
        if base == R.SUMMARY:
            text += "   ▾ Enter collapses" if row in self._expanded else "   ▸ Enter expands"
        parts.append((text, "masked" if kind & R.MASKED else style))
        latency = store.latency.get(row)
        if latency is not None:  # the verdict first: on a narrow screen the smtplib call is what gets cut
            elapsed, ok, code = latency
            tallied = store.tallies.get(row)
            style = {"done": "ok", "partial": "warning"}.get(tallied[1], "failed") if tallied else "ok" if ok else "failed"
            parts.append((f"  {store.verdict(row)}", style))
            if self.show_latency:
                parts.append((f"  {format_elapsed(elapsed)}", "latency"))
        note = store.notes.get(row)
        if note:
            parts.append((f"  # {note}" if base != R.COMMAND else f"   {note}", "note"))
        return parts

    def line_text(self, index: int) -> str:
        """Display line ``index``'s text: its whole row, or for a wrapped row's continuation the piece it shows."""
        text = "".join(piece for piece, _ in self.line_parts(index))
        return self._piece_text(text, index) if self.part_at(index) else text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base_style = self.rich_style
        if index >= self.line_count:
            return Strip.blank(width, base_style)
        selection = self.text_selection
        strip = self._cache.get(index) if selection is None else None
        if strip is None:
            strip = self._build_strip(index, selection)
            if selection is None:
                self._cache[index] = strip
        pad = base_style + self._style("cursor") if index == self.cursor and self.has_focus else base_style
        return strip.crop_extend(scroll_x, scroll_x + width, pad).apply_offsets(scroll_x, index)

    def _build_strip(self, index: int, selection: Selection | None) -> Strip:
        text = Text(no_wrap=True, end="")
        for piece, style in self.line_parts(index):
            text.append(piece, self._style(style))
        plain = text.plain
        if index == self.cursor and self.has_focus:
            text.stylize(self._style("cursor"))
        if self.search_term:  # after the cursor: a match stays visible on the cursor's line
            needle, folded, at = self.search_term.lower(), plain.lower(), 0
            while (at := folded.find(needle, at)) >= 0:
                text.stylize(self._style("match"), at, at + len(needle))
                at += len(needle)
        if selection is not None and (span := selection.get_span(index)) is not None:
            start, end = span
            text.stylize(self.screen.get_component_rich_style("screen--selection"), start, len(plain) if end == -1 else end)
        text.stylize_before(self.rich_style)
        strip = Strip(list(text.render(self.app.console)), text.cell_len)
        return self._piece_strip(strip, index) if self._view_part is not None else strip
