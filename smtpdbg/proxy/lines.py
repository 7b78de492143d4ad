"""Small readings of the lines the proxy relays: a reply's code, whether it is the last line, EHLO keywords."""

from __future__ import annotations

import asyncio

from smtpdbg.core.render import safe_text


def reply_code(line: bytes) -> int:
    """The line's reply code, -1 when it has none."""
    head = line[:3]
    return int(head) if head.isdigit() else -1


def is_final(line: bytes) -> bool:
    """The last line of a reply (no hyphen after the code)."""
    return line[3:4] != b"-"


def keywords(lines: list[bytes]) -> list[str]:
    """The keywords of an EHLO reply (every line after the greeting line), escaped."""
    return [safe_text(line[4:]).strip() for line in lines[1:]]


def describe_tls(writer: asyncio.StreamWriter) -> str:
    """``TLSv1.3, TLS_AES_256_GCM_SHA384`` for a stream with TLS up."""
    ssl_object = writer.get_extra_info("ssl_object")
    return f"{ssl_object.version()}, {ssl_object.cipher()[0]}" if ssl_object is not None else "?"


def without_starttls(lines: list[bytes]) -> list[bytes]:
    """An EHLO reply without its STARTTLS line (the last line keeps the final ``250 ``)."""
    kept = [line for line in lines if line[4:].strip().upper() != b"STARTTLS"]
    kept[-1] = kept[-1][:3] + b" " + kept[-1][4:]
    return kept
