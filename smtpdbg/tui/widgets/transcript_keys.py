"""What the transcript view does from the keyboard: moving, folding, filters, copying and search.

A mixin of :class:`~smtpdbg.tui.widgets.transcript.TranscriptView`; it only reads and changes the view's own state."""

from __future__ import annotations

from itertools import chain
from smtpdbg.tui.model.rows import marker
from smtpdbg.tui.widgets.transcript_lines import FILTER_CYCLE, TIMESTAMP_CYCLE


class TranscriptKeys:
    """What the transcript view does from the keyboard: moving, folding, filters, copying and search."""

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
        if self._view_rows is None or (self.filter == "all" and not self._expanded and not self.annotate):
            # every row once, by row (a wrapped row's pieces are one row): the fast path
            rows = len(self.store)
            first = self.row_at(start)[0] if 0 <= start < count else (rows - 1 if direction > 0 else 0)
            order = (chain(range(first + 1, rows), range(0, first + 1)) if direction > 0 else
                     chain(range(first - 1, -1, -1), range(rows - 1, first - 1, -1)))
            texts, notes = self.store.texts, self.store.notes
            found = next((i for i in order if needle in texts[i].lower() or (i in notes and needle in notes[i].lower())), None)
            found = self.index_of(found) if found is not None else None
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
