"""What ``smtpdbg send`` runs: the settings from its flags, and the commands it feeds the core's interpreter.

:class:`Plan` is built from the parsed flags (the target, the TLS mode, the
message) and :meth:`Plan.commands` is a generator of script lines, the same
commands a script would hold (``connect``, ``ehlo``, ``starttls``, ``login``,
``mail``, ``rcpt``, ``data`` and its message, ``quit``), read by
:class:`smtpdbg.core.interp.Interpreter` one at a time: each line is produced
after the command before it ran, so the generator decides from the session's
state what comes next (STARTTLS only when offered with ``--tls-optional``,
DATA only when a recipient was accepted, QUIT after a failure while the
connection is still usable, as swaks does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from smtpdbg.send.args import STAGES


class PlanError(ValueError):
    """The flags do not make a send; the message says why (exit status 2)."""


@dataclass
class Plan:
    target: object
    tls: str = ""
    """``starttls``, ``optional``, ``implicit`` or ``""``."""
    helo: str = "ehlo"
    auth: str | None = None
    """The mechanism (``""``: let smtplib pick), or ``None`` for no AUTH."""
    user: str = ""
    sender: str = ""
    to: list[str] = field(default_factory=list)
    message: bytes | None = None
    data_file: str | None = None
    """A file sent as it is (``--data @FILE``)."""
    max_body: int | None = None
    """``--max-body`` for the file (the ``data`` command's own limit otherwise)."""
    quit_after: str | None = None
    drop_after: str | None = None
    pipelining: bool = False
    bdat: bool = False
    outcomes: list = field(default_factory=list)
    temp: str | None = None

    # -- the session's state, between commands -----------------------------------------------
    def bind(self, session) -> None:
        self.session = session

    def on_outcome(self, outcome) -> None:
        self.outcomes.append(outcome)

    @property
    def last(self):
        return self.outcomes[-1] if self.outcomes else None

    def _usable(self) -> bool:
        state = self.session.state
        return bool(state.connected)

    def _failed(self) -> bool:
        last = self.last
        return last is None or not last.ok

    def accepted(self) -> int:
        state = self.session.state
        transaction = state.transaction or state.last_transaction
        return sum(1 for r in transaction.recipients if r.accepted) if transaction else 0

    def _stop_here(self, stage: str):
        """Lines that end the run after ``stage`` when ``--quit-after``/``--drop-after`` name it."""
        if self.drop_after == stage:
            return ["close"]
        if self.quit_after == stage:
            return ["quit"] if self._usable() else []
        return None

    def _end(self):
        """After a failure: QUIT when the connection is still usable (as swaks does)."""
        return ["quit"] if self._usable() else []

    # -- the commands ------------------------------------------------------------------------
    def commands(self):
        yield "connect"
        if self._failed():
            yield from self._end()
            return
        for stage in ("connect", "banner"):
            stop = self._stop_here(stage)
            if stop is not None:
                yield from stop
                return
        yield self.helo
        if self._failed():
            yield from self._end()
            return
        if self.tls in ("starttls", "optional"):
            offered = self.session.state.features.has("starttls")
            if self.tls == "starttls" or offered:
                yield "starttls"
                if self._failed():
                    yield from self._end()
                    return
                yield self.helo
                if self._failed():
                    yield from self._end()
                    return
        for stage in ("ehlo", "tls"):
            stop = self._stop_here(stage)
            if stop is not None:
                yield from stop
                return
        if self.auth is not None:
            yield f"auth {self.auth} {self.user}" if self.auth else f"login {self.user}"
            if self._failed():
                yield from self._end()
                return
        stop = self._stop_here("auth")
        if stop is not None:
            yield from stop
            return
        if self.pipelining and self.quit_after not in ("mail", "rcpt") and self.drop_after not in ("mail", "rcpt"):
            yield from self._pipelined()
            return
        yield f"mail {self.sender}"
        if self._failed():
            yield from self._end()
            return
        stop = self._stop_here("mail")
        if stop is not None:
            yield from stop
            return
        for address in self.to:
            yield f"rcpt {address}"
            if not self._usable():
                return
        if not self.accepted():
            yield from self._end()
            return
        stop = self._stop_here("rcpt")
        if stop is not None:
            yield from stop
            return
        yield from self._message()
        if self._usable():
            stop = self._stop_here("data")
            yield from stop if stop is not None else ["quit"]

    def _pipelined(self):
        group = [f"MAIL FROM:<{_bare(self.sender)}>"] + [f"RCPT TO:<{_bare(a)}>" for a in self.to]
        if not self.bdat:
            group.append("DATA")
        yield "pipeline " + "; ".join(group)
        last = self.last
        if last is None or not self._usable():
            return
        if self.bdat and self.accepted():
            yield from self._message()
        elif not self.bdat and last.code == 354:
            yield from self._message()
        if self._usable():
            stop = self._stop_here("data")
            yield from stop if stop is not None else ["quit"]

    def _message(self):
        verb = "bdat" if self.bdat else "data"
        if self.data_file is not None:
            yield f"{verb} @{self.data_file}" + (f" --max-body {self.max_body}" if self.max_body else "")
            return
        from smtpdbg.send.message import body_is_scriptable

        data = self.message or b""
        if body_is_scriptable(data):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                yield verb
                yield from text.removesuffix("\r\n").split("\r\n") if text else []
                yield "."
                return
        import tempfile

        fd, self.temp = tempfile.mkstemp(prefix="smtpdbg-send-", suffix=".eml")  # mode 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield f"{verb} @{self.temp}"

    def cleanup(self) -> None:
        if self.temp:
            try:
                os.unlink(self.temp)
            except OSError:
                pass


def _bare(address: str) -> str:
    return address[1:-1] if address.startswith("<") and address.endswith(">") else address


def stage_index(stage: str) -> int:
    return STAGES.index(stage)
