"""The sandbox's replies as the RFCs it teaches want them.

aiosmtpd 1.4 answers most commands without an enhanced status code (``503
Error: need MAIL command``, ``221 Bye``) while the sandbox's own policy replies
carry one (``250 2.1.5 OK``). The sandbox advertises ENHANCEDSTATUSCODES, so
RFC 2034 §3 applies: every reply except the greeting and the HELO/EHLO/LHLO
reply starts its text with an enhanced code. :class:`EnhancedRepliesMixin` adds
one where aiosmtpd left it out, chosen from RFC 3463 by the reply code (the
class digit always agrees with the reply's, RFC 3463 §2).

3xx replies (354, 334) carry no enhanced code: RFC 3463 defines none for them.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr

from aiosmtpd.smtp import syntax

ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}(?: |$)")
"""An enhanced status code at the start of a reply's text (RFC 3463 §2)."""

BY_CODE: dict[int, str] = {
    211: "2.0.0", 214: "2.0.0", 221: "2.0.0", 235: "2.7.0", 250: "2.0.0", 251: "2.1.5",
    252: "2.1.5", 421: "4.3.0", 450: "4.2.0", 451: "4.3.0", 452: "4.3.1", 454: "4.7.0", 500: "5.5.2",
    501: "5.5.4", 502: "5.5.1", 503: "5.5.1", 504: "5.5.4", 530: "5.7.0", 534: "5.7.9", 535: "5.7.8",
    538: "5.7.11", 550: "5.0.0", 551: "5.1.6", 552: "5.3.4", 553: "5.1.3", 554: "5.0.0", 555: "5.5.4",
}
"""The enhanced code added to a reply that has none, by reply code (RFC 3463 §3.1, §3.6, §3.8).

220 is not in it: a greeting (also the one XCLIENT sends) carries none; STARTTLS's 220 gets 2.0.0."""

STARTTLS_TABLE = {**BY_CODE, 220: "2.0.0"}
"""While STARTTLS answers: its ``220 Ready to start TLS`` gets 2.0.0 (RFC 3207 §4 with RFC 2034)."""



def with_enhanced_code(line: str, table: dict[int, str] = BY_CODE) -> str:
    """``line`` with an enhanced status code inserted after its reply code, where it needs one."""
    match = re.match(r"^(\d{3})([ -]?)(.*)$", line, re.DOTALL)
    if match is None:
        return line
    code, separator, text = int(match[1]), match[2], match[3]
    enhanced = table.get(code)
    if enhanced is None or ENHANCED.match(text):
        return line
    separator = separator or " "
    return f"{match[1]}{separator}{enhanced} {text}" if text else f"{match[1]}{separator}{enhanced}"


class EnhancedRepliesMixin:
    """Enhanced codes on aiosmtpd's own replies (see the module docstring).

    Mixed into the sandbox's aiosmtpd ``SMTP`` subclass, before it.
    """

    _in_hello = False
    _table = BY_CODE

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and not self._in_hello:
            status = "\r\n".join(with_enhanced_code(line, self._table) for line in status.split("\r\n"))
        await super().push(status)  # type: ignore[misc]

    async def _hello(self, method: Any, arg: str) -> None:
        self._in_hello = True
        try:
            await method(arg)
        finally:
            self._in_hello = False

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        await self._hello(super().smtp_HELO, hostname)  # type: ignore[misc]

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        await self._hello(super().smtp_EHLO, hostname)  # type: ignore[misc]

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        self._table = STARTTLS_TABLE  # "220 2.0.0 Ready to start TLS", as Postfix answers
        try:
            await super().smtp_STARTTLS(arg)  # type: ignore[misc]
        finally:
            del self._table
