"""The UI-free protocol core of smtpdbg.

It owns the smtplib session (:class:`Session`), records the wire transcript,
parses and runs the command language, computes completions and exposes
immutable state snapshots. It never imports textual, prompt_toolkit or rich;
a test checks that in a subprocess.

Names are imported on first use, so ``smtpdbg run`` (which needs the session,
not completion or the catalog) starts quickly.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Candidate": "completion", "Completions": "completion", "complete": "completion",
    "Body": "events", "CommandEnd": "events", "CommandStart": "events", "Direction": "events", "Error": "events",
    "Event": "events", "Info": "events", "InfoKind": "events", "LedgerChange": "events", "Reply": "events",
    "StateChange": "events", "Unanswered": "events", "Wire": "events",
    "Fate": "verdict", "ReplyClass": "verdict", "Verdict": "verdict", "classify_reply": "verdict",
    "Recipient": "ledger", "Transaction": "ledger",
    "Analysis": "parser", "ParseError": "parser", "Parsed": "parser", "analyze": "parser", "parse": "parser",
    "Needs": "session", "Outcome": "session", "Session": "session", "SessionOptions": "session",
    "SessionState": "state",
    "Target": "target", "TargetError": "target", "parse_target": "target",
    "Transcript": "transcript",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from smtpdbg.core.completion import Candidate, Completions, complete
    from smtpdbg.core.events import (Body, CommandEnd, CommandStart, Direction, Error, Event, Info, InfoKind, LedgerChange,
                                     Reply, StateChange, Unanswered, Wire)
    from smtpdbg.core.ledger import Recipient, Transaction
    from smtpdbg.core.verdict import Fate, ReplyClass, Verdict, classify_reply
    from smtpdbg.core.parser import Analysis, ParseError, Parsed, analyze, parse
    from smtpdbg.core.session import Needs, Outcome, Session, SessionOptions
    from smtpdbg.core.state import SessionState
    from smtpdbg.core.target import Target, TargetError, parse_target
    from smtpdbg.core.transcript import Transcript


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"smtpdbg.core.{module}"), name)
    globals()[name] = value
    return value
