"""smtpdbg as a library: smtplib's classes with a wire transcript, and tracing of code that uses smtplib.

:class:`SMTP`, :class:`SMTP_SSL` and :class:`LMTP` are drop-ins for smtplib's
classes (same constructors, same methods, same exceptions; CPython's own
``test_smtplib`` passes with them). Each object records every line both ways
in ``.transcript`` (AUTH secrets masked before they are recorded). Keyword-only
extras: ``transcript=`` (a :class:`~smtpdbg.core.transcript.Transcript`, a
fresh one by default), ``limits=``, ``tls_context=``, ``tls_name=``,
``verify_name=``, ``proxy_header=``, ``family=``, ``debug_to_stderr=``.

    with smtpdbg.SMTP("mail.example.org", 587) as smtp:
        smtp.starttls(context=ssl.create_default_context())
        smtp.send_message(message)
    print(smtpdbg.render(smtp))            # swaks-style text; "jsonl" and "html" too

:func:`tracing` puts the traced classes in place of smtplib's for the length
of a ``with`` block, so an existing program is traced without changing it.
"""

from __future__ import annotations

import smtplib
from contextlib import contextmanager
from typing import Iterator

from smtpdbg.core.events import Info, InfoKind
from smtpdbg.core.traced import TracedLMTP as LMTP
from smtpdbg.core.traced import TracedSMTP as SMTP
from smtpdbg.core.traced import TracedSMTP_SSL as SMTP_SSL
from smtpdbg.core.traced import TraceMixin
from smtpdbg.core.transcript import Transcript

FORMATS = ("text", "jsonl", "html")
"""What :func:`render` writes: the formats built from the wire alone (the others replay a session's commands)."""


def render(source: TraceMixin | Transcript, fmt: str = "text") -> str:
    """The transcript of a traced object (or a :class:`Transcript`) as text, JSON Lines or HTML.

    The same exports as the debugger's ``save`` (docs/jsonl-schema.md for ``jsonl``),
    with every password and AUTH payload already masked.

    Raises:
        ValueError: ``fmt`` is not one of :data:`FORMATS`.
    """
    from smtpdbg.core.export import Recording
    from smtpdbg.core.export import render as render_recording

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    transcript = source if isinstance(source, Transcript) else source.transcript
    events = transcript.snapshot()
    target = next((e.peer for e in events if isinstance(e, Info) and e.kind is InfoKind.CONNECTING), "")
    meta: dict = {"target": target, "transport": target.partition("://")[0] if target else ""}
    if isinstance(source, TraceMixin):
        meta["transport"] = source.transport
        meta["local_hostname"] = getattr(source, "local_hostname", None) or ""  # unset if connecting failed
        if isinstance(source.timeout, (int, float)):
            meta["timeout"] = float(source.timeout)
    return render_recording(fmt, Recording.from_events(events, **meta))


@contextmanager
def tracing(**options) -> Iterator[list[TraceMixin]]:
    """Trace every smtplib session made inside the block, without changing the code that makes it.

    ``smtplib.SMTP``, ``SMTP_SSL`` and ``LMTP`` are replaced by traced subclasses
    until the block ends. Yields a list that fills with the traced objects as they
    are created, each with its ``.transcript`` (also those whose connection failed).
    ``options`` are the keyword-only tracing options given to each object
    (``limits=``, ``tls_context=``, ``debug_to_stderr=`` ...).

    Code that took the class itself before the block (``from smtplib import SMTP``
    at import time) keeps smtplib's; ``smtplib.SMTP(...)`` inside the block is traced.
    Not for threads other than the block's that use smtplib at the same time: the
    replacement is process-wide.
    """
    sessions: list[TraceMixin] = []

    def traced(base: type) -> type:
        def __init__(self, *args, **kwargs):
            for name, value in options.items():
                kwargs.setdefault(name, value)
            sessions.append(self)  # before connecting: a failed connection is traced too
            try:
                base.__init__(self, *args, **kwargs)
            except BaseException:
                if not hasattr(self, "transcript"):  # refused before tracing began (bad arguments)
                    sessions.remove(self)
                raise

        return type(base.__name__, (base,), {"__init__": __init__, "__module__": __name__, "__doc__": base.__doc__})

    saved = smtplib.SMTP, smtplib.SMTP_SSL, smtplib.LMTP
    smtplib.SMTP, smtplib.SMTP_SSL, smtplib.LMTP = traced(SMTP), traced(SMTP_SSL), traced(LMTP)
    try:
        yield sessions
    finally:
        smtplib.SMTP, smtplib.SMTP_SSL, smtplib.LMTP = saved


__all__ = ["FORMATS", "LMTP", "SMTP", "SMTP_SSL", "render", "tracing"]
