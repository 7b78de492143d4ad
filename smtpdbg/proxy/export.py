"""A proxied connection through the core's exporters: JSONL, text, HTML.

Both legs go into one file, each as one connection of the export: first the
client's leg (the client and smtpdbg: what the client saw), then the server's
(smtpdbg and the server: what the server saw), each opened by a line naming
it. The events are the ones the relay recorded, with the core's judgement of
every reply on them (:mod:`smtpdbg.proxy.judge`); sequence numbers are those of
the file. AUTH secrets were masked before anything was recorded; the core's
exporters redact again, escape every byte and write the file owner-only (0600).
"""

from __future__ import annotations

import dataclasses

from smtpdbg.core.events import Event, Info, InfoKind, Reply
from smtpdbg.proxy.relay import CLIENT, LEG_LABELS, SERVER, Connection

FORMATS = ("jsonl", "text", "html")
"""The core's export formats that fit a proxied connection (the replayable script is ``--capture``'s .smtp)."""
_SAW = {CLIENT: "what the client saw", SERVER: "what the server saw"}


def leg_events(connection: Connection) -> list[Event]:
    """The connection's events, leg after leg, each leg opened by a line naming it; numbered afresh from 1."""
    recorded = list(connection.events)
    ordered: list[Event] = []
    for leg in (CLIENT, SERVER):
        events = [item.event for item in recorded if item.leg == leg]
        if events:
            first = events[0]
            ordered.append(Info(seq=0, mono=first.mono, wall=first.wall, kind=InfoKind.INFO,
                                text=f"smtpdbg proxy, connection {connection.number}: the {LEG_LABELS[leg]} leg "
                                     f"({_SAW[leg]})"))
            ordered += events
    renumbered = {event.seq: number for number, event in enumerate(ordered, 1) if event.seq}
    out = []
    for number, event in enumerate(ordered, 1):
        changes = {"seq": number}
        if isinstance(event, Reply) and event.first_seq:
            changes["first_seq"] = renumbered.get(event.first_seq, event.first_seq)
        out.append(dataclasses.replace(event, **changes))
    return out


def recording(connection: Connection):
    """The connection as a core :class:`~smtpdbg.core.export.Recording` (secrets redacted)."""
    from smtpdbg.core.export import Recording

    upstream = connection.config.upstream
    transport = "smtps" if upstream.implicit_tls else "smtp"
    return Recording.from_events(leg_events(connection), target=f"{transport}://{upstream.host}:{upstream.port}",
                                 transport=transport)


def save(connection: Connection, fmt: str, path: str) -> None:
    """Write the connection in ``fmt`` (one of :data:`FORMATS`) to ``path``, mode 0600.

    Raises:
        ValueError: not one of :data:`FORMATS`.
        OSError: the file cannot be written.
    """
    from smtpdbg.core.export import export

    if fmt not in FORMATS:
        raise ValueError(f"a proxied connection saves as {', '.join(FORMATS)}, not {fmt!r}")
    export(fmt, recording(connection), path)
