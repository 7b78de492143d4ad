"""The REPL's completer: a thin adapter from prompt-toolkit to the core's completion engine.

All the knowledge (what kind of word is expected, which candidates fit the
session) lives in :func:`smtpdbg.core.completion.complete`, shared with the
TUI; this class only turns its candidates into prompt-toolkit completions,
with the meaning as the menu's meta column and candidates that do not fit the
session (not advertised, not valid in this stage) dimmed rather than hidden.
"""

from __future__ import annotations

from typing import Callable, Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from smtpdbg.core.completion import complete
from smtpdbg.core.state import SessionState

OTHER_STYLE = "class:completion.other"
"""Style of a candidate that does not fit the session (offered anyway: a debugger may break rules)."""


class SessionCompleter(Completer):
    """Completes the command line from the live session state."""

    def __init__(self, state: Callable[[], SessionState]) -> None:
        self.state = state

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        cursor = document.cursor_position
        result = complete(document.text, cursor, self.state())
        start = result.start - cursor
        for candidate in result.candidates:
            yield Completion(candidate.text, start_position=start, display=candidate.display,
                             display_meta=candidate.meaning, style="" if candidate.preferred else OTHER_STYLE)
