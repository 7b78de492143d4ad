"""What the ESMTP parameters of MAIL and RCPT mean (``explain NOTIFY``, ``explain RET=HDRS``).

Each entry names the command that carries the parameter, the EHLO keyword that
allows it and the RFC section that defines it; values with a fixed meaning
are explained one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    name: str
    command: str
    """``MAIL`` or ``RCPT``."""
    extension: str
    """The EHLO keyword that must have been advertised."""
    rfc: str
    meaning: str
    values: Mapping[str, str] = field(default_factory=dict)
    """Meanings of the values (or of the items of a comma-separated value)."""


def _table(*entries: ParameterInfo) -> Mapping[str, ParameterInfo]:
    return MappingProxyType({entry.name: entry for entry in entries})


PARAMETERS: Mapping[str, ParameterInfo] = _table(
    ParameterInfo("NOTIFY", "RCPT", "DSN", "RFC 3461 §4.1",
                  "When to send the sender a delivery status notification (RFC 3464 report) about this recipient: "
                  "NEVER, or a comma-separated list of SUCCESS, FAILURE and DELAY. Without it the server decides "
                  "(usually: failures, and delays).",
                  {"NEVER": "no report at all, whatever happens (cannot be combined with the others)",
                   "SUCCESS": "report when the message is delivered (or relayed to a server without DSN)",
                   "FAILURE": "report when delivery fails for good: the bounce",
                   "DELAY": "report when delivery is delayed (the server keeps retrying)"}),
    ParameterInfo("ORCPT", "RCPT", "DSN", "RFC 3461 §4.2",
                  "The recipient's original address, as addr-type;xtext (rfc822;bob@example.org), kept through "
                  "forwarding; reports quote it as Original-Recipient."),
    ParameterInfo("RET", "MAIL", "DSN", "RFC 3461 §4.3",
                  "How much of the message a failure report returns: FULL or HDRS. Without it the server decides.",
                  {"FULL": "the whole message", "HDRS": "only the message's header"}),
    ParameterInfo("ENVID", "MAIL", "DSN", "RFC 3461 §4.4",
                  "An id the sender gives the transaction (xtext, at most 100 characters); every report quotes it as "
                  "Original-Envelope-Id, so the sender's software can match reports to messages."),
    ParameterInfo("SIZE", "MAIL", "SIZE", "RFC 1870 §6",
                  "The message's size in octets, declared before it is sent: a server refuses a size over its "
                  "announced limit at once (552 5.3.4), or one it has no room for now (452 4.3.1), before DATA."),
    ParameterInfo("BODY", "MAIL", "8BITMIME", "RFC 6152 §2",
                  "What the message text holds.",
                  {"7BIT": "ASCII only (the default)", "8BITMIME": "octets above 127 in lines (needs 8BITMIME)",
                   "BINARYMIME": "any octets, no line structure; only BDAT may send it (needs BINARYMIME, RFC 3030)"}),
    ParameterInfo("SMTPUTF8", "MAIL", "SMTPUTF8", "RFC 6531 §3.4",
                  "The transaction uses UTF-8 addresses or header fields; no value."),
    ParameterInfo("AUTH", "MAIL", "AUTH", "RFC 4954 §5",
                  "The identity that submitted the message (xtext), or <> when unknown: for relaying between "
                  "trusted servers."),
    ParameterInfo("REQUIRETLS", "MAIL", "REQUIRETLS", "RFC 8689",
                  "Every hop must use verified TLS, or the message is returned rather than sent in the clear; no value."),
)
"""The parameters of MAIL and RCPT this catalog explains."""


def explain_parameter(topic: str) -> list[str]:
    """Lines about ``NAME`` or ``NAME=VALUE`` (``[]`` when the name is not a known parameter)."""
    name, _, value = topic.strip().partition("=")
    info = PARAMETERS.get(name.upper())
    if info is None:
        return []
    lines = [f"{info.name}: a {info.command} parameter of the {info.extension} extension ({info.rfc})",
             f"  {info.meaning}"]
    for item in (value.upper().split(",") if value and info.values else ()):
        meaning = info.values.get(item)
        lines.append(f"  {item}: {meaning}" if meaning else f"  {item}: not a value {info.rfc} defines")
    return lines
