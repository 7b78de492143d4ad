"""Exports of a session: what gets pasted into bug reports and handed to others.

A :class:`Recording` is a session's events with every string passed through
the :class:`~smtpdbg.core.export.redact.Redactor`, plus the rebuilt dialogue
(:mod:`smtpdbg.core.export.dialogue`). Each format renders a recording to
text:

========  =====================================================================
text      the swaks-style transcript (``-> EHLO``, ``<- 250``), plain text
jsonl     one JSON object per event, versioned schema (docs/jsonl-schema.md)
python    a runnable smtplib script that reproduces the session
swaks     the equivalent swaks command line(s), with what swaks cannot express
html      the transcript with colours, standalone, for teaching material
script    an smtpdbg script with ``expect`` lines (see :mod:`smtpdbg.core.record`)
========  =====================================================================

Secrets: the transcript never holds a password or an AUTH payload (the core
masks them before recording); exports additionally remove payloads typed by
hand with ``raw``/``docmd``. There is nothing to "keep": the secret was never
recorded. Files are created owner-only (0600).
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from typing import Iterable

from smtpdbg import __version__
from smtpdbg.core.events import Body, CommandEnd, CommandStart, Error, Event, Info, StateChange, Wire
from smtpdbg.core.export.dialogue import Dialogue, analyze
from smtpdbg.core.export.redact import Redactor, auth_secret_variables, auth_users
from smtpdbg.core.known_secrets import password_forms
from smtpdbg.core.files import open_private
from smtpdbg.core.render import safe_output

EXCLUDED_COMMANDS = ("save",)
"""Commands left out of every export (saving is not part of the dialogue)."""


@dataclass
class Recording:
    """A redacted session, ready to render in any format."""

    events: list[Event]
    """Events with secrets removed from every string; state snapshots dropped."""
    dialogue: Dialogue
    target: str = ""
    transport: str = ""
    local_hostname: str = ""
    timeout: float = 30.0
    insecure: bool = False
    ca: str = ""
    """The CA file the session trusted (``--ca``, or the sandbox's), if any."""
    generator: str = f"smtpdbg {__version__}"
    secrets: int = 0
    """How many distinct secrets the redactor knew (for the export's own note)."""
    notes: list[str] = field(default_factory=list)

    @property
    def created(self) -> float:
        return self.events[0].wall if self.events else time.time()

    @classmethod
    def from_events(cls, events: Iterable[Event], *, extra_secrets: Iterable[str] = (), **meta) -> Recording:
        """Build from raw events: drop excluded commands, redact, analyse."""
        events = [e for e in events if not isinstance(e, StateChange)]
        events = _without_excluded(events)
        redactor = Redactor.for_dialogue(analyze(events), extra_secrets)
        clean = [_redact(e, redactor) for e in events] if redactor else events
        return cls(clean, analyze(clean), secrets=len(redactor.secrets), **meta)

    @classmethod
    def from_session(cls, session, *, extra_secrets: Iterable[str] = ()) -> Recording:
        """A recording of everything ``session`` did so far."""
        options = session.options
        state = session.state
        secrets = list(extra_secrets)
        events = session.transcript.snapshot()
        # Every user an AUTH named, not only the one that succeeded: a failed PLAIN carried the
        # password just the same (base64 of authzid\0user\0password).
        users = sorted(auth_users(events) | ({state.auth_user} if state.auth_user else set()))
        for name in sorted(auth_secret_variables(events) | ({options.password_env} if options.password_env else set())):
            if session.environ.get(name):
                secrets += password_forms(session.environ[name], users)
        target = session.target
        return cls.from_events(
            events, extra_secrets=secrets,
            target=str(target) if target else "", transport=target.transport if target else "",
            local_hostname=options.local_hostname or "", timeout=options.timeout, insecure=options.insecure,
            ca=options.ca or "",
        )


def _without_excluded(events: list[Event]) -> list[Event]:
    skipping: set[int] = set()
    out = []
    for event in events:
        if isinstance(event, CommandStart) and event.text.split(None, 1)[:1] and \
                event.text.split(None, 1)[0].lower() in EXCLUDED_COMMANDS + ("export",):
            skipping.add(event.command_id)
            continue
        if isinstance(event, CommandEnd) and event.command_id in skipping:
            skipping.discard(event.command_id)
            continue
        if skipping and isinstance(event, (Info, Error)):
            continue
        out.append(event)
    return out


def _redact(event: Event, redactor: Redactor) -> Event:
    if isinstance(event, Wire):
        return dataclasses.replace(event, data=redactor.data(event.data), note=redactor.text(event.note))
    if isinstance(event, (CommandStart,)):
        return dataclasses.replace(event, text=redactor.text(event.text), call=redactor.text(event.call))
    if isinstance(event, CommandEnd):
        return dataclasses.replace(event, text=redactor.text(event.text), reply=redactor.text(event.reply))
    if isinstance(event, Info):
        return dataclasses.replace(event, text=redactor.text(event.text))
    if isinstance(event, Error):
        return dataclasses.replace(event, message=redactor.text(event.message))
    if isinstance(event, Body):
        return dataclasses.replace(event, head=tuple(redactor.data(l) for l in event.head),
                                   tail=tuple(redactor.data(l) for l in event.tail))
    return event


_RENDERERS = {
    "script": ("smtpdbg.core.record", "render_script"),
    "text": ("smtpdbg.core.export.text", "render_text"),
    "jsonl": ("smtpdbg.core.export.jsonl", "render_jsonl"),
    "python": ("smtpdbg.core.export.python", "render_python"),
    "swaks": ("smtpdbg.core.export.swaks", "render_swaks"),
    "html": ("smtpdbg.core.export.html", "render_html"),
}


FORMATS: dict[str, str] = {
    "script": "an smtpdbg script with expect lines (replay with smtpdbg run FILE --target OTHER)",
    "text": "the transcript in swaks-style notation (for bug reports)",
    "jsonl": "one JSON object per event, versioned schema (for tools and smtpdbg diff)",
    "python": "a runnable smtplib script reproducing the session",
    "swaks": "the equivalent swaks command line(s)",
    "html": "the transcript with colours (teaching material)",
}
"""Export formats and what each is for (completion shows the meaning)."""


def render(fmt: str, recording: Recording) -> str:
    """Render ``recording`` in ``fmt`` (a key of :data:`FORMATS`).

    Raises:
        ValueError: unknown format.
    """
    import importlib

    if fmt not in _RENDERERS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    module, name = _RENDERERS[fmt]
    text = getattr(importlib.import_module(module), name)(recording)
    # The last guard of every format: whatever a renderer let through, no byte of the file can drive
    # the terminal of someone who runs `cat` on it (JSONL keeps valid JSON: \\uXXXX escapes).
    return safe_output(text, json=fmt == "jsonl")


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path``, created (or emptied and tightened) with owner-only permissions, 0600.

    Raises:
        PermissionError: ``path`` belongs to another user (refused before anything is truncated).
    """
    fd = open_private(path, os.O_WRONLY, truncate=True)
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as handle:
        handle.write(text)


def export(fmt: str, recording: Recording, path: str) -> str:
    """Render and write; returns the text written."""
    text = render(fmt, recording)
    write_private(path, text)
    return text


__all__ = ["EXCLUDED_COMMANDS", "FORMATS", "Recording", "export", "render", "write_private"]
