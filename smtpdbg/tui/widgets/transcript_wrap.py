"""Wrapping the transcript at the pane's width, lazily: only lines that are too long get more display lines.

A mixin of :class:`~smtpdbg.tui.widgets.transcript.TranscriptView`. The view maps
display lines to rows (``_view_rows``/``_view_sub``); wrapping adds a third array,
``_view_part``, the piece of the row a display line shows (0: its start). Which
rows are too long is found with a C-speed scan of the row texts (``max(map(len,
...))``) and an exact measure of the few that may not fit, when the width
changes (a resize, the inspector shown or hidden) and for each appended batch;
a transcript whose lines all fit keeps no arrays at all. Continuation pieces are
indented under the text, after the time stamp and the direction marker.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

from rich.cells import cell_len
from rich.segment import Segment
from textual.strip import Strip

MARKER = 4
"""Columns of a row's direction marker (`` -> ``, ``<-  ``)."""
SLACK = 24
"""Columns a row may add to its text (``▸ Enter expands``, a verdict): rows this close to the width are measured."""


class TranscriptWrap:
    """Wrapping the transcript at the pane's width, lazily."""

    _view_part: array | None = None
    _wrap_width = 0
    """Columns a display line has (0: not laid out yet, nothing wraps)."""
    _breaks: dict[tuple[int, int], list[int]]
    """Where the pieces of each measured (row, body line) start, for the current width (see :meth:`_starts`)."""

    def wrap_width(self) -> int:
        """The pane's text width, the scrollbar's column kept free (it comes and goes with the length)."""
        return max(0, self.region.width - self.styles.gutter.width - self.styles.scrollbar_size_vertical)

    def part_at(self, index: int) -> int:
        """Which piece of its row display line ``index`` shows (0: the start)."""
        return self._view_part[index] if self._view_part is not None else 0

    def _indent(self) -> int:
        return min(self._prefix_width() + MARKER, self._wrap_width // 2)

    def _starts(self, row: int, sub: int) -> list[int]:
        """Where each piece of a row's text starts: after a space when one is near, else where the width ends."""
        key = (row, sub)
        starts = self._breaks.get(key)
        if starts is None:
            text = "".join(piece for piece, _ in self._parts(row, sub))
            width, rest = self._wrap_width, self._wrap_width - self._indent()
            starts, at = [0], 0
            while cell_len(text[at:]) > width:
                cut = text.rfind(" ", at + width // 2, at + width)
                at = cut + 1 if cut > at else at + width
                starts.append(at)
                width = rest
            self._breaks[key] = starts
        return starts

    def _long_entries(self, rows: array | None, subs: array | None, start: int) -> list[tuple[int, int]]:
        """(position, pieces) of the entries that need more than one display line.

        Args:
            rows, subs: the view's entries from ``start`` on; None: every row from ``start``, whole.
        """
        if self._wrap_width <= 0:
            return []
        store = self.store
        texts = store.texts
        first = start if rows is None else (rows[0] if len(rows) else len(store))
        limit = self._wrap_width - self._prefix_width() - MARKER - SLACK
        candidates = set()
        if max(map(len, texts[first:]), default=0) > limit:
            candidates.update(first + i for i, text in enumerate(texts[first:]) if len(text) > limit)
        for extra in (store.latency, store.notes):
            for row in reversed(extra):  # rows are added in order: the newest keys come last
                if row < first:
                    break
                candidates.add(row)
        if rows is None:
            positions = sorted(row - start for row in candidates)
        else:
            positions = set()
            for row in candidates:
                at = bisect_left(rows, row)
                if at < len(rows) and rows[at] == row:
                    positions.add(at)
            if self.annotate or self._expanded:  # annotations and body lines: measured each
                positions.update(i for i, sub in enumerate(subs) if sub != -1)
            positions = sorted(positions)
        found = []
        for at in positions:
            row, sub = (start + at, -1) if rows is None else (rows[at], subs[at])
            pieces = len(self._starts(row, sub))
            if pieces > 1:
                found.append((at, pieces))
        return found

    def _spliced(self, rows: array | None, subs: array | None, start: int) -> tuple[array | None, array | None, array | None]:
        """The entries with a display line for each piece of the long ones (parts None: nothing wraps)."""
        longs = self._long_entries(rows, subs, start)
        if not longs:
            return rows, subs, None
        if rows is None:
            rows = array("I", range(start, len(self.store)))
            subs = array("i", [-1]) * len(rows)
        out_rows, out_subs, parts = array("I"), array("i"), array("H")
        done = 0
        for at, pieces in longs:
            out_rows.extend(rows[done:at + 1])
            out_subs.extend(subs[done:at + 1])
            parts.extend(array("H", [0]) * (at + 1 - done))
            out_rows.extend(array("I", [rows[at]]) * (pieces - 1))
            out_subs.extend(array("i", [subs[at]]) * (pieces - 1))
            parts.extend(array("H", range(1, pieces)))
            done = at + 1
        out_rows.extend(rows[done:])
        out_subs.extend(subs[done:])
        parts.extend(array("H", [0]) * (len(rows) - done))
        return out_rows, out_subs, parts

    def _pieces_changed(self, row: int) -> bool:
        """Whether ``row``, changed since it was laid out, now needs another number of display lines."""
        if row >= len(self.store):
            return False
        self._breaks.pop((row, -1), None)
        index = self.index_of(row)
        if self._view_rows is not None and (index >= len(self._view_rows) or self._view_rows[index] != row):
            return False  # not shown (filtered out)
        shown = 1
        if self._view_part is not None:
            while index + shown < len(self._view_part) and self._view_part[index + shown] > 0 \
                    and self._view_rows[index + shown] == row:
                shown += 1
        return len(self._starts(row, -1)) != shown

    def _piece_span(self, index: int) -> tuple[int, int]:
        """The characters of the whole line that display line ``index`` shows."""
        starts = self._starts(*self.row_at(index))
        part = self.part_at(index)
        return starts[part], starts[part + 1] if part + 1 < len(starts) else 1 << 30

    def _piece_text(self, text: str, index: int) -> str:
        """The plain text display line ``index`` shows of its row's ``text``."""
        start, end = self._piece_span(index)
        return " " * self._indent() + text[start:end] if start else text[start:end]

    def _piece_strip(self, strip: Strip, index: int) -> Strip:
        """The part of a row's strip display line ``index`` shows (columns counted as characters)."""
        start, end = self._piece_span(index)
        if not start:
            return strip.crop(0, end) if end < strip.cell_length else strip
        piece = strip.crop(start, end)
        return Strip([Segment(" " * self._indent(), self.rich_style), *piece], piece.cell_length + self._indent())

    def on_resize(self) -> None:
        width = self.wrap_width()
        if width != self._wrap_width:
            self._wrap_width = width
            self._breaks = {}
            self._rebuild_view()
        elif self.follow:  # e.g. the explanation panel took some rows: keep the tail in view
            self.call_after_refresh(self._scroll_tail)
