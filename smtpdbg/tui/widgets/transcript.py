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
from typing import Iterable

from rich.style import Style
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
from smtpdbg.tui.model.rows import FILTERS, Ingested, RowStore

from smtpdbg.tui.widgets.transcript_keys import TranscriptKeys
from smtpdbg.tui.widgets.transcript_lines import TranscriptLines, format_elapsed, interleave  # noqa: F401 - format_elapsed: re-exported
from smtpdbg.tui.widgets.transcript_wrap import TranscriptWrap


class TranscriptView(TranscriptLines, TranscriptWrap, TranscriptKeys, ScrollView, can_focus=True):
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
        self._view_part: array | None = None
        """Display line to the piece of its wrapped row (None: no row wraps; see TranscriptWrap)."""
        self._breaks: dict[tuple[int, int], list[int]] = {}
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
        if result.rejudged and (self.filter != "all" or self.annotate):  # rows chosen by a kind that has changed since
            self._rebuild_view()  # the rows just appended included
            if result.added and not self.follow:
                self.unseen += result.added
                self._update_subtitle()
            return result
        if self._wrap_width and any(self._pieces_changed(row) for row in result.changed):
            self._rebuild_view()  # a row grew (its verdict came) past the width: it needs more display lines
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
            rows, subs, parts = self._spliced(rows, subs, start)
            if parts is not None and self._view_part is None:
                self._view_part = array("H", [0]) * len(self._view_rows)
            self._view_rows.extend(rows)
            self._view_sub.extend(subs)
            if self._view_part is not None:
                self._view_part.extend(parts if parts is not None else array("H", [0]) * len(rows))
        elif self._long_entries(None, None, start):  # the first row too long for the pane
            self._rebuild_view()
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
        width = self._wrap_width or self.store.width + self._prefix_width() + 5  # wrapped: no sideways scrolling
        self.virtual_size = Size(width, self.line_count)

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
        self._breaks = {}  # the lines may have changed width (time stamps, latency, annotations)
        keep = self.row_at(self.cursor)[0] if 0 <= self.cursor < self.line_count else None
        following = self.follow
        store = self.store
        if self.filter == "all" and not self._expanded and not self.annotate:
            rows = sub = None
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
        self._view_rows, self._view_sub, self._view_part = self._spliced(rows, sub, 0)
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
        self._rebuild_view()  # the lines are wider: which ones wrap changes

    def watch_show_latency(self) -> None:
        self._rebuild_view()

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


