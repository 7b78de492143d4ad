"""prompt-toolkit history backed by the core's :class:`smtpdbg.core.history.History`.

The core history scrubs hand-typed AUTH payloads and writes an owner-only
file shared with the TUI; this adapter makes it what ``PromptSession`` (and
so Up/Down, Ctrl-R and auto-suggestion) reads. :class:`NoHistory` is for the
message-body and password prompts: nothing they read is kept, even in memory.
"""

from __future__ import annotations

from typing import Iterable

from prompt_toolkit.history import History

from smtpdbg.core.history import History as CoreHistory


class SessionHistory(History):
    """Newest-first view of the core history; appending goes through its scrubbing."""

    def __init__(self, core: CoreHistory) -> None:
        super().__init__()
        self.core = core

    def load_history_strings(self) -> Iterable[str]:
        return list(reversed(self.core.entries))

    def store_string(self, string: str) -> None:  # pragma: no cover - append_string stores
        self.core.append(string)

    def append_string(self, string: str) -> None:
        stored = self.core.append(string)
        if stored and (not self._loaded_strings or self._loaded_strings[0] != stored):
            self._loaded_strings.insert(0, stored)


class NoHistory(History):
    """Remembers nothing (message lines, passwords)."""

    def load_history_strings(self) -> Iterable[str]:
        return []

    def store_string(self, string: str) -> None:
        return None

    def append_string(self, string: str) -> None:
        return None
