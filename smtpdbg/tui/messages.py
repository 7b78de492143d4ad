"""Messages the session side hands to the UI thread.

The session calls its listeners on its own thread; :class:`EventPump` only
queues the events there and posts at most one :class:`SessionEvents` message
until the UI has drained the queue, so a flood of wire lines becomes one
message (and one redraw) per frame instead of one per line.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from textual.message import Message

from smtpdbg.core.events import Event

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from smtpdbg.core.session import Outcome


class SessionEvents(Message):
    """Events are waiting in ``pump``: drain them on the UI thread."""

    def __init__(self, pump: EventPump) -> None:
        super().__init__()
        self.pump = pump


class CommandFinished(Message):
    """A submitted command resolved (posted from the session thread)."""

    def __init__(self, outcome: Outcome, typed: bool = False) -> None:
        super().__init__()
        self.outcome = outcome
        self.typed = typed
        """The user entered the command (not one the app ran by itself)."""


class EventPump:
    """A session listener that batches events for the UI thread."""

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        """Where :class:`SessionEvents` is posted (the app)."""
        self._pending: deque[Event] = deque()
        self._scheduled = False
        self.closed = False
        """Set when the session is replaced: later events are dropped."""

    def __call__(self, event: Event) -> None:
        """Runs on the session thread: queue, and post once per batch (``post_message`` is thread-safe)."""
        if self.closed:
            return
        self._pending.append(event)
        if not self._scheduled:
            self._scheduled = True
            self.target.post_message(SessionEvents(self))

    def drain(self) -> list[Event]:
        """Runs on the UI thread: take everything queued so far."""
        self._scheduled = False
        pending = self._pending
        batch = []
        try:
            while True:
                batch.append(pending.popleft())
        except IndexError:
            pass
        return batch
