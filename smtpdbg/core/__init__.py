"""The UI-free protocol core of smtpdbg.

It owns the smtplib session (:class:`Session`), records the wire transcript,
parses and runs the command language, computes completions and exposes
immutable state snapshots. It never imports textual, prompt_toolkit or rich;
a test checks that in a subprocess.
"""

from smtpdbg.core.completion import Candidate, Completions, complete
from smtpdbg.core.events import Body, CommandEnd, CommandStart, Direction, Error, Event, Info, InfoKind, StateChange, Wire
from smtpdbg.core.parser import Analysis, ParseError, Parsed, analyze, parse
from smtpdbg.core.session import Needs, Outcome, Session, SessionOptions
from smtpdbg.core.state import SessionState
from smtpdbg.core.target import Target, TargetError, parse_target
from smtpdbg.core.transcript import Transcript

__all__ = [
    "Analysis", "Body", "Candidate", "CommandEnd", "CommandStart", "Completions", "Direction", "Error", "Event",
    "Info", "InfoKind", "Needs", "Outcome", "ParseError", "Parsed", "Session", "SessionOptions", "SessionState",
    "StateChange", "Target", "TargetError", "Transcript", "Wire", "analyze", "complete", "parse", "parse_target",
]
