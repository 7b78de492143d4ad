"""Limits a real MTA puts on its clients, for the sandbox: greylisting that lets a retry in, a recipient
limit per transaction, a message limit per connection, and SIZE refused at MAIL.

Each is off unless :class:`~smtpdbg.sandbox.model.SandboxConfig` turns it on
(except the enhanced code on the SIZE refusal, which is always there):

==================================  =========================================================
Setting                             What the client sees
==================================  =========================================================
``greylist_delay = N`` (seconds)    a greylisted recipient (``greylist@`` or in ``greylist``)
                                    is refused ``451 4.7.1`` at its first attempt; the same
                                    client address, sender and recipient are accepted when they
                                    come back at least N seconds later (in any transaction, on
                                    any connection). The sandbox then forgets them, so the
                                    next attempt is a first one again (a lesson can be
                                    repeated). Without the setting, greylisting never ends.
``max_recipients = N``              RCPT beyond N accepted recipients in one transaction:
                                    ``452 4.5.3 Error: too many recipients`` (RFC 5321
                                    §4.5.3.1.10: 452, and the client sends the rest in a
                                    later transaction)
``max_messages = N``                MAIL after N messages accepted on one connection:
                                    ``421 4.7.0 <hostname> Error: too many messages in one
                                    connection, try again later``, then the sandbox closes the
                                    connection (RFC 5321 §3.8: 421 means it is closing)
(always)                            ``MAIL ... SIZE=n`` above the announced SIZE:
                                    ``552 5.3.4 Error: message size exceeds fixed maximum
                                    message size`` (RFC 1870 §6.1; aiosmtpd sends no enhanced
                                    code); the same code for a DATA message that is too big
==================================  =========================================================

Every 421 the sandbox sends is followed by closing the connection.
"""

from __future__ import annotations

import threading
import time
from typing import Any

REPLY_TOO_MANY_RECIPIENTS = "452 4.5.3 Error: too many recipients"
REPLY_SIZE_AT_MAIL = "552 5.3.4 Error: message size exceeds fixed maximum message size"
REPLY_TOO_MUCH_DATA = "552 5.3.4 Error: Too much mail data"

ENHANCED = {
    # aiosmtpd's replies, without an enhanced code -> the same with one (RFC 3463 5.3.4: message too big)
    "552 Error: message size exceeds fixed maximum message size": REPLY_SIZE_AT_MAIL,
    "552 Error: Too much mail data": REPLY_TOO_MUCH_DATA,
}


def too_many_messages(hostname: str) -> str:
    """The 421 a connection gets at MAIL once it has sent its share of messages."""
    return f"421 4.7.0 {hostname} Error: too many messages in one connection, try again later"


def recipient_limit_reply(accepted: int, limit: int) -> str | None:
    """``452 4.5.3`` when ``accepted`` recipients already fill the transaction's ``limit`` (0: no limit)."""
    return REPLY_TOO_MANY_RECIPIENTS if limit and accepted >= limit else None


def message_limit_reply(messages: int, limit: int, hostname: str) -> str | None:
    """``421 4.7.0`` when a connection already sent ``limit`` messages (0: no limit)."""
    return too_many_messages(hostname) if limit and messages >= limit else None


class Greylist:
    """Remembers first attempts by (client address, sender, recipient) and lets a retry in after a delay.

    Thread-safe: the sandbox's listeners run on different threads.
    """

    def __init__(self, delay: float, clock=time.monotonic) -> None:
        self.delay = delay
        self._clock = clock
        self._first: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def passes(self, client: str, sender: str, recipient: str) -> bool:
        """Whether this attempt comes late enough after the first; a first attempt is remembered."""
        key = (client, sender.lower(), recipient.lower())
        now = self._clock()
        with self._lock:
            first = self._first.get(key)
            if first is None:
                self._first[key] = now
                return False
            if now - first < self.delay:
                return False
            del self._first[key]  # let through once; the next attempt starts over
            return True


def client_address(peer: Any) -> str:
    """The client's IP address from a socket peer (``(host, port)``), or the peer itself for a unix socket."""
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")


class LimitsMixin:
    """For the sandbox's aiosmtpd ``SMTP`` subclass: enhanced codes on aiosmtpd's size refusals, and a
    421 closes the connection. It must come before :class:`~smtpdbg.sandbox.outcomes.OutcomeMixin`."""

    transport: Any

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            status = ENHANCED.get(status, status)
        await super().push(status)  # type: ignore[misc]
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else str(status)
        if text.startswith("421") and self.transport is not None:
            self.transport.close()
