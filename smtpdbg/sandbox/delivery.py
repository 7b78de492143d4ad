"""What the sandbox adds to a message at delivery: the trace lines of RFC 5321 §4.4.

A delivering MTA puts ``Return-Path: <reverse-path>`` on top (the envelope
sender, ``<>`` for the null sender) and every relay adds a ``Received:`` line
saying from whom, by whom, with which protocol (RFC 3848's ``ESMTPSA`` and
friends) and when. The ``for <address>`` clause names the recipient only when
there is exactly one, as Postfix does, so a Bcc recipient is not revealed to
the others.
"""

from __future__ import annotations

from email.utils import format_datetime, localtime


def protocol_name(*, lmtp: bool, extended: bool, tls: bool, authenticated: bool) -> str:
    """The ``with`` keyword of RFC 3848 / RFC 2033 (``SMTP``, ``ESMTPSA``, ``LMTPA`` ...)."""
    if lmtp:
        base = "LMTP"
    else:
        base = "ESMTP" if extended else "SMTP"
    if base == "SMTP":
        return base
    return base + ("S" if tls else "") + ("A" if authenticated else "")


def peer_text(peer: object) -> str:
    """``[ip]`` for a TCP peer, ``local`` for a unix socket."""
    if isinstance(peer, tuple) and peer:
        return f"[{peer[0]}]"
    return "local"


def trace_lines(
    *, mail_from: str, rcpt_tos: tuple[str, ...], helo: str | None, peer: object, hostname: str,
    protocol: str, message_id: str,
) -> bytes:
    """The ``Return-Path:`` and ``Received:`` header lines (CRLF-terminated) for one delivery."""
    stamp = format_datetime(localtime())
    recipient = f"\r\n\tfor <{rcpt_tos[0]}>" if len(rcpt_tos) == 1 else ""
    text = (
        f"Return-Path: <{mail_from}>\r\n"
        f"Received: from {helo or 'unknown'} ({peer_text(peer)})\r\n"
        f"\tby {hostname} with {protocol} id {message_id}{recipient};\r\n"
        f"\t{stamp}\r\n"
    )
    return text.encode("utf-8", "surrogateescape")
