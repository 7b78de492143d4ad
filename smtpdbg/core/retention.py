"""A transcript whose memory does not grow with a long script's local commands.

:class:`ScriptTranscript` is what ``smtpdbg run`` and the piped REPL record
into. Every event still reaches every listener (the printed transcript, the
``--log`` file) in order; what is *kept* for the summary, the exports and
``save`` differs from :class:`~smtpdbg.core.transcript.Transcript` in two ways:

- state snapshots (:class:`~smtpdbg.core.events.StateChange`) are not kept:
  every consumer of a recording drops them anyway;
- past :data:`KEEP_COMMANDS` commands, a command that only looked at the
  session (nothing on the wire, no error, no connection change: ``has_extn``,
  ``show``, ``explain``, ``timeout``...) is not kept either. One warning in the
  transcript says so when it first happens, and exports carry that warning.

So a script of a million such lines runs in constant memory, while the
protocol (every wire line, every error, every connection) is kept whole: past
:data:`HOT` events, the older ones go to disk in chunks
(:class:`~smtpdbg.core.spill.SpillStore`) and come back when the whole
recording is read (an export, ``save``). The ledger's transactions are kept
apart (:attr:`ScriptTranscript.transactions`), so the end-of-run summary needs
none of the events.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from operator import attrgetter

from smtpdbg.core.events import CommandEnd, CommandStart, Event, Info, InfoKind, LedgerChange, StateChange
from smtpdbg.core.spill import SpillStore
from smtpdbg.core.transcript import Transcript

KEEP_COMMANDS = 10_000
"""Commands kept in full before local-only commands stop being kept."""
HOT = 50_000
"""Events kept in memory; older ones go to disk, :data:`CHUNK` at a time."""
CHUNK = 25_000

_seq = attrgetter("seq")

_SHARED_LENGTH = 128
"""Texts and lines up to this length are shared between the events that repeat them."""
_SHARED_VALUES = 4096
"""Distinct values remembered for sharing (then it starts over)."""
_LOCAL_KINDS = (InfoKind.INFO,)
"""Info events a local command may emit and still count as local-only."""


class ScriptTranscript(Transcript):
    """A :class:`Transcript` that keeps what a recording of a long script needs (see the module docstring)."""

    def __init__(self, keep_commands: int = KEEP_COMMANDS) -> None:
        super().__init__()
        self.keep_commands = keep_commands
        self.kept_commands = 0
        self.dropped_commands = 0
        """Local-only commands shown but not kept."""
        self._seq = 0
        self._shared: dict = {}
        """Short texts and lines seen before (``noop``, ``250 2.0.0 Ok``), kept once however often they recur."""
        self._open: list[Event] | None = None
        """The events of the running command while it is local-only and past the limit (not kept yet)."""
        self._spill: SpillStore | None = SpillStore()
        """The older events (None: spilling failed once, everything stays in memory)."""
        self.transactions: dict = {}
        """The ledger's transactions by number, as last changed (what the end-of-run summary reads)."""

    def __bool__(self) -> bool:  # an empty transcript is still a transcript (``transcript or Transcript()``)
        return True

    def add(self, cls: type[Event], **fields) -> Event:
        notice = False
        fields = self.masked(cls, fields)
        with self._lock:
            self._seq += 1
            if cls is not StateChange:
                shared = self._shared
                for name, value in fields.items():
                    if type(value) in (str, bytes) and len(value) <= _SHARED_LENGTH:
                        fields[name] = shared.setdefault(value, value)
                if len(shared) > _SHARED_VALUES:
                    shared.clear()
            event = cls(seq=self._seq, mono=time.monotonic(), wall=time.time(), **fields)
            if cls is LedgerChange:
                self.transactions[event.transaction.index] = event.transaction
            if cls is not StateChange:
                notice = self._keep(event)
                if self._spill is not None and len(self._events) > HOT + CHUNK:
                    self._spill_oldest()
            listeners = self._listeners
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - see listener_errors
                self.listener_errors += 1
        if notice:
            self.add(Info, kind=InfoKind.WARNING,
                     text=f"over {self.keep_commands:,} commands: from here on, commands that only look at the "
                          "session (show, explain, has_extn...) are shown but not kept for exports and `save`")
        return event

    def _keep(self, event: Event) -> bool:
        """Keep ``event`` (or hold it back with its command); returns whether the notice is due now."""
        held = self._open
        if isinstance(event, CommandStart):
            if held is not None:  # a command that never ended: keep what it did
                self._events.extend(held)
            if self.kept_commands >= self.keep_commands:
                self._open = [event]
                return False
            self._open = None
            self._events.append(event)
            return False
        if held is None:
            if isinstance(event, CommandEnd):
                self.kept_commands += 1
            self._events.append(event)
            return False
        if isinstance(event, CommandEnd) and event.ok and event.code is None:
            self._open = None
            self.dropped_commands += 1
            return self.dropped_commands == 1
        if type(event) is Info and event.kind in _LOCAL_KINDS:
            held.append(event)
            return False
        self._open = None  # it did more than look: keep it whole
        self._events.extend(held)
        self._events.append(event)
        return False

    def _spill_oldest(self) -> None:
        try:
            self._spill.write(self._events[:CHUNK])
        except Exception:  # noqa: BLE001 - a full disk, an event that cannot be pickled: keep them in memory
            self._spill = None
            return
        del self._events[:CHUNK]

    def _recorded(self) -> list[Event]:
        spilled = list(self._spill) if self._spill else []
        return spilled + list(self._events)

    def since(self, seq: int) -> list[Event]:
        """Events kept with a sequence number greater than ``seq``: a binary search, the kept events are in order."""
        with self._lock:
            events = self._events
            if self._spill and (not events or events[0].seq > seq + 1):  # some of them went to disk
                return self._spill.since(seq) + events
            return events[bisect_right(events, seq, key=_seq):]

    def __len__(self) -> int:
        return len(self._events) + (len(self._spill) if self._spill else 0)

    def __getitem__(self, index: int) -> Event:
        with self._lock:
            spilled = len(self._spill) if self._spill else 0
            if index < 0:
                index += spilled + len(self._events)
            if index < spilled:
                return self._spill.at(index)
            return self._events[index - spilled]
