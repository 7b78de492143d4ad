"""A crash-safe session log: every event appended to a file as it happens.

Each rendered line is written with one ``os.write`` on a file opened with
``O_APPEND`` (owner-only permissions), so whatever was recorded before a crash,
a kill or a power cut is on disk. Lines use the swaks-style notation with an
absolute timestamp; AUTH secrets were masked before the events existed.

The log never fails silently: the first write that fails (a full disk, an I/O
error) puts an error event of category ``log`` in the transcript at once
(every frontend shows it; ``smtpdbg run`` and the piped REPL then exit with
status 15), and the log stops there rather than keep a file with holes.
"""

from __future__ import annotations

import os

from smtpdbg.core.events import Error, Event, StateChange
from smtpdbg.core.files import open_private
from smtpdbg.core.render import TextRenderer, safe_output


class SessionLog:
    """A transcript listener appending to ``path``."""

    def __init__(self, path: str, transcript=None) -> None:
        self.path = path
        self.transcript = transcript
        """Where a write error is reported (the session's transcript)."""
        self.error = ""
        """Why the log stopped, once a write failed."""
        self._fd = open_private(path)  # created or tightened to 0600; another user's file is refused
        self._renderer = TextRenderer(timestamps="absolute", timing=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, StateChange) or self._fd < 0 or self.error:
            return
        lines = self._renderer.render(event)
        if lines:
            try:
                _write_all(self._fd, safe_output("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))
            except OSError as exc:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.error = f"--log {self.path}: cannot write ({exc.strerror or exc}); the log is incomplete from here"
        if self.transcript is not None:
            self.transcript.add(Error, category="log", message=self.error, exception=type(exc).__name__)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte (a short write is followed by the rest, or by the error that cut it)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
