"""The transcript store: every event of a session, in order, with listeners.

Events are appended from the session thread (and, for an abort, from the
thread that asked for it); listeners are called synchronously on the thread
that appended, so a frontend listener must only hand the event over (post a
message, put it in a queue), never block or touch widgets directly.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterator

from smtpdbg.core.events import Direction, Event, LedgerChange, StateChange, Wire

Listener = Callable[[Event], None]


class Transcript:
    """An append-only list of events with subscribers."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._listeners: tuple[Listener, ...] = ()
        self.wire_bytes = 0
        """Bytes of wire lines recorded so far (for the session's memory ceiling)."""
        self.capped = False
        """The memory ceiling was reached: later lines keep only their start."""
        self.listener_errors = 0
        """Exceptions raised by listeners (swallowed so a frontend bug cannot break the session)."""
        self._numbers: dict[str, int] = {}
        self.secrets = None
        """The session's :class:`~smtpdbg.core.known_secrets.SecretBook`: masked in every event recorded."""

    def next_number(self, kind: str) -> int:
        """The next number of a ``kind`` (``exchange``, ``connection``, ``transaction``), from 1, session-wide."""
        with self._lock:
            number = self._numbers.get(kind, 0) + 1
            self._numbers[kind] = number
            return number

    def numbered(self, kind: str) -> int:
        """How many numbers of a ``kind`` were given so far (the last one; 0 before the first)."""
        with self._lock:
            return self._numbers.get(kind, 0)

    def add(self, cls: type[Event], **fields) -> Event:
        """Create an event of ``cls`` with the next sequence number and append it."""
        fields = self.masked(cls, fields)
        with self._lock:
            event = cls(seq=len(self._events) + 1, mono=time.monotonic(), wall=time.time(), **fields)
            self._events.append(event)
            listeners = self._listeners
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - see listener_errors
                self.listener_errors += 1
        return event

    def masked(self, cls: type[Event], fields: dict) -> dict:
        """An event's fields with the session's secrets masked (a client line that held one is marked redacted)."""
        book = self.secrets
        if not book or cls is StateChange or cls is LedgerChange:
            return fields
        out = book.mask_fields(fields)
        if cls is Wire and fields.get("direction") is Direction.SEND and out.get("data") != fields.get("data"):
            out["redacted"] = True
        return out

    def subscribe(self, listener: Listener, *, replay: bool = False) -> Callable[[], None]:
        """Call ``listener`` for every new event; returns a function that unsubscribes.

        Args:
            replay: first call it for every event already recorded.
        """
        with self._lock:
            self._listeners = self._listeners + (listener,)
            past = self._recorded() if replay else []
        for event in past:
            listener(event)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = tuple(l for l in self._listeners if l is not listener)

        return unsubscribe

    def _recorded(self) -> list[Event]:
        """Every event kept, oldest first (called with the lock held)."""
        return list(self._events)

    def snapshot(self) -> list[Event]:
        with self._lock:
            return self._recorded()

    def since(self, seq: int) -> list[Event]:
        """Events with a sequence number greater than ``seq``."""
        with self._lock:
            return self._events[seq:]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> Event:
        return self._events[index]
