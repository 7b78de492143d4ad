"""In the traced program: smtplib's classes replaced by traced drop-ins that stream their events to the parent.

:func:`install` is called by the ``sitecustomize`` that ``smtpdbg trace`` puts
first on ``PYTHONPATH``; the socket's path is in ``SMTPDBG_TRACE_SOCKET``.
Nothing here may break the program: when the parent cannot be reached, the
program runs untraced.
"""

from __future__ import annotations

import itertools
import json
import os
import smtplib
import socket
import threading

from smtpdbg.core.transcript import Transcript
from smtpdbg.trace.stream import encode

ENV = "SMTPDBG_TRACE_SOCKET"


class Channel:
    """The socket to the parent, shared by every session of the process (one lock for whole lines)."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)

    def send(self, session: int, event) -> None:
        record = encode(session, event)
        if record is None:
            return
        line = (json.dumps(record) + "\n").encode("utf-8")
        with self.lock:
            try:
                self.sock.sendall(line)
            except OSError:
                pass  # the parent went away: the program goes on untraced


def traced_class(base: type, channel: Channel) -> type:
    """``base`` (a traced drop-in) whose every object streams its transcript through ``channel``."""

    def __init__(self, *args, **kwargs):
        if kwargs.get("transcript") is None:
            transcript = Transcript()
            session = next(channel.numbers)
            transcript.subscribe(lambda event: channel.send(session, event))
            kwargs["transcript"] = transcript
        base.__init__(self, *args, **kwargs)

    return type(base.__name__, (base,), {"__init__": __init__, "__module__": "smtplib", "__doc__": base.__doc__})


def install() -> bool:
    """Replace smtplib's classes for the rest of the process; False when there is no parent to stream to."""
    path = os.environ.get(ENV)
    if not path:
        return False
    try:
        channel = Channel(path)
    except OSError:
        return False
    from smtpdbg import library

    smtplib.SMTP = traced_class(library.SMTP, channel)
    smtplib.SMTP_SSL = traced_class(library.SMTP_SSL, channel)
    smtplib.LMTP = traced_class(library.LMTP, channel)
    return True
