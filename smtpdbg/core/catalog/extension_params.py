"""What the parameters on an EHLO keyword's line mean (``SIZE 35882577``, ``AUTH PLAIN LOGIN``, ``LIMITS
RCPTMAX=100``): the explainers behind :mod:`smtpdbg.core.catalog.extensions`, kept apart from its table.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping


AUTH_MECHANISMS: Mapping[str, str] = MappingProxyType({
    "PLAIN": "user name and password in one base64 message; readable by anyone without TLS",
    "LOGIN": "user name and password at two base64 prompts, non-standard; readable without TLS",
    "CRAM-MD5": "challenge-response with HMAC-MD5; the password is not sent, but the method is obsolete",
    "DIGEST-MD5": "challenge-response digest; historic (RFC 6331)",
    "XOAUTH2": "OAuth 2.0 access token, Google/Microsoft's non-standard variant",
    "OAUTHBEARER": "OAuth 2.0 bearer token (RFC 7628)",
    "SCRAM-SHA-1": "salted challenge-response; the password is not sent (RFC 5802)",
    "SCRAM-SHA-1-PLUS": "SCRAM-SHA-1 bound to the TLS channel (RFC 5802)",
    "SCRAM-SHA-256": "salted challenge-response with SHA-256; the password is not sent (RFC 7677)",
    "SCRAM-SHA-256-PLUS": "SCRAM-SHA-256 bound to the TLS channel (RFC 7677)",
    "GSSAPI": "Kerberos single sign-on through GSS-API (RFC 4752)",
    "GSS-SPNEGO": "Kerberos or NTLM negotiated through SPNEGO (Microsoft)",
    "NTLM": "Microsoft NTLM challenge-response with Windows domain credentials",
    "EXTERNAL": "identity established outside SASL, e.g. a TLS client certificate (RFC 4422)",
    "ANONYMOUS": "no credentials, only an optional trace string (RFC 4505)",
})
"""Short phrases for SASL mechanisms seen in AUTH lines."""


def number_of(token: str, max_digits: int = 18) -> int | None:
    """A plain decimal number, or None (rejects non-ASCII digits and absurd lengths)."""
    if token.isascii() and token.isdigit() and len(token) <= max_digits:
        return int(token)
    return None


def byte_size(n: int) -> str:
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            if n % factor == 0:
                return f"{n // factor:,} {unit}"
            return f"{n / factor:.1f} {unit} ({n:,} bytes)"
    return "1 byte" if n == 1 else f"{n:,} bytes"


def duration_text(seconds: int) -> str:
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length and seconds % length == 0:
            count = seconds // length
            return f"{count:,} {unit}{'' if count == 1 else 's'}"
    if seconds >= 3600:
        return f"about {seconds / 3600:.1f} hours"
    return f"{seconds:,} second{'' if seconds == 1 else 's'}"


def size(params: str) -> str:
    # RFC 1870: the optional parameter is the fixed maximum in octets; 0 means none.
    tokens = params.split()
    if not tokens:
        return "no fixed limit announced"
    n = number_of(tokens[0])
    if n is None:
        return f"unreadable SIZE parameter {tokens[0]!r}: RFC 1870 expects a number of octets"
    if n == 0:
        return "no fixed limit announced (SIZE 0)"
    return f"{byte_size(n)} maximum message size"


def mechanisms(params: str) -> str:
    names = [name.upper() for name in params.split()]
    if not names:
        return "no mechanisms listed, so there is no way to authenticate"
    parts = [f"{name} ({AUTH_MECHANISMS.get(name, 'mechanism not in this catalog')})" for name in names]
    return f"{len(names)} mechanism{'' if len(names) == 1 else 's'}: " + "; ".join(parts)


LIMITS = {
    # RFC 9422: the initial entries of the "SMTP Server Limits" registry.
    "RCPTMAX": ("recipient", "recipients", "per transaction"),
    "MAILMAX": ("transaction (MAIL command)", "transactions (MAIL commands)", "per session"),
    "RCPTDOMAINMAX": ("recipient domain", "recipient domains", "per transaction"),
}


def limits(params: str) -> str:
    parts = []
    for token in params.split():
        name, _, value = token.partition("=")
        limit = LIMITS.get(name.upper())
        n = number_of(value, 9)
        if limit is None:
            parts.append(f"{token} (not a limit this catalog knows)")
        elif n is None:
            parts.append(f"{token} (malformed value; RFC 9422 says to ignore it)")
        else:
            one, many, scope = limit
            parts.append(f"at most {n:,} {one if n == 1 else many} {scope}")
    return "; ".join(parts) if parts else "no limits listed"


def deliverby(params: str) -> str:
    # RFC 2852: the optional min-by-time is the shortest BY= (with R) accepted.
    tokens = params.split()
    if not tokens:
        return "no minimum by-time announced"
    n = number_of(tokens[0], 9)
    if n is None:
        return f"unreadable DELIVERBY parameter {tokens[0]!r}: RFC 2852 expects seconds"
    if n == 0:
        return "no minimum by-time announced"
    return f"BY= times under {n:,} seconds ({duration_text(n)}) with return (R) are refused"


PRIORITY_POLICIES = {
    # RFC 6710: the "SMTP PRIORITY extension Priority Assignment Policy" registry.
    "MIXER": "MIXER policy: the three X.400 priorities (non-urgent, normal, urgent)",
    "STANAG4406": "STANAG 4406 policy: military messaging precedence levels",
    "NSEP": "NSEP policy: National Security and Emergency Preparedness priorities",
}


def mt_priority(params: str) -> str:
    tokens = params.split()
    if not tokens:
        return "no priority assignment policy named; the server's own policy applies"
    name = tokens[0].upper()
    return PRIORITY_POLICIES.get(name, f"policy {tokens[0]!r} (not in the IANA policy registry)")


def futurerelease(params: str) -> str:
    # RFC 4865: max-future-release-interval (seconds) and max-future-release-date-time.
    tokens = params.split()
    if not tokens:
        return "no hold limits announced"
    n = number_of(tokens[0], 12)
    hold = (
        f"messages may be held for up to {n:,} seconds ({duration_text(n)}) with HOLDFOR"
        if n is not None
        else f"unreadable interval {tokens[0]!r}"
    )
    if len(tokens) > 1:
        return f"{hold}, and until {tokens[1]} at the latest with HOLDUNTIL"
    return hold


def attributes(known: Mapping[str, str]) -> Callable[[str], str]:
    def explain(params: str) -> str:
        names = params.split()
        if not names:
            return "no attributes listed"
        unknown = "attribute not in this catalog"
        return "; ".join(f"{name} ({known.get(name.upper(), unknown)})" for name in names)

    return explain


XCLIENT = {
    "NAME": "client host name", "ADDR": "client IP address", "PORT": "client TCP port",
    "PROTO": "SMTP or ESMTP, as the client greeted", "HELO": "name the client gave in HELO/EHLO",
    "LOGIN": "SASL login name", "REVERSE_NAME": "client host name from reverse DNS (before the forward check)",
    "DESTADDR": "server IP address the client reached",
    "DESTPORT": "server port the client reached",
}
XFORWARD = {
    "NAME": "original client host name", "ADDR": "original client IP address",
    "PORT": "original client TCP port", "PROTO": "SMTP or ESMTP, as the original client greeted",
    "HELO": "name the original client gave in HELO/EHLO", "IDENT": "queue ID at the upstream server",
    "SOURCE": "LOCAL or REMOTE origin of the message",
}


def word_list(empty: str, lead: str) -> Callable[[str], str]:
    def explain(params: str) -> str:
        words = params.split()
        return f"{lead}: {', '.join(words)}" if words else empty

    return explain


def burl(params: str) -> str:
    # RFC 4468: "imap" means URLAUTH URLs to any IMAP server are accepted.
    words = [word.lower() for word in params.split()]
    if not words:
        return "no URL schemes listed: only servers this one is set up to trust can be used"
    if "imap" in words:
        return "fetches content from any IMAP server that supports URLAUTH (imap URLs)"
    return f"URL schemes: {', '.join(words)}"


def none(params: str) -> str:
    return f"takes no parameters (the server sent {params!r})" if params else ""
