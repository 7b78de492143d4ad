"""The sandbox's aiosmtpd protocol classes: what differs from stock aiosmtpd on the wire.

One :class:`SandboxSMTP` object serves one connection. On top of aiosmtpd's
``SMTP`` it adds CRAM-MD5 (from :mod:`.auth`), a banner tarpit, knowledge of
whether the connection is encrypted, and acceptance of the MAIL/RCPT parameters
of extensions advertised through ``extra_extensions`` (aiosmtpd 1.4.6 answers
``555`` to every RCPT parameter and to unknown MAIL parameters). It also keeps
the parameters exactly as the client sent them in :attr:`SandboxSMTP.pending_params`
for the handler, because aiosmtpd upper-cases them.

:class:`SandboxLMTP` is the same for LMTP (RFC 2033): LHLO instead of EHLO.
Policy (which recipient gets which reply) lives in :mod:`.policy`, not here.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, syntax

from smtpdbg.sandbox.auth import CramMD5Mixin
from smtpdbg.sandbox.model import Listener

EXTENSION_PARAMETERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "DSN": (frozenset({"RET", "ENVID"}), frozenset({"NOTIFY", "ORCPT"})),  # RFC 3461
    "REQUIRETLS": (frozenset({"REQUIRETLS"}), frozenset()),  # RFC 8689
    "MT-PRIORITY": (frozenset({"MT-PRIORITY"}), frozenset()),  # RFC 6710
    "DELIVERBY": (frozenset({"BY"}), frozenset()),  # RFC 2852
}
"""MAIL and RCPT parameter names that each optional extension makes valid."""


def extension_parameters(keywords: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """The MAIL and RCPT parameter names made valid by advertising ``keywords``."""
    mail: set[str] = set()
    rcpt: set[str] = set()
    for keyword in keywords:
        name = keyword.split(maxsplit=1)[0].upper() if keyword.strip() else ""
        mail_names, rcpt_names = EXTENSION_PARAMETERS.get(name, (frozenset(), frozenset()))
        mail |= mail_names
        rcpt |= rcpt_names
    return frozenset(mail), frozenset(rcpt)


class SandboxSMTP(CramMD5Mixin, SMTP):
    """aiosmtpd ``SMTP`` with the sandbox's additions; one instance per connection."""

    def __init__(
        self,
        handler: Any,
        *,
        listener: Listener,
        banner_delay: float = 0.0,
        extra_extensions: tuple[str, ...] = (),
        implicit_tls: bool = False,
        **kwargs: Any,
    ) -> None:
        # Upstream keeps command_size_limits in one class-level dict that every new
        # connection clear()s and every EHLO increments; give each connection its own.
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
        super().__init__(handler, **kwargs)
        self.listener: Listener = listener
        """Which sandbox listener this connection arrived on."""
        self.banner_delay = banner_delay
        """Seconds to wait before the 220 banner."""
        self.extra_extensions = extra_extensions
        """EHLO keywords the handler appends to the stock list."""
        self.implicit_tls = implicit_tls
        """True on the SMTPS listener, where TLS starts before the banner."""
        self.pending_params: tuple[str, ...] = ()
        """Parameters of the MAIL/RCPT command being handled, verbatim."""
        self._mail_params, self._rcpt_params = extension_parameters(extra_extensions)

    @property
    def tls_active(self) -> bool:
        """Whether this connection is encrypted (SMTPS, or after STARTTLS)."""
        return self.implicit_tls or self._tls_protocol is not None

    async def _handle_client(self) -> None:
        # The tarpit: a slow banner, before aiosmtpd's command loop sends 220.
        if self.banner_delay > 0:
            await asyncio.sleep(self.banner_delay)
        await super()._handle_client()

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        arg, self.pending_params = self._take_params("FROM:", arg, self._mail_params)
        await super().smtp_MAIL(arg)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        arg, self.pending_params = self._take_params("TO:", arg, self._rcpt_params)
        await super().smtp_RCPT(arg)

    def _take_params(
        self, keyword: str, arg: str | None, allowed: frozenset[str]
    ) -> tuple[str | None, tuple[str, ...]]:
        """Split off the parameters of a MAIL/RCPT argument.

        Returns:
            The argument with the parameters in ``allowed`` removed (so that
            aiosmtpd does not refuse them), and all parameters as sent. On any
            syntax problem the argument comes back unchanged for aiosmtpd to
            answer.
        """
        if arg is None:
            return arg, ()
        rest = self._strip_command_keyword(keyword, arg)
        if rest is None:
            return arg, ()
        address, params = self._getaddr(rest)
        if not address or params is None:
            return arg, ()
        sent = tuple(params.split())
        kept = [p for p in sent if p.partition("=")[0].upper() not in allowed]
        path = rest[: len(rest) - len(params)]
        return " ".join([keyword + path.strip(), *kept]), sent


class SandboxLMTP(SandboxSMTP, LMTP):
    """The LMTP (RFC 2033) flavour: LHLO replaces HELO/EHLO, same additions."""
