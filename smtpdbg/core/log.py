"""A crash-safe session log: every event appended to a file as it happens.

Each rendered line is written with one ``os.write`` on a file opened with
``O_APPEND`` (owner-only permissions), so whatever was recorded before a crash,
a kill or a power cut is on disk. Lines use the swaks-style notation with an
absolute timestamp; AUTH secrets were masked before the events existed.
"""

from __future__ import annotations

import os

from smtpdbg.core.events import Event, StateChange
from smtpdbg.core.files import open_private
from smtpdbg.core.render import TextRenderer, safe_output


class SessionLog:
    """A transcript listener appending to ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = open_private(path)  # created or tightened to 0600; another user's file is refused
        self._renderer = TextRenderer(timestamps="absolute", timing=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, StateChange) or self._fd < 0:
            return
        lines = self._renderer.render(event)
        if lines:
            os.write(self._fd, safe_output("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
