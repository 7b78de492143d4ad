"""What a frontend may use of a session: the declared contract between the core and the UIs.

The Textual app, the REPL and the script runner hold a :class:`SessionContract`;
:class:`smtpdbg.core.session.Session` is the real one, and the fake the TUI tests
drive must satisfy the same protocol (a test checks both, and that the
frontends use nothing of a session beyond it).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Callable, Protocol, runtime_checkable

from smtpdbg.core.context import Needs
from smtpdbg.core.events import Event
from smtpdbg.core.parser import Parsed
from smtpdbg.core.state import SessionState


@runtime_checkable
class SessionContract(Protocol):
    """A session as frontends see it: submit command lines, read events and the state snapshot, abort."""

    transcript: object
    """Every event so far (:class:`smtpdbg.core.transcript.Transcript`)."""
    target: object
    """The :class:`~smtpdbg.core.target.Target` it talks to, or ``None`` before ``connect TARGET``."""

    @property
    def state(self) -> SessionState:
        """The latest immutable snapshot (safe from any thread)."""

    def subscribe(self, listener: Callable[[Event], None], *, replay: bool = False) -> Callable[[], None]:
        """Call ``listener`` for every event (on the session thread); returns the unsubscribe function."""

    def needs(self, parsed: Parsed) -> Needs:
        """What must be collected before ``parsed`` runs: a message body, a password."""

    def submit(self, text: str, *, body: bytes | str | None = None, secret: str | None = None,
               timeout: float | None = None) -> Future:
        """Queue a command line; the future resolves to its :class:`~smtpdbg.core.outcome.Outcome`."""

    def abort(self) -> bool:
        """Interrupt the running network command; whether one was."""

    def shutdown(self, *, wait: float = 5.0) -> None:
        """Stop the session thread and close the connection."""


__all__ = ["SessionContract"]
