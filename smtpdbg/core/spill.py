"""The older events of a long recording, kept on disk instead of in memory.

A script of a million commands that go on the wire records several million
events. :class:`~smtpdbg.core.retention.ScriptTranscript` keeps the newest
ones in memory and hands older ones here in chunks: each chunk is pickled,
compressed and appended to an anonymous temporary file (created owner-only by
:func:`tempfile.TemporaryFile` and already unlinked, so nothing is left behind,
whatever happens to the process). The events come back, in order, when the
whole recording is read (an export, ``save``) or when an old one is asked for.

Only events smtpdbg itself recorded are ever read back: the file is private to
this process and never named, so unpickling it trusts nothing from outside.
"""

from __future__ import annotations

import pickle
import tempfile
import zlib
from dataclasses import dataclass
from typing import Iterator

from smtpdbg.core.events import Event


@dataclass(frozen=True, slots=True)
class _Chunk:
    offset: int
    length: int
    last: int
    """Sequence number of its last event."""
    count: int


class SpillStore:
    """Chunks of events in an anonymous temporary file, oldest first."""

    def __init__(self) -> None:
        self._file = None
        self._chunks: list[_Chunk] = []
        self.count = 0
        """Events stored."""

    def __len__(self) -> int:
        return self.count

    def write(self, events: list[Event]) -> None:
        """Store ``events`` (in order, after every event stored before).

        Raises:
            OSError: the temporary file cannot be written (a full disk).
            pickle.PicklingError, TypeError, AttributeError: an event cannot be pickled.
        """
        if not events:
            return
        data = zlib.compress(pickle.dumps(events, protocol=pickle.HIGHEST_PROTOCOL), 1)
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="smtpdbg-events-")
        offset = self._file.seek(0, 2)
        self._file.write(data)
        self._chunks.append(_Chunk(offset, len(data), events[-1].seq, len(events)))
        self.count += len(events)

    def _read(self, chunk: _Chunk) -> list[Event]:
        self._file.seek(chunk.offset)
        return pickle.loads(zlib.decompress(self._file.read(chunk.length)))

    def __iter__(self) -> Iterator[Event]:
        for chunk in self._chunks:
            yield from self._read(chunk)

    def since(self, seq: int) -> list[Event]:
        """The stored events with a sequence number greater than ``seq``."""
        out: list[Event] = []
        for chunk in self._chunks:
            if chunk.last > seq:
                out.extend(event for event in self._read(chunk) if event.seq > seq)
        return out

    def at(self, index: int) -> Event:
        """The ``index``-th event stored (0: the oldest)."""
        for chunk in self._chunks:
            if index < chunk.count:
                return self._read(chunk)[index]
            index -= chunk.count
        raise IndexError("no such event")
