"""Option values: one parser and range check per kind, shared by every frontend.

The command line (``smtpdbg``, ``smtpdbg run``/``repl``/``learn``), the
sandbox's command line and the app's connect dialog read timeouts, ports,
host names and targets with these functions, so each refuses the same values
with the same words. Each raises :class:`ValueError` whose message says what
is wrong with the value, without the option's name: the frontend puts the
name in front (``argument --timeout: ...``, ``timeout: ...``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smtpdbg.core.target import Target

MAX_SECONDS = 7 * 86400
"""The longest timeout or ``sleep`` accepted: a week (longer ones overflow the platform's clocks)."""


def seconds(text: str, *, low: float = 0.0, high: float = MAX_SECONDS, zero: bool = True) -> float:
    """A number of seconds from ``low`` (excluded unless ``zero``) to ``high``.

    Raises:
        ValueError: not a number, not finite, or out of range.
    """
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a usable number of seconds (it must be finite)")
    if value < low or (value == low and not zero):
        raise ValueError(f"must be more than {low:g} seconds" if not zero else f"must be at least {low:g} seconds")
    if value > high:
        raise ValueError(f"must be at most {high:g} seconds" + (" (a week)" if high == MAX_SECONDS else ""))
    return value


def timeout(text: str) -> float:
    """A per-command time limit: finite, more than 0, at most :data:`MAX_SECONDS`."""
    return seconds(text, zero=False)


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: any free port, where that makes sense)."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise ValueError(f"port {value} is out of range (0-65535)")
    return value


def count(text: str, *, low: int = 1, high: int = 1_000_000) -> int:
    """A whole number from ``low`` to ``high``."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range ({low}-{high})")
    return value


def host_name(text: str) -> str:
    """A name for EHLO, SNI or certificate checks: one word of printable characters."""
    if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"{text!r} is not a host name (one word, no spaces)")
    return text


def tls_name(text: str) -> str:
    """A host name (or IP address) usable for SNI and certificate checks."""
    import ipaddress

    host_name(text)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        try:
            text.encode("idna")
        except UnicodeError:
            raise ValueError(f"{text!r} is not a valid host name (empty or over-long label)") from None
    return text


def source_address(text: str) -> tuple[str, int]:
    """``HOST`` or ``HOST:PORT`` (``[v6]:PORT``) to bind to."""
    bad = f"bad source address {text!r}: use HOST or HOST:PORT"
    if text.count(":") == 1 or text.startswith("["):
        host, _, number = text.rpartition(":")
    else:
        host, number = text, "0"
    host = host.strip("[]")
    if not host or any(ch.isspace() or not ch.isprintable() for ch in host):
        raise ValueError(bad)
    try:
        value = int(number or 0)
    except ValueError:
        raise ValueError(bad) from None
    if not 0 <= value <= 65535:
        raise ValueError(f"port {value} in {text!r} is out of range (0-65535)")
    return host, value


def ip_source(text: str) -> tuple[str, int]:
    """An ``ADDRESS:PORT`` a PROXY protocol header can carry (an IP address, not a name)."""
    import ipaddress

    host, number = source_address(text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address (a PROXY header carries addresses)") from None
    return host, number


def dns_server(text: str) -> str:
    """``HOST[:PORT]`` of a DNS server (for ``mx:`` targets)."""
    from smtpdbg.core.mx import parse_dns_server

    parse_dns_server(text)
    return text


def token(text: str) -> str:
    """A bearer token: printable, no white space (may be empty: no token)."""
    if any(not ch.isprintable() or ch.isspace() for ch in text):
        raise ValueError("a token is printable and has no white space")
    return text


def target(text: str, *, transport: str = "smtp") -> Target:
    """A TARGET (``host[:port]``, ``smtps://host``, ``lmtp:///path``, ``mx:domain``).

    A host name holds no white space or control characters (a socket path
    may hold spaces, not control characters).

    Raises:
        ValueError: with the target parser's message, or the bad host.
    """
    from smtpdbg.core.target import TargetError, parse_target

    stripped = str(text).strip()
    if any(not ch.isprintable() for ch in stripped):
        raise ValueError(f"{text!r} holds control characters: not a target")
    try:
        parsed = parse_target(stripped, default_transport=transport)
    except TargetError as error:
        raise ValueError(str(error)) from None
    if not parsed.unix and any(ch.isspace() for ch in parsed.host):
        raise ValueError(f"{parsed.host!r} is not a host name (no spaces): give host, host:port or scheme://host:port")
    return parsed


def argparse_type(check, **limits):
    """``check`` (a function of this module) as an argparse ``type=``: its own message, not argparse's."""
    import argparse

    def convert(text: str):
        try:
            return check(text, **limits)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__
    return convert
