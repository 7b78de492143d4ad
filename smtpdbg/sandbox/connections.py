"""The sandbox's connection log: what the server saw of each client connection.

Tests and frontends often need facts that no message carries: which PROXY
header arrived, which SNI name and client certificate the TLS handshake showed,
what XCLIENT said, even when the client never sent a message. Each protocol
object (one per connection, on its listener's thread) owns a
:class:`LiveConnection` and updates it as the session goes on;
:class:`ConnectionLog` hands out frozen :class:`~smtpdbg.sandbox.model.Connection`
snapshots to any thread. One lock guards every update and snapshot, so a
snapshot never shows half an update.

The readiness probe the listeners make while starting is not logged.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable

from smtpdbg.sandbox.model import Connection, Listener


class LiveConnection:
    """The mutable record of one connection; written only by its protocol's thread.

    Reads from that thread need no lock; :meth:`update` takes the log's lock so
    that snapshots taken elsewhere are consistent.
    """

    def __init__(self, log: ConnectionLog | None, id: int, listener: Listener, peer: object) -> None:
        self._log = log
        self._lock = log.lock if log is not None else threading.Condition()
        self.fields: dict[str, Any] = {"id": id, "listener": listener, "peer": peer}
        """Current values, by :class:`Connection` field name."""

    @property
    def id(self) -> int | None:
        """The connection's number in the log, or None for an unlogged connection."""
        return self.fields["id"] if self._log is not None else None

    def get(self, name: str) -> Any:
        """The current value of a :class:`Connection` field."""
        if name in self.fields:
            return self.fields[name]
        return _DEFAULTS[name]

    def update(self, **changes: Any) -> None:
        """Change fields (names as in :class:`Connection`) and wake waiting threads."""
        unknown = set(changes) - _FIELD_NAMES
        if unknown:
            raise TypeError(f"not Connection fields: {sorted(unknown)}")
        with self._lock:
            self.fields.update(changes)
            self._lock.notify_all()

    def snapshot(self) -> Connection:
        """A frozen copy of the current values."""
        with self._lock:
            return Connection(**self.fields)


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Connection))
_DEFAULTS = {
    f.name: f.default for f in dataclasses.fields(Connection)
    if f.default is not dataclasses.MISSING
}


class ConnectionLog:
    """All connections of one sandbox run, in accept order; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        """Guards every record of this log; notified on each change."""
        self._records: list[LiveConnection] = []
        self._next_id = 1

    def open(self, listener: Listener, peer: object) -> LiveConnection:
        """Start the record of a newly accepted connection."""
        with self.lock:
            record = LiveConnection(self, self._next_id, listener, peer)
            self._next_id += 1
            self._records.append(record)
            self.lock.notify_all()
            return record

    def snapshot(self) -> list[Connection]:
        """Frozen copies of all records, oldest first."""
        with self.lock:
            return [Connection(**record.fields) for record in self._records]

    def clear(self) -> None:
        """Forget the records so far (live connections keep updating their own)."""
        with self.lock:
            self._records.clear()

    def wait_for(
        self, n: int, timeout: float, where: Callable[[Connection], bool] | None = None
    ) -> list[Connection]:
        """Block until at least ``n`` logged connections satisfy ``where`` (default: any).

        Returns:
            Snapshots of all connections (not only those that matched).

        Raises:
            TimeoutError: If fewer matched within ``timeout`` seconds.
        """
        def matching() -> int:
            snapshots = [Connection(**record.fields) for record in self._records]
            return sum(1 for c in snapshots if where is None or where(c))

        with self.lock:
            if not self.lock.wait_for(lambda: matching() >= n, timeout):
                raise TimeoutError(f"{matching()} of {n} connections within {timeout} s")
            return [Connection(**record.fields) for record in self._records]


def detached(listener: Listener, peer: object) -> LiveConnection:
    """A record that belongs to no log (the listeners' readiness probe)."""
    return LiveConnection(None, 0, listener, peer)
