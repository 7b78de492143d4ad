"""The stage strip: the protocol state machine as one line that lights up as the session advances.

connected → greeted → EHLO → TLS → EHLO again → AUTH → MAIL → RCPT → DATA → done,
each stage with the latency of the command that reached it. Stages behind the
session are lit, the current one is highlighted, the ones it skipped (no TLS,
no AUTH) are marked as skipped. A refused command marks its stage in red with
the reply code; RSET, STARTTLS and a new connection visibly reset the stages
after them. :class:`StageTrack` is the model (fed by the row store's timeline:
command ends and state snapshots, in order); :class:`StageStrip` draws it,
abbreviating until it fits (80 columns included).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from smtpdbg.core.events import CommandEnd
from smtpdbg.core.protocol import Stage
from smtpdbg.core.state import SessionState

CONNECTED, GREETED, EHLO, TLS, EHLO_AGAIN, AUTH, MAIL, RCPT, DATA, DONE = range(10)
LABELS = ("connected", "greeted", "EHLO", "TLS", "EHLO again", "AUTH", "MAIL", "RCPT", "DATA", "done")
"""Full stage names, in protocol order."""
SHORT = ("conn", "greet", "EHLO", "TLS", "EHLO²", "AUTH", "MAIL", "RCPT", "DATA", "done")
"""Abbreviations for narrow terminals."""
TINY = ("c", "g", "E", "T", "E²", "A", "M", "R", "D", "✓")
"""Last resort: one or two characters a stage."""

_POSITION = {Stage.DISCONNECTED: -1, Stage.CONNECTED: CONNECTED, Stage.GREETED: GREETED, Stage.TLS: TLS,
             Stage.AUTHENTICATED: AUTH, Stage.MAIL: MAIL, Stage.RCPT: RCPT, Stage.DATA: DATA}
_COMMAND_STAGE = {"connect": GREETED, "reconnect": GREETED, "starttls": TLS, "login": AUTH, "auth": AUTH,
                  "mail": MAIL, "rcpt": RCPT, "data": DATA, "bdat": DATA, "sendmail": DATA, "send_message": DATA}
"""The stage a command's success reaches (EHLO/HELO depend on TLS; see :meth:`StageTrack._stage_of`)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One stage as drawn."""

    index: int
    status: str
    """``done``, ``current``, ``todo``, ``skipped`` or ``failed``."""
    latency: float | None = None
    """Seconds the command that reached it took."""
    code: int | None = None
    """The refusing reply code, for a failed stage."""


class StageTrack:
    """Where the session is in the state machine, and how long each step took."""

    def __init__(self) -> None:
        self.state = SessionState()
        """The latest snapshot."""
        self.latency: dict[int, float] = {}
        """Stage index to the elapsed seconds of the command that reached it."""
        self.failed: tuple[int, int | None] | None = None
        """The stage of the last refused command and its code, until a later command reaches a stage."""
        self.reset = ""
        """What last wiped the transaction stages (``RSET``), shown until the next MAIL."""
        self.delivered = False
        """The last transaction ended with a message accepted (``done`` is lit until the next MAIL)."""
        self.last_position = -1
        """The position before the connection closed (the strip keeps it, dimmed)."""

    def follow(self, timeline) -> None:
        """Apply command ends and state snapshots, in the order they happened."""
        for item in timeline:
            if isinstance(item, CommandEnd):
                self._command(item)
            else:
                if item.connected:
                    self.last_position = self._position(item)
                self.state = item

    def _stage_of(self, verb: str) -> int | None:
        if verb in ("ehlo", "helo", "ehlo_or_helo_if_needed"):
            tls = self.state.tls
            return EHLO_AGAIN if tls is not None and not tls.implicit else EHLO
        return _COMMAND_STAGE.get(verb)

    def _command(self, end: CommandEnd) -> None:
        verb = end.text.split(" ", 1)[0].lower()
        if verb == "rset" and end.ok:
            self._clear(MAIL)
            self.reset, self.failed = "RSET", None
            return
        stage = self._stage_of(verb)
        if stage is None:
            return
        if not end.ok:
            self.failed = (stage, end.code)
            return
        if stage == GREETED:
            self._clear(CONNECTED)
            self.last_position = -1
        elif stage in (TLS, MAIL):
            self._clear(stage)
        self.failed = None
        self.latency[stage] = end.elapsed
        if stage == DATA:
            self.delivered = True  # the reply after the final dot was positive

    def _clear(self, first: int) -> None:
        """Forget the stages from ``first`` on (a new connection, STARTTLS, MAIL or RSET starts them over)."""
        for stage in range(first, DONE + 1):
            self.latency.pop(stage, None)
        self.delivered = False
        self.reset = ""

    def _position(self, state: SessionState) -> int:
        if state.stage is Stage.IDENTIFIED:
            if self.delivered:
                return DONE
            return EHLO_AGAIN if state.tls is not None and not state.tls.implicit else EHLO
        if state.stage is Stage.AUTHENTICATED and self.delivered:
            return DONE
        return _POSITION[state.stage]

    def segments(self) -> list[Segment]:
        """Every stage with its status, for drawing."""
        state = self.state
        closed = not state.connected
        position = self.last_position if closed else self._position(state)
        implicit = state.tls is not None and state.tls.implicit
        skipped = {AUTH} if not state.authenticated else set()
        if state.tls is None or implicit:
            skipped |= {EHLO_AGAIN} if implicit else {TLS, EHLO_AGAIN}
        out = []
        for index in range(DONE + 1):
            if implicit and index == TLS and position >= GREETED:
                status = "done"  # implicit TLS (SMTPS) is up before the greeting
            elif implicit and index == EHLO_AGAIN:
                status = "skipped"
            elif index < position:
                status = "skipped" if index in skipped else "done"
            elif index == position:
                status = "done" if closed else "current"
            else:
                status = "todo"
            code = None
            if self.failed is not None and self.failed[0] == index and not closed:
                status, code = "failed", self.failed[1]
            out.append(Segment(index, status, self.latency.get(index) if status != "todo" else None, code))
        return out


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
                         "stages--latency", "stages--separator", "stages--reset", "stages--closed"}
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
        """Apply a batch's command ends and snapshots (see :class:`StageTrack`)."""
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
            if segment.status == "failed" and segment.code is not None:
                line.append(f" ✗{segment.code}", style("failed"))
            elif latency and segment.latency is not None and segment.status in ("done", "current"):
                line.append(f" {format_latency(segment.latency, latency == 'compact')}", style("latency"))
                timed = True
        if track.reset:
            line.append(f"  ↺ {track.reset}", style("reset"))
        if timed and latency == "compact":
            line.append("  (ms)", style("latency"))
        return line
