"""Postfix's XCLIENT and XFORWARD commands for the sandbox (``SandboxConfig.xclient``).

A proxy or content filter in front of an MTA uses them to tell it about the
real client: XCLIENT replaces the client's identity (Postfix then starts the
session over), XFORWARD only adds logging attributes to the next message. The
EHLO reply advertises::

    250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT
    250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE

Both take ``NAME=value`` pairs (names case-insensitive); values are xtext
(RFC 3461 §4: ``+HH`` for ``+``, ``=``, and bytes outside ``!``..``~``), or
``[UNAVAILABLE]`` / ``[TEMPUNAVAIL]``. Attributes accumulate over several
commands, later values replacing earlier ones, so a client splits a long list
into several commands to stay under the line limit.

=============================================  ==============================================
Situation                                      Reply
=============================================  ==============================================
XCLIENT accepted                               ``220 <hostname> <ident>``, a fresh greeting:
                                               the session starts over (EHLO again; AUTH is
                                               forgotten, ``LOGIN=`` logs that user in)
XFORWARD accepted                              ``250 2.0.0 Ok``
command line over 512 octets with its CRLF     ``500 5.5.2 Line too long``
(RFC 5321 §4.5.3.1.4)
no attributes, or an item without ``=``        ``501 5.5.4 Syntax: XCLIENT attribute=value...``
unknown attribute                              ``501 5.5.4 Bad XCLIENT attribute name: FOO``
bad xtext                                      ``501 5.5.4 Bad XCLIENT syntax: NAME=a+2``
bad ADDR/PORT/PROTO/SOURCE value               ``501 5.5.4 Bad ADDR syntax: 999.0.0.1``
between MAIL and the end of the message        ``503 5.5.1 Error: MAIL transaction in progress``
=============================================  ==============================================

(XFORWARD's replies say XFORWARD.) A command with any bad attribute changes
nothing. ADDR/DESTADDR are IPv4 or ``IPV6:``-prefixed IPv6 addresses,
PORT/DESTPORT 0..65535, XCLIENT's PROTO is SMTP or ESMTP, SOURCE is LOCAL or
REMOTE. XCLIENT attributes belong to the connection (they survive STARTTLS);
XFORWARD attributes to the next transaction (the envelope): they are recorded
with the message and cleared when it ends, and by RSET, HELO, EHLO or XCLIENT.

Two limits stay aiosmtpd's, with its reply ``500 Command line too long``:
before the first EHLO it checks every line against 512 octets without the
CRLF, and no line may exceed its reader limit (12288 octets here). After an
XCLIENT restart the 512-with-CRLF rule above keeps applying until the next
HELO.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from aiosmtpd.smtp import syntax

XCLIENT_ATTRIBUTES = ("NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT")
"""Attribute names XCLIENT accepts, in the order advertised."""
XFORWARD_ATTRIBUTES = ("NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE")
"""Attribute names XFORWARD accepts, in the order advertised."""
MAX_LINE = 512
"""Longest XCLIENT/XFORWARD command line, CRLF included (RFC 5321 §4.5.3.1.4)."""
UNAVAILABLE = frozenset({"[UNAVAILABLE]", "[TEMPUNAVAIL]"})
"""Values that say the proxy does not know (TEMPUNAVAIL: not yet)."""

_XTEXT = re.compile(r"(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-Fa-f]{2})*")


def ehlo_keywords() -> list[str]:
    """The two EHLO lines (without ``250-``) that advertise the commands."""
    return [" ".join(("XCLIENT", *XCLIENT_ATTRIBUTES)), " ".join(("XFORWARD", *XFORWARD_ATTRIBUTES))]


def xtext_decode(text: str) -> str:
    """Decode RFC 3461 §4 xtext (UTF-8 underneath).

    Raises:
        ValueError: On a bare ``+``, ``=``, or a character outside ``!``..``~``.
    """
    if not _XTEXT.fullmatch(text):
        raise ValueError(text)
    raw = re.sub(rb"\+([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("ascii"))
    return raw.decode("utf-8", "replace")


class AttributeRefused(Exception):
    """A refused XCLIENT/XFORWARD command; ``args[0]`` is the reply."""


def _check_value(verb: str, name: str, value: str) -> None:
    if value in UNAVAILABLE:
        return
    ok = True
    if name in ("ADDR", "DESTADDR"):
        ok = _is_address(value)
    elif name in ("PORT", "DESTPORT"):
        ok = value.isdigit() and len(value) <= 5 and int(value) <= 65535
    elif name == "PROTO":
        ok = value.upper() in ("SMTP", "ESMTP") if verb == "XCLIENT" else 0 < len(value) <= 64
    elif name == "SOURCE":
        ok = value.upper() in ("LOCAL", "REMOTE")
    if not ok:
        raise AttributeRefused(f"501 5.5.4 Bad {name} syntax: {value}")


def _is_address(value: str) -> bool:
    try:
        if value[:5].upper() == "IPV6:":
            ipaddress.IPv6Address(value[5:])
        else:
            ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def parse_attributes(verb: str, arg: str | None, allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    """The decoded ``(NAME, value)`` pairs of an XCLIENT/XFORWARD argument.

    Raises:
        AttributeRefused: With the 501 reply for the first problem found.
    """
    items = arg.split() if arg else []
    if not items:
        raise AttributeRefused(f"501 5.5.4 Syntax: {verb} attribute=value...")
    pairs = []
    for item in items:
        name, eq, raw = item.partition("=")
        if not eq:
            raise AttributeRefused(f"501 5.5.4 Syntax: {verb} attribute=value...")
        name = name.upper()
        if name not in allowed:
            raise AttributeRefused(f"501 5.5.4 Bad {verb} attribute name: {name}")
        try:
            value = xtext_decode(raw)
        except ValueError:
            raise AttributeRefused(f"501 5.5.4 Bad {verb} syntax: {item}") from None
        _check_value(verb, name, value)
        pairs.append((name, value))
    return pairs


def line_too_long(verb: str, arg: str | None) -> bool:
    """Whether ``VERB arg`` CRLF exceeds :data:`MAX_LINE` octets."""
    raw = (arg or "").encode("utf-8", "surrogateescape")
    return len(verb) + 1 + len(raw) + 2 > MAX_LINE


class XClientMixin:
    """Adds XCLIENT and XFORWARD to the sandbox's ``SMTP`` subclass.

    The class using it sets ``xclient`` (when false, it must also remove both
    commands from aiosmtpd's command table), keeps the connection's XCLIENT
    attributes in ``xclient_attributes`` (a dict), creates envelopes with an
    ``xforward`` dict, and implements :meth:`restart_session`.
    """

    xclient: bool = False
    xclient_attributes: dict[str, str]
    envelope: Any

    def restart_session(self, login: str | None) -> None:
        """Forget the greeting, the transaction and any AUTH, as XCLIENT requires."""
        raise NotImplementedError

    async def _attributes_or_refusal(
        self, verb: str, arg: str | None, allowed: tuple[str, ...]
    ) -> list[tuple[str, str]] | None:
        reply = None
        pairs: list[tuple[str, str]] = []
        if line_too_long(verb, arg):
            reply = "500 5.5.2 Line too long"
        else:
            try:
                pairs = parse_attributes(verb, arg, allowed)
            except AttributeRefused as refusal:
                reply = refusal.args[0]
            else:
                if self.envelope.mail_from:
                    reply = "503 5.5.1 Error: MAIL transaction in progress"
        if reply is not None:
            await self.push(reply)  # type: ignore[attr-defined]
            return None
        return pairs

    @syntax("XCLIENT attribute=value...", when="xclient")
    async def smtp_XCLIENT(self, arg: str | None) -> None:
        pairs = await self._attributes_or_refusal("XCLIENT", arg, XCLIENT_ATTRIBUTES)
        if pairs is None:
            return
        self.xclient_attributes.update(pairs)
        login = dict(pairs).get("LOGIN")
        self.restart_session(None if login is None or login in UNAVAILABLE else login)
        await self.push(f"220 {self.hostname} {self.__ident__}")  # type: ignore[attr-defined]

    @syntax("XFORWARD attribute=value...", when="xclient")
    async def smtp_XFORWARD(self, arg: str | None) -> None:
        pairs = await self._attributes_or_refusal("XFORWARD", arg, XFORWARD_ATTRIBUTES)
        if pairs is None:
            return
        self.envelope.xforward.update(pairs)
        await self.push("250 2.0.0 Ok")  # type: ignore[attr-defined]
