"""The stage strip: the protocol state machine as one line that lights up as the session advances.

connected → greeted → EHLO → TLS → EHLO again → AUTH → MAIL → RCPT → DATA → done,
each stage with the latency of the reply that reached it. Stages behind the
session are lit, the current one is highlighted, the ones it skipped (no TLS,
no AUTH) are marked as skipped. A refused command marks its stage in red with
the reply code; once a message was sent, DATA says how many recipients it
reached (``DATA 2/3 ✓``); RSET, STARTTLS and a new connection visibly reset
the stages after them. What to show is decided by
:class:`smtpdbg.tui.model.stages.StageTrack` from the core's events and state;
:class:`StageStrip` only draws it, abbreviating until it fits (80 columns included).
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from smtpdbg.tui.model.stages import LABELS, SHORT, TINY, Segment, StageTrack


def format_latency(seconds: float, compact: bool = False) -> str:
    """``0.8ms``, ``12ms``, ``1.2s``; compact: ``1``, ``12`` (milliseconds, said once at the end), ``1.2s``."""
    ms = seconds * 1000
    if ms >= 1000:
        return f"{seconds:.1f}s"
    if compact:
        return f"{ms:.0f}"
    return f"{ms:.1f}ms" if ms < 10 else f"{ms:.0f}ms"


class StageStrip(Widget):
    """One line above the status bar: the protocol stages, lit as the session walks through them."""

    COMPONENT_CLASSES = {"stages--done", "stages--current", "stages--todo", "stages--skipped", "stages--failed",
                         "stages--latency", "stages--separator", "stages--reset", "stages--closed",
                         "stages--partial", "stages--unknown"}
    DEFAULT_CSS = "StageStrip { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.track = StageTrack()
        """The model drawn."""

    def restart(self) -> None:
        """A new session: start from scratch."""
        self.track = StageTrack()
        self.refresh()

    def follow(self, timeline) -> None:
        """Apply a batch's replies, ledger changes and snapshots (see :class:`StageTrack`)."""
        if timeline:
            self.track.follow(timeline)
            self.refresh()

    def render(self) -> Text:
        width = self.content_region.width or self.size.width
        segments = self.track.segments()
        for labels, separator, latency in ((LABELS, " › ", "full"), (SHORT, " › ", "full"), (SHORT, "›", "full"),
                                           (SHORT, "›", "compact"), (SHORT, "›", ""), (TINY, "›", "")):
            line = self._line(segments, labels, separator, latency)
            if line.cell_len <= width:
                return line
        return line

    def _line(self, segments: list[Segment], labels, separator: str, latency: str) -> Text:
        """The strip with these labels; ``latency`` is ``full``, ``compact`` (bare milliseconds) or ``""`` (none)."""
        style = lambda name: self.get_component_rich_style(f"stages--{name}", partial=True)  # noqa: E731
        track = self.track
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        timed = False
        if not track.state.connected:
            line.append("○ closed" if track.last_position >= 0 else "○ not connected", style("closed"))
            line.append(" │ ", style("separator"))  # "closed" is the connection, not one more stage
        for segment in segments:
            if segment.index:
                line.append(separator, style("separator"))
            label = labels[segment.index]
            if segment.status == "current":
                label = f" {label} "
            line.append(label, style(segment.status))
            if segment.tally:  # the message's outcome per recipient, from the ledger
                line.append(f" {segment.tally}", style(segment.tally_status))
            if segment.status == "failed" and not segment.tally:
                line.append(f" ✗{segment.code}" if segment.code is not None else " ✗", style("failed"))
            elif latency and segment.latency is not None and segment.status in ("done", "current"):
                line.append(f" {format_latency(segment.latency, latency == 'compact')}", style("latency"))
                timed = True
        if track.reset:
            line.append(f"  ↺ {track.reset}", style("reset"))
        if timed and latency == "compact":
            line.append("  (ms)", style("latency"))
        return line
