"""The transcript pane: a virtualised Line-API view over the row store.

Only the rows on screen are rendered (and cached), so a session with a million
lines scrolls as fast as one with ten. Appends arrive in batches (see
:class:`smtpdbg.tui.messages.EventPump`); the view follows the tail until the
user scrolls up, and says how many lines arrived meanwhile. Colours come from
component classes, so themes control them; server text is already escaped by
the row store and is never parsed as markup.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from itertools import chain
from typing import Iterable

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from smtpdbg.core.events import Event
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.widgets.meaning import ANNOTATION, annotation, interleave
from smtpdbg.tui.model.rows import FILTERS, Ingested, RowStore, marker

FILTER_CYCLE = ("all", "client", "server", "errors")
TIMESTAMP_CYCLE = ("", "absolute", "delta")

_STYLE_OF = {
    R.SEND: "send", R.BODY: "body", R.SUMMARY: "summary", R.RECV2: "recv-2", R.RECV3: "recv-3", R.RECV4: "recv-4",
    R.RECV5: "recv-5", R.RECV_BAD: "recv-bad", R.INFO: "info", R.TLSINFO: "tls", R.DEBUG: "info", R.WARN: "warning",
    R.ERROR: "error", R.EXPLAIN: "explain", R.COMMAND: "command", R.OMITTED: "info", R.ORDER: "out-of-order",
    R.RECV: "recv", R.NO_REPLY: "error", R.FATE_OK: "fate-ok", R.FATE_TEMPORARY: "fate-temporary",
    R.FATE_PERMANENT: "fate-permanent", R.FATE_UNKNOWN: "fate-unknown", R.FATE_NOT_SENT: "fate-not-sent",
    R.FATE_WARNING: "fate-warning",
}
def format_elapsed(seconds: float) -> str:
    """A command's latency: ``2.4 ms`` below a second, ``10.0 s`` above."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


ANNOTATION_MARKER = "      ↳ "
"""Prefix of an annotation line: indented under the reply it explains."""


