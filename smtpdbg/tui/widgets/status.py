"""The status bar: connection, protocol stage, TLS lock, auth, and what is running.

While a command runs it shows a spinner with the elapsed time and how many
commands are queued behind it, and how to abort; an ``--insecure`` session is
flagged here for as long as it lasts.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.reactive import var
from textual.widgets import Static

from smtpdbg.core.render import safe_text
from smtpdbg.core.state import SessionState

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class StatusBar(Static):
    """One line under the transcript."""

    COMPONENT_CLASSES = {"status--ok", "status--warn", "status--bad", "status--dim", "status--busy"}

    state: var[SessionState] = var(SessionState, always_update=True)
    """The snapshot shown."""
    queued: var[int] = var(0)
    """Commands submitted and not finished yet (including the running one)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._busy_since: float | None = None
        self._timer = None
        self._frame = 0

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.1, self._tick, pause=True)

    def watch_state(self, state: SessionState) -> None:
        if state.busy and self._busy_since is None:
            self._busy_since = time.monotonic()
            if self._timer is not None:
                self._timer.resume()
        elif not state.busy:
            self._busy_since = None
            if self._timer is not None:
                self._timer.pause()
        self.set_class(state.busy, "-busy")
        self.set_class(state.insecure or (state.tls is not None and not state.tls.verified), "-insecure")
        self._redraw()

    def watch_queued(self) -> None:
        self._redraw()

    def _tick(self) -> None:
        self._frame += 1
        self._redraw()

    def _style(self, name: str):
        return self.get_component_rich_style(f"status--{name}", partial=True)

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        """The connection on the left; what runs (or ``ready``) on the right, never cut: the connection gives way."""
        state = self.state
        ok, warn, bad, dim = (self._style(n) for n in ("ok", "warn", "bad", "dim"))
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("● " if state.connected else "○ ", ok if state.connected else dim)
        line.append(safe_text(state.target or "no target"))
        line.append("  │ ", dim)
        line.append(state.stage.value, "bold")
        line.append("  │ ", dim)
        tls = state.tls
        if tls is not None:
            if tls.verified:
                line.append(f"🔒 {tls.version}", ok)
            else:
                line.append(f"🔓 {tls.version} UNVERIFIED", bad)
        else:
            line.append("plaintext", warn)
        if state.insecure:
            line.append("  ⚠ --insecure" if tls is not None else "  ⚠ --insecure: certificates NOT verified", bad)
        if state.authenticated:  # the core's state: an authentication ends with its connection
            line.append("  │ ", dim)
            line.append(f"auth {safe_text(state.auth_user or '')}", ok)
        right = Text(no_wrap=True)
        if state.busy:
            since = self._busy_since or time.monotonic()
            spinner = SPINNER[self._frame % len(SPINNER)]
            right.append(f"{spinner} {safe_text(state.running)} {time.monotonic() - since:.1f} s", self._style("busy"))
            if self.queued > 1:
                right.append(f" (+{self.queued - 1} queued)", dim)
            right.append("  Esc aborts", dim)
        else:
            right.append("ready", dim)
        width = self.content_region.width
        if width and line.cell_len + 4 + right.cell_len > width:
            line.truncate(max(1, width - 4 - right.cell_len), overflow="ellipsis")
        line.append("  │ ", dim)
        line.append_text(right)
        self.update(line)
