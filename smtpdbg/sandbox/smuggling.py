"""SMTP smuggling (2023): what a server does with a bare LF, in three modes.

RFC 5321 §2.3.8 says lines end with CRLF and nothing else, and §4.1.1.4 that
the message ends with CRLF "." CRLF. A server that also takes a bare LF as a
line ending ends the message at ``<LF>.<LF>`` (or ``<LF>.<CR><LF>``, or
``<CR><LF>.<LF>``) — where the outbound server that relayed the mail saw only
message text. Whatever follows is read as new commands: a second, *smuggled*
message, sent with the first one's authority (SPF, DKIM and DMARC pass for
it). ``SandboxConfig.bare_lf`` picks the behaviour:

==============  ==============================================================================
Mode            What the server does with a bare LF
==============  ==============================================================================
``keep``        (default, aiosmtpd's own) only CRLF ends a line; a bare LF is kept as message
                text and stored: safe here, but a relay that passes it on to a lax next hop
                hands that hop the smuggled message
``vulnerable``  a bare LF ends a line like CRLF, in commands and in the message: ``<LF>.<LF>``
                ends the message and the rest is read as commands (a vulnerable server)
``reject``      a message with a bare LF anywhere in it is refused after the final dot:
                ``550 5.5.2 Error: bare <LF> received`` (what Postfix's
                ``smtpd_forbid_bare_newline`` does, with the reject code as a 550); nothing is
                delivered, and smuggled commands are never read as commands
``both``        the sandbox plays two inbound servers: a transaction with a recipient at
                ``unpatched.<hostname>`` (e.g. ``bob@unpatched.sandbox.smtpdbg.test``) gets the
                ``vulnerable`` server, any other the ``reject`` one (a lesson shows both)
==============  ==============================================================================

BDAT (RFC 3030) counts octets instead of looking for a final dot, so chunks
are never checked: nothing can be smuggled through them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

BareLF = Literal["keep", "vulnerable", "reject", "both"]
MODES: tuple[str, ...] = ("keep", "vulnerable", "reject", "both")
UNPATCHED = "unpatched."
"""In ``both`` mode: the subdomain of the sandbox's hostname whose server is vulnerable."""

REPLY_BARE_LF = "550 5.5.2 Error: bare <LF> received"
"""The reply to a message that holds a bare LF, in ``reject`` mode."""

_BARE_LF = re.compile(rb"(?<!\r)\n")


def has_bare_lf(content: bytes) -> bool:
    """Whether ``content`` holds an LF not preceded by a CR."""
    return _BARE_LF.search(content) is not None


def unpatched(recipients, hostname: str) -> bool:
    """Whether a recipient's domain is ``unpatched.<hostname>`` (``both`` mode: the vulnerable server)."""
    domain = (UNPATCHED + hostname).lower()
    return any(str(address).rpartition("@")[2].lower() == domain for address in recipients)


def mode_for(mode: str, recipients, hostname: str) -> str:
    """The mode that applies to a transaction with ``recipients``."""
    if mode != "both":
        return mode
    return "vulnerable" if unpatched(recipients, hostname) else "reject"


def bare_lf_reply(mode: str, content: bytes, chunked: bool) -> str | None:
    """The refusal for a message in ``reject`` mode (None: accept it); BDAT messages are never refused."""
    return REPLY_BARE_LF if mode == "reject" and not chunked and has_bare_lf(content) else None


def crlf_for_bare_lf(data: bytes, previous: bytes) -> bytes:
    """``data`` with every bare LF made CRLF; ``previous`` is the byte received just before it."""
    carried = b"\r" if previous == b"\r" else b""  # a CRLF split between two reads
    return _BARE_LF.sub(b"\r\n", carried + data)[len(carried):]


class SmugglingMixin:
    """For the sandbox's aiosmtpd ``SMTP`` subclass: in ``vulnerable`` mode a bare LF ends a line."""

    bare_lf: str = "keep"
    _last_byte: bytes = b""
    envelope: Any
    hostname: str

    def data_received(self, data: bytes) -> None:
        recipients = self.envelope.rcpt_tos if self.envelope is not None else ()
        if data and mode_for(self.bare_lf, recipients, self.hostname) == "vulnerable":
            data, self._last_byte = crlf_for_bare_lf(data, self._last_byte), data[-1:]
        super().data_received(data)  # type: ignore[misc]