class TranscriptView(ScrollView, can_focus=True):
    """Every event of the session, live, one row per wire line."""

    COMPONENT_CLASSES = {
        "transcript--send", "transcript--body", "transcript--summary", "transcript--recv-2", "transcript--recv-3",
        "transcript--recv-4", "transcript--recv-5", "transcript--recv-bad", "transcript--info", "transcript--tls",
        "transcript--warning", "transcript--error", "transcript--explain", "transcript--command",
        "transcript--note", "transcript--timestamp", "transcript--latency", "transcript--tls-marker",
        "transcript--masked", "transcript--match", "transcript--cursor", "transcript--ok", "transcript--failed",
        "transcript--out-of-order", "transcript--annotation", "transcript--recv", "transcript--fate-ok",
        "transcript--fate-temporary", "transcript--fate-permanent", "transcript--fate-unknown",
        "transcript--fate-not-sent", "transcript--fate-warning",
    }
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "top", "Top", show=False),
        Binding("end", "follow", "Follow", show=False),
        Binding("enter", "toggle_body", "Expand", tooltip="Expand or collapse the DATA body under the cursor"),
        Binding("c", "copy_exchange", "Copy", tooltip="Copy the whole command exchange under the cursor"),
        Binding("y", "copy_line", "Copy line", show=False),
        Binding("slash", "app.search", "Search", show=False),
        Binding("n", "search_next(1)", "Next match", show=False),
        Binding("N", "search_next(-1)", "Previous match", show=False),
        Binding("f", "cycle_filter", "Filter", tooltip="Show all / client / server / error lines"),
        Binding("t", "cycle_timestamps", "Time", tooltip="Timestamps: off / absolute / delta"),
        Binding("a", "toggle_annotations", "Meanings", tooltip="Show what each reply means, on a dim line under it"),
    ]

    follow: var[bool] = var(True)
    """Keep the newest line in view; turned off when the user scrolls up."""
    filter: var[str] = var("all")
    """``all``, ``client``, ``server`` or ``errors``."""
    timestamps: var[str] = var("")
    """``""`` (none), ``absolute`` or ``delta`` (since the previous line)."""
    show_latency: var[bool] = var(True)
    """Show each command's elapsed time on its command row."""
    cursor: var[int] = var(-1)
    """Display line under the keyboard cursor (-1: none)."""
    search_term: var[str] = var("")
    """Highlighted in every visible line (case-insensitive)."""
    annotate: var[bool] = var(False)
    """Show a dim line with its meaning under each reply (and each extension of an EHLO reply)."""

    class Copied(Message):
        """Text was copied to the clipboard (``lines`` lines)."""

        def __init__(self, lines: int) -> None:
            super().__init__()
            self.lines = lines

    class Selected(Message):
        """The line under the cursor changed: ``row`` is its row, or None when nothing is selected (blurred)."""

        def __init__(self, row: int | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.store = RowStore()
        """All rows, compact."""
        self.unseen = 0
        """Lines appended while not following."""
        self._view_rows: array | None = None
        """Display line to row, when a filter or an expanded body makes them differ."""
        self._view_sub: array | None = None
        """Display line to body line (-1: the row itself, ``ANNOTATION``: the row's annotation)."""
        self._expanded: set[int] = set()
        self._expansions: dict[int, list[tuple[int, str]]] = {}
        self._showing_expand = False
        """Whether the footer currently offers Enter (expand)."""
        self._cache: LRUCache[int, Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}

    # -- appending ----------------------------------------------------------------------------------
    def append_events(self, batch: Iterable[Event]) -> Ingested:
        """Add a batch of events; returns what changed (notices, last state)."""
        store = self.store
        start = len(store)
        result = store.ingest(batch)
        if result.rejudged and self._view_rows is not None:  # a filter chose rows by a kind that has changed since
            self._rebuild_view()  # the rows just appended included
            if result.added and not self.follow:
                self.unseen += result.added
                self._update_subtitle()
            return result
        for row in result.changed:
            self._refresh_row(row)
        if result.added:
            self._appended(start)
        return result

    def add_note(self, text: str, kind: int = R.INFO) -> None:
        """Add a line of the app's own (not from the session)."""
        start = len(self.store)
        self.store.add(kind, text, time.time())
        self._appended(start)

    def append_lines(self, kinds: bytes, texts: list[str], walls: Iterable[float]) -> None:
        """Add plain rows in bulk (benchmarks, replaying a saved transcript)."""
        start = len(self.store)
        self.store.extend(kinds, texts, walls)
        self._appended(start)

    def _appended(self, start: int) -> None:
        added = len(self.store) - start
        if self._view_rows is not None:
            rows = self.store.matching(FILTERS[self.filter], start) if self.filter != "all" else array("I", range(start, len(self.store)))
            if self.annotate:
                rows, subs = interleave(self.store, rows)
            else:
                subs = array("i", [-1]) * len(rows)
            self._view_rows.extend(rows)
            self._view_sub.extend(subs)
        self._update_virtual_size()
        if self.follow:
            self._scroll_tail()
            if self.scroll_y < self.max_scroll_y:  # the scrollbar appears only after a layout pass
                self.call_after_refresh(self._scroll_tail)
        else:
            self.unseen += added
            self._update_subtitle()
        self.refresh()

    def _scroll_tail(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.store.width + self._prefix_width() + 5, self.line_count)

    # -- display mapping ------------------------------------------------------------------------------
    @property
    def line_count(self) -> int:
        """Number of display lines (after filtering and expanding)."""
        return len(self.store) if self._view_rows is None else len(self._view_rows)

    def row_at(self, index: int) -> tuple[int, int]:
        """(row, body line or -1) shown at display line ``index``."""
        if self._view_rows is None:
            return index, -1
        return self._view_rows[index], self._view_sub[index]

    def index_of(self, row: int) -> int:
        """The display line of ``row`` (or the nearest after it when filtered out)."""
        if self._view_rows is None:
            return row
        return min(bisect_left(self._view_rows, row), max(0, len(self._view_rows) - 1))

    def _rebuild_view(self) -> None:
        keep = self.row_at(self.cursor)[0] if 0 <= self.cursor < self.line_count else None
        following = self.follow
        store = self.store
        if self.filter == "all" and not self._expanded and not self.annotate:
            self._view_rows = self._view_sub = None
        else:
            rows = store.matching(FILTERS[self.filter]) if self.filter != "all" else array("I", range(len(store)))
            if self.annotate:
                rows, sub = interleave(store, rows)
            else:
                sub = array("i", [-1]) * len(rows)
            for row in sorted(self._expanded, reverse=True):
                at = bisect_left(rows, row)
                if at < len(rows) and rows[at] == row:
                    lines = self._expansions.setdefault(row, store.body_lines(row))
                    rows[at + 1:at + 1] = array("I", [row]) * len(lines)
                    sub[at + 1:at + 1] = array("i", range(len(lines)))
            self._view_rows, self._view_sub = rows, sub
        self._cache.clear()
        self._update_virtual_size()
        if keep is not None:
            self.cursor = self.index_of(keep)
        if following:  # a filter or the meanings toggled at the tail: stay at the tail
            self.follow = True
            self._scroll_tail()
            self.call_after_refresh(self._scroll_tail)  # once the new virtual size is laid out
        elif keep is not None:
            self.scroll_to_line(self.cursor)
        self.refresh()

    # -- rendering --------------------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()

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
        """The pieces of display line ``index`` as (text, style name); joined, they are its plain text."""
        row, sub = self.row_at(index)
        store = self.store
        parts: list[tuple[str, str]] = []
        if self.timestamps:
            parts.append((self._stamp(row) if sub != ANNOTATION else " " * self._prefix_width(), "timestamp"))
        if sub == ANNOTATION:
            parts.append((ANNOTATION_MARKER + annotation(store, row), "annotation"))
            return parts
        if sub >= 0:
            kind, text = self._expansions[row][sub]
            parts.append((marker(kind), "tls-marker" if kind & R.TLS else _STYLE_OF[kind & R.KIND]))
            parts.append((text, _STYLE_OF[kind & R.KIND]))
            return parts
        kind = store.kinds[row]
        base = kind & R.KIND
        style = _STYLE_OF[base]
        parts.append((marker(kind), "tls-marker" if kind & R.TLS else style))
        text = store.texts[row]
        if base == R.SUMMARY:
            text += "   ▾ Enter collapses" if row in self._expanded else "   ▸ Enter expands"
        parts.append((text, "masked" if kind & R.MASKED else style))
        latency = store.latency.get(row)
        if latency is not None:  # the verdict first: on a narrow screen the smtplib call is what gets cut
            elapsed, ok, code = latency
            verdict = ("✓" if ok else "✗") + (f" {code}" if code is not None else "")
            parts.append((f"  {verdict}", "ok" if ok else "failed"))
            if self.show_latency:
                parts.append((f"  {format_elapsed(elapsed)}", "latency"))
        note = store.notes.get(row)
        if note:
            parts.append((f"  # {note}" if base != R.COMMAND else f"   {note}", "note"))
        return parts

    def line_text(self, index: int) -> str:
        return "".join(text for text, _ in self.line_parts(index))

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
        return Strip(list(text.render(self.app.console)), text.cell_len)

    def _refresh_row(self, row: int) -> None:
        index = self.index_of(row)
        self._cache.discard(index)
        self.refresh_line(index)

    def _refresh_index(self, index: int) -> None:
        if index >= 0:
            self._cache.discard(index)
            self.refresh_line(index)

    # -- selection (mouse) ------------------------------------------------------------------------------
    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        start, end = selection
        first = start.y if start is not None else 0
        last = min(end.y if end is not None else self.line_count - 1, self.line_count - 1)
        if last - first > 200_000:
            last = first + 200_000
        lines = [self.line_text(i) for i in range(first, last + 1)]
        if not lines:
            return None
        local = Selection(start._replace(y=start.y - first) if start else None, end._replace(y=end.y - first) if end else None)
        return local.extract("\n".join(lines)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._cache.clear()
        self.refresh()

    # -- watchers -------------------------------------------------------------------------------------
    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        at_end = new_value >= self.max_scroll_y
        if at_end != self.follow and (not at_end or new_value != old_value):
            self.follow = at_end

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.unseen = 0
        self._update_subtitle()

    def watch_filter(self) -> None:
        self._rebuild_view()
        self._update_subtitle()

    def watch_timestamps(self) -> None:
        self._cache.clear()
        self._update_virtual_size()
        self.refresh()

    def watch_show_latency(self) -> None:
        self._cache.clear()
        self.refresh()

    def watch_annotate(self) -> None:
        self._rebuild_view()
        self._update_subtitle()

    def watch_search_term(self) -> None:
        self._cache.clear()
        self.refresh()

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_index(old)
        self._refresh_index(new)
        self._announce()
        on_body = self._on_body()
        if on_body != self._showing_expand:  # the footer offers Enter only on a collapsible body
            self._showing_expand = on_body
            self.refresh_bindings()

    def _on_body(self) -> bool:
        return 0 <= self.cursor < self.line_count and self.row_at(self.cursor)[0] in self.store.bodies

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_body":
            return self._on_body()
        return True

    def _announce(self, focused: bool | None = None) -> None:
        """Tell the app which row is selected (the explanation panel follows it).

        Args:
            focused: whether the view has focus (``on_focus``/``on_blur`` run before ``has_focus`` changes).
        """
        focused = self.has_focus if focused is None else focused
        selected = focused and 0 <= self.cursor < self.line_count
        self.post_message(self.Selected(self.row_at(self.cursor)[0] if selected else None))

    def _update_subtitle(self) -> None:
        parts = []
        if self.filter != "all":
            parts.append(f"filter: {self.filter}")
        if self.annotate:
            parts.append("meanings")
        if not self.follow:
            parts.append(f"paused · {self.unseen:,} new · End follows" if self.unseen else "paused · End follows")
        self.border_subtitle = " · ".join(parts)

    def on_resize(self) -> None:
        if self.follow:  # e.g. the explanation panel took some rows: keep the tail in view
            self.call_after_refresh(self._scroll_tail)

    def on_focus(self) -> None:
        if not 0 <= self.cursor < self.line_count and self.line_count:
            self.cursor = min(self.line_count - 1, int(self.scroll_y) + self.scrollable_content_region.height - 1)
        self._refresh_index(self.cursor)
        self._announce(True)

    def on_blur(self) -> None:
        self._refresh_index(self.cursor)
        self._announce(False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_y) + offset.y
        if 0 <= index < self.line_count:
            self.cursor = index
            if event.chain == 2:
                self.action_toggle_body()

    # -- actions ----------------------------------------------------------------------------------------
    def scroll_to_line(self, index: int) -> None:
        height = self.scrollable_content_region.height
        if index < self.scroll_y:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= self.scroll_y + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)

    def move_cursor(self, index: int) -> None:
        if not self.line_count:
            return
        self.cursor = max(0, min(self.line_count - 1, index))
        self.scroll_to_line(self.cursor)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor((self.cursor if self.cursor >= 0 else self.line_count) + delta)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def action_top(self) -> None:
        self.move_cursor(0)

    def action_follow(self) -> None:
        self.follow = True
        self.cursor = self.line_count - 1
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_toggle_body(self) -> None:
        """Expand or collapse the DATA body at the cursor (or the nearest one above it)."""
        if not 0 <= self.cursor < self.line_count:
            return
        row, _ = self.row_at(self.cursor)
        if row not in self.store.bodies:
            return
        self.set_expanded(row, row not in self._expanded)

    def set_expanded(self, row: int, expanded: bool) -> None:
        if expanded:
            self._expanded.add(row)
        else:
            self._expanded.discard(row)
        self._rebuild_view()

    def expand_all(self, expanded: bool) -> None:
        self._expanded = set(self.store.bodies) if expanded else set()
        self._rebuild_view()

    def action_cycle_filter(self) -> None:
        self.filter = FILTER_CYCLE[(FILTER_CYCLE.index(self.filter) + 1) % len(FILTER_CYCLE)]

    def action_toggle_annotations(self) -> None:
        self.annotate = not self.annotate

    def action_cycle_timestamps(self) -> None:
        self.timestamps = TIMESTAMP_CYCLE[(TIMESTAMP_CYCLE.index(self.timestamps) + 1) % len(TIMESTAMP_CYCLE)]

    def action_copy_line(self) -> None:
        if 0 <= self.cursor < self.line_count:
            self.app.copy_to_clipboard(self.line_text(self.cursor))
            self.post_message(self.Copied(1))

    def action_copy_exchange(self) -> None:
        """Copy the command under the cursor (or the last one) with every line it produced."""
        store = self.store
        if not len(store):
            return
        row = self.row_at(self.cursor)[0] if 0 <= self.cursor < self.line_count else len(store) - 1
        lines = []
        for r in store.exchange(row):
            lines.append(store.plain(r))
            if r in self._expanded:
                lines += [marker(k) + t for k, t in self._expansions[r]]
        self.app.copy_to_clipboard("\n".join(lines))
        self.post_message(self.Copied(len(lines)))

    def search(self, term: str, direction: int = 1) -> bool:
        """Move the cursor to the next line containing ``term``; returns whether one was found."""
        self.search_term = term
        count = self.line_count
        if not term or not count:
            return False
        needle = term.lower()
        start = self.cursor if 0 <= self.cursor < count else (count - 1 if direction > 0 else 0)
        if direction > 0:
            order = chain(range(start + 1, count), range(0, start + 1))
        else:
            order = chain(range(start - 1, -1, -1), range(count - 1, start - 1, -1))
        if self._view_rows is None:
            texts, notes = self.store.texts, self.store.notes
            found = next((i for i in order if needle in texts[i].lower() or (i in notes and needle in notes[i].lower())), None)
        else:
            found = next((i for i in order if needle in self.line_text(i).lower()), None)
        if found is None:
            return False
        self.follow = False
        self.move_cursor(found)
        return True

    def action_search_next(self, direction: int) -> None:
        if self.search_term and not self.search(self.search_term, direction):
            self.app.bell()
