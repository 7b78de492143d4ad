"""What the sandbox decided about each recipient, and the reply faults after the final dot.

Every reply that decides about a recipient is logged on the connection's
record as a :class:`~smtpdbg.sandbox.model.Decision` (``Sandbox.connections``):
a RCPT not answered 2xx, a DATA or BDAT chunk refused while recipients were
accepted, and the reply after the message (one per recipient over LMTP). A
client's own account of a session (smtpdbg's ledger) can be checked against
it recipient by recipient.

Two recipients make the reply after the message go wrong, whichever way the
message came (DATA or BDAT LAST, SMTP or LMTP); they are accepted at RCPT:

=================  ==============================================================
Recipient          After the final dot (or BDAT LAST)
=================  ==============================================================
``drop@...``       the message is received whole and recorded (``fault="drop"``),
                   then the connection is closed without any reply
``delay@...``      the message is recorded (``fault="delay"``) and the reply is
                   sent only after ``SandboxConfig.reply_delay`` seconds
                   (default 10): longer than a short client timeout
=================  ==============================================================

With both, ``drop`` wins. Either way the client cannot know whether the
message was delivered: its outcome is *unknown*, and a retry may duplicate it.

Decisions are recorded when the reply is pushed (before a ``delay`` sleeps,
and before a ``drop`` closes), so they are in the log by the time a client
could have read the reply. Only the hooks set up here record anything:
:meth:`OutcomeMixin.expect_reply` arms a hook for the next reply.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from aiosmtpd.smtp import syntax

from smtpdbg.sandbox.chunking import parse_bdat_argument
from smtpdbg.sandbox.model import Decision, Fault, Stage

DROP = "drop"
"""Local part of the recipient whose message gets no reply: the connection is closed instead."""
DELAY = "delay"
"""Local part of the recipient whose message is answered after ``reply_delay`` seconds."""


def reply_fault(addresses: list[str] | tuple[str, ...]) -> Fault | None:
    """The fault the reply after a message to ``addresses`` suffers, if any."""
    locals_ = {address.rpartition("@")[0].lower() for address in addresses if "@" in address}
    if DROP in locals_:
        return "drop"
    if DELAY in locals_:
        return "delay"
    return None


def _text(status: Any) -> str:
    return status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)


class OutcomeMixin:
    """Logs decisions and applies reply faults for an aiosmtpd ``SMTP`` subclass.

    It must come before :class:`~smtpdbg.sandbox.chunking.ChunkingMixin` in the
    bases, so that its ``smtp_DATA`` and ``smtp_BDAT`` wrap those. The class
    provides ``connection`` (a :class:`~smtpdbg.sandbox.connections.LiveConnection`)
    and sets ``reply_delay``.
    """

    reply_delay: float = 10.0
    transaction_number: int = 0
    """MAIL FROMs accepted on this connection so far."""
    reply_fault: Fault | None = None
    """Set by the handler when it accepts a message: the fault its reply suffers."""
    _on_reply: Callable[[str], None] | None = None
    # Provided by aiosmtpd's SMTP and the sandbox protocol:
    envelope: Any
    transport: Any
    connection: Any

    # -- hooks -----------------------------------------------------------------------------
    def expect_reply(self, hook: Callable[[str], None] | None) -> None:
        """Call ``hook`` with the next reply pushed (a hook may arm the next one)."""
        self._on_reply = hook

    def decide(self, addresses: list[str], stage: Stage, status: str, fault: Fault | None = None,
               transaction: int | None = None) -> None:
        """Log one decision per address (LMTP: ``status`` holds one line per address)."""
        if not addresses:
            return
        lines = status.split("\r\n")
        if len(lines) != len(addresses) or any(line[3:4] == "-" for line in lines):
            lines = [lines[-1]] * len(addresses)  # one (multi-line) reply for all
        number = self.transaction_number if transaction is None else transaction
        made = tuple(Decision(number, address, stage, line, fault) for address, line in zip(addresses, lines))
        self.connection.update(decisions=self.connection.get("decisions") + made)

    async def push(self, status: Any) -> None:
        hook, self._on_reply = self._on_reply, None
        if hook is not None:
            hook(_text(status))  # reads reply_fault
        fault, self.reply_fault = self.reply_fault, None
        if fault == "drop":
            if self.transport is not None:
                self.transport.close()
            return
        if fault == "delay":
            await asyncio.sleep(self.reply_delay)
        await super().push(status)  # type: ignore[misc]

    # -- commands ------------------------------------------------------------------------
    def expect_rcpt_reply(self, address: str) -> None:
        """RCPT: a reply that is not 2xx decides about ``address`` (inside a transaction: without MAIL FROM the
        503 "need MAIL" is about the order of commands, not the recipient)."""
        number = self.transaction_number if self.envelope.mail_from else 0

        def rcpt_replied(status: str) -> None:
            if number and not status.startswith("2"):
                self.decide([address], "RCPT", status, transaction=number)

        self.expect_reply(rcpt_replied)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        recipients = list(self.envelope.rcpt_tos)

        def message_replied(status: str) -> None:
            self.decide(recipients, "end of data", status, self.reply_fault)

        def data_replied(status: str) -> None:
            if status.startswith("354"):
                self.expect_reply(message_replied)
            else:
                self.decide(recipients, "DATA", status)

        self.expect_reply(data_replied)
        try:
            await super().smtp_DATA(arg)  # type: ignore[misc]
        finally:
            self.expect_reply(None)

    @syntax("BDAT <size> [LAST]", when="chunking")
    async def smtp_BDAT(self, arg: str | None) -> None:
        recipients = list(self.envelope.rcpt_tos)
        parsed = parse_bdat_argument(arg)
        stage: Stage = "BDAT LAST" if parsed is not None and parsed[1] else "BDAT"

        def chunk_replied(status: str) -> None:
            if stage == "BDAT LAST" or not status.startswith("2"):
                self.decide(recipients, stage, status, self.reply_fault)

        self.expect_reply(chunk_replied)
        try:
            await super().smtp_BDAT(arg)  # type: ignore[misc]
        finally:
            self.expect_reply(None)
