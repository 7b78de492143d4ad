"""The sandbox's aiosmtpd protocol classes: what differs from stock aiosmtpd on the wire.

One :class:`SandboxSMTP` object serves one connection. On top of aiosmtpd's
``SMTP`` it adds CRAM-MD5 (from :mod:`.auth`), XOAUTH2 and OAUTHBEARER (from
:mod:`.oauth`), CHUNKING/BDAT and BINARYMIME (from :mod:`.chunking`), XCLIENT
and XFORWARD (from :mod:`.xclient`), the PROXY protocol (from :mod:`.proxy`),
a banner tarpit, knowledge of whether the connection is encrypted, and
acceptance of the MAIL/RCPT parameters of extensions advertised through
``extra_extensions`` (aiosmtpd 1.4.6 answers ``555`` to every RCPT parameter
and to unknown MAIL parameters). It refuses what RFCs forbid and aiosmtpd lets
through: AUTH inside a transaction (RFC 4954 §4) and STARTTLS under TLS (RFC
3207 §4.2), both with 503. It also keeps the parameters exactly as the
client sent them in :attr:`SandboxSMTP.pending_params` for the handler, because
aiosmtpd upper-cases them, and keeps the connection's record (:mod:`.connections`)
up to date: peer, PROXY header, TLS facts (:mod:`.tls`), greeting, AUTH, XCLIENT.

Command lines: aiosmtpd reads every line through a stream reader limited to
1001 octets, so an ``AUTH XOAUTH2 <token>`` line with a real-world token (RFC
4954 §4 allows 12288 octets) was cut off with ``500 Command line too long``.
The reader limit here is :data:`READER_LIMIT`; AUTH lines may use all of it,
XCLIENT/XFORWARD lines are checked against their own 512-octet limit (with a
Postfix-style reply), and every other command keeps aiosmtpd's 512 and its
reply. DATA lines keep their 1001-octet limit: aiosmtpd checks that separately.

:class:`SandboxLMTP` is the same for LMTP (RFC 2033): LHLO instead of EHLO.
Policy (which recipient gets which reply) lives in :mod:`.policy`, not here.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from smtpdbg.sandbox.auth import CramMD5Mixin
from smtpdbg.sandbox.chunking import ChunkingMixin
from smtpdbg.sandbox.connections import ConnectionLog, LiveConnection, detached
from smtpdbg.sandbox.limits import LimitsMixin
from smtpdbg.sandbox.model import Listener
from smtpdbg.sandbox.oauth import OAUTH_MECHANISMS, OAuthMixin
from smtpdbg.sandbox.outcomes import OutcomeMixin
from smtpdbg.sandbox.proxy import ProxyMixin
from smtpdbg.sandbox.replies import EnhancedRepliesMixin
from smtpdbg.sandbox.smuggling import SmugglingMixin
from smtpdbg.sandbox.tls import TLSObserver
from smtpdbg.sandbox.xclient import XClientMixin, ehlo_keywords

EXTENSION_PARAMETERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "DSN": (frozenset({"RET", "ENVID"}), frozenset({"NOTIFY", "ORCPT"})),  # RFC 3461
    "REQUIRETLS": (frozenset({"REQUIRETLS"}), frozenset()),  # RFC 8689
    "MT-PRIORITY": (frozenset({"MT-PRIORITY"}), frozenset()),  # RFC 6710
    "DELIVERBY": (frozenset({"BY"}), frozenset()),  # RFC 2852
}
"""MAIL and RCPT parameter names that each optional extension makes valid."""

READER_LIMIT = 12288
"""Longest line the stream reader takes (RFC 4954 §4's limit for AUTH lines)."""

BINARYMIME = "BODY=BINARYMIME"

REPLY_TLS_ACTIVE = "503 5.5.1 Error: TLS already active"
REPLY_AUTH_IN_TRANSACTION = "503 5.5.1 Error: AUTH not allowed during a mail transaction"
REPLY_AUTH_AGAIN = "503 5.5.1 Error: already authenticated"


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


class SandboxSession(Session):
    """aiosmtpd's session plus the mechanism of the successful AUTH."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.auth_mechanism: str | None = None
        """``"PLAIN"``, ``"XOAUTH2"``, ..., or ``"XCLIENT"``; None before AUTH."""


class SandboxEnvelope(Envelope):
    """aiosmtpd's envelope plus BDAT state and XFORWARD attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[int] = []
        """Sizes of the BDAT chunks accepted so far."""
        self.body = bytearray()
        """The octets of those chunks."""
        self.binarymime = False
        """Whether MAIL carried ``BODY=BINARYMIME`` (then only BDAT may follow)."""
        self.xforward: dict[str, str] = {}
        """XFORWARD attributes for this transaction."""


class SandboxSMTP(
    EnhancedRepliesMixin, CramMD5Mixin, OAuthMixin, LimitsMixin, OutcomeMixin, ChunkingMixin, XClientMixin,
    ProxyMixin, SmugglingMixin, SMTP,
):
    """aiosmtpd ``SMTP`` with the sandbox's additions; one instance per connection."""

    # The de-facto AUTH LOGIN prompts (base64 "VXNlcm5hbWU6", "UGFzc3dvcmQ6") that
    # Postfix, Exim and Exchange send; aiosmtpd's own are "User Name\0", "Password\0".
    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(
        self,
        handler: Any,
        *,
        listener: Listener,
        banner_delay: float = 0.0,
        reply_delay: float = 10.0,
        extra_extensions: tuple[str, ...] = (),
        implicit_tls: bool = False,
        chunking: bool = True,
        oauth: bool = True,
        xclient: bool = False,
        proxy_protocol: bool = False,
        deferred_tls: ssl.SSLContext | None = None,
        tls_observer: TLSObserver | None = None,
        connection_log: ConnectionLog | None = None,
        probe: bool = False,
        bare_lf: str = "keep",
        **kwargs: Any,
    ) -> None:
        """
        Args:
            handler: The aiosmtpd handler (:class:`~smtpdbg.sandbox.policy.SandboxHandler`).
            listener: Which sandbox listener this connection arrived on.
            banner_delay: Seconds to wait before the 220 banner.
            reply_delay: Seconds the reply to a message for ``delay@`` is held back
                (:mod:`.outcomes`).
            extra_extensions: EHLO keywords to advertise in addition.
            implicit_tls: True on SMTPS, where TLS comes before the banner.
            chunking: Offer CHUNKING/BINARYMIME and accept BDAT.
            oauth: Offer XOAUTH2 and OAUTHBEARER.
            xclient: Offer and accept XCLIENT and XFORWARD.
            proxy_protocol: Expect a PROXY header before anything else.
            deferred_tls: Server context for TLS right after the PROXY header
                (SMTPS behind a proxy); None otherwise.
            tls_observer: Where the TLS contexts report SNI names.
            connection_log: Where this connection is recorded.
            probe: True for the listener's own readiness check: not recorded.
            bare_lf: What a bare LF does: ``keep``, ``vulnerable`` or ``reject`` (:mod:`.smuggling`).
            kwargs: Passed on to aiosmtpd's ``SMTP``.
        """
        # Upstream keeps command_size_limits in one class-level dict that every new
        # connection clear()s and every EHLO increments; give each connection its own.
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
        # SMTP.__init__ sizes its stream reader with self.line_length_limit; DATA
        # then checks its lines against the class value again (see module docstring).
        self.line_length_limit = READER_LIMIT
        super().__init__(handler, **kwargs)
        del self.line_length_limit
        # After super().__init__(), which clear()s the limits.
        self.command_size_limits.update(
            {"AUTH": READER_LIMIT - 2, "XCLIENT": READER_LIMIT, "XFORWARD": READER_LIMIT}
        )
        self.bare_lf = bare_lf
        self.listener: Listener = listener
        """Which sandbox listener this connection arrived on."""
        self.banner_delay = banner_delay
        """Seconds to wait before the 220 banner."""
        self.reply_delay = reply_delay
        """Seconds the reply to a message for ``delay@`` is held back."""
        self.transaction_number = 0
        """MAIL FROMs accepted on this connection so far (numbers the :class:`Decision` log)."""
        self.extra_extensions = extra_extensions
        """EHLO keywords the handler appends to the stock list."""
        self.implicit_tls = implicit_tls
        """True on the SMTPS listener, where TLS starts before the banner."""
        self.chunking = chunking
        """Whether CHUNKING/BINARYMIME are offered."""
        self.xclient = xclient
        """Whether XCLIENT/XFORWARD are offered."""
        self.proxy_protocol = proxy_protocol
        """Whether a PROXY header must come first."""
        self.deferred_tls = deferred_tls
        """Server TLS context to start right after the PROXY header, or None."""
        self.pending_params: tuple[str, ...] = ()
        """Parameters of the MAIL/RCPT command being handled, verbatim."""
        self.xclient_attributes: dict[str, str] = {}
        """XCLIENT attributes in force on this connection."""
        self.connection: LiveConnection = detached(listener, None)
        """This connection's record (logged once the connection is made, unless a probe)."""
        self._tls_observer = tls_observer
        self._connection_log = None if probe else connection_log
        self._mail_params, self._rcpt_params = extension_parameters(extra_extensions)
        if not chunking:
            self._smtp_methods.pop("BDAT", None)
        if not xclient:
            self._smtp_methods.pop("XCLIENT", None)
            self._smtp_methods.pop("XFORWARD", None)
        if not oauth:
            for mechanism in OAUTH_MECHANISMS:
                self._auth_methods.pop(mechanism, None)

    def _create_session(self) -> SandboxSession:
        return SandboxSession(self.loop)

    def _create_envelope(self) -> SandboxEnvelope:
        return SandboxEnvelope()

    @property
    def tls_active(self) -> bool:
        """Whether this connection is encrypted (SMTPS, or after STARTTLS)."""
        return self.implicit_tls or self._tls_protocol is not None

    def advertised_extensions(self) -> list[str]:
        """EHLO keywords to add to aiosmtpd's own list, in order.

        PIPELINING (RFC 2920: aiosmtpd reads one line at a time, so commands written
        together are answered in order) and ENHANCEDSTATUSCODES (RFC 2034: the
        replies carry them) come first; RFC 2033 §5 requires both of an LMTP server.
        """
        keywords = ["PIPELINING", "ENHANCEDSTATUSCODES"]
        keywords += ["CHUNKING", "BINARYMIME"] if self.chunking else []
        if self.xclient:
            keywords += ehlo_keywords()
        return keywords + list(self.extra_extensions)

    # -- the connection and its record -------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first and self._connection_log is not None:
            self.connection = self._connection_log.open(self.listener, self.session.peer)
        if transport.get_extra_info("ssl_object") is not None:
            self._note_tls(transport)

    def _note_tls(self, transport: asyncio.BaseTransport) -> None:
        observer = self._tls_observer or TLSObserver()
        sni, client_cert, version = observer.facts(transport.get_extra_info("ssl_object"))
        self.connection.update(tls=True, sni=sni, client_cert=client_cert, tls_version=version)

    def connection_lost(self, error: Exception | None) -> None:
        self.connection.update(closed=True)
        super().connection_lost(error)

    def note_proxy(self, description: str) -> None:
        self.connection.update(proxy=description)

    def note_tls_failed(self) -> None:
        self.connection.update(closed=True)

    def restart_session(self, login: str | None) -> None:
        """XCLIENT: start over as a new session (RSET, no greeting, no AUTH)."""
        self._set_rset_state()
        session = self.session
        session.host_name = None
        # session.extended_smtp stays as it was: it only chooses which command-line
        # limits aiosmtpd applies, and XCLIENT lines must keep theirs until EHLO.
        session.authenticated = login is not None
        session.auth_data = login
        session.auth_mechanism = "XCLIENT" if login is not None else None
        self.connection.update(
            helo=None, auth_user=login, auth_mechanism=session.auth_mechanism,
            xclient=tuple(self.xclient_attributes.items()),
        )

    async def _handle_client(self) -> None:
        try:
            if self.proxy_protocol:
                if not await self._accept_proxy_header():
                    return
                if self.deferred_tls is not None and not await self._start_deferred_tls():
                    return
            # The tarpit: a slow banner, before aiosmtpd's command loop sends 220.
            if self.banner_delay > 0:
                await asyncio.sleep(self.banner_delay)
        except asyncio.CancelledError:
            # The client hung up (aiosmtpd cancels us on EOF). Its command loop would
            # close our side; before that loop runs, nobody does: the socket would
            # stay half-open until the sandbox stops.
            if self.transport is not None:
                self.transport.close()
            raise
        await super()._handle_client()

    # -- commands ------------------------------------------------------------------

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        # RFC 3207 §4.2: no second handshake; EHLO stops offering STARTTLS (aiosmtpd does
        # that), and a client that asks again is out of sequence: also on SMTPS, where
        # aiosmtpd would answer "454 TLS not available" (a temporary failure).
        if self.tls_active:
            await self.push(REPLY_TLS_ACTIVE)
            return
        await super().smtp_STARTTLS(arg)

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str) -> None:
        # RFC 4954 §4: AUTH within a transaction, or after a successful AUTH, is a 503.
        if self.session.host_name and self.session.extended_smtp:
            if self.envelope.mail_from is not None:
                await self.push(REPLY_AUTH_IN_TRANSACTION)
                return
            if self.session.authenticated:
                await self.push(REPLY_AUTH_AGAIN)
                return
        before = self.session.authenticated
        await super().smtp_AUTH(arg)
        if self.session.authenticated and not before:
            self.session.auth_mechanism = arg.split()[0]
            self.connection.update(
                auth_user=self.session.auth_data, auth_mechanism=self.session.auth_mechanism
            )

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        arg, self.pending_params = self._take_params("FROM:", arg, self._mail_params)
        before = self.envelope.mail_from
        await super().smtp_MAIL(arg)
        if self.envelope.mail_from and not before:
            self.transaction_number += 1

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        arg, self.pending_params = self._take_params("TO:", arg, self._rcpt_params)
        self.expect_rcpt_reply(self._rcpt_address(arg))
        try:
            await super().smtp_RCPT(arg)
        finally:
            self.expect_reply(None)

    def _rcpt_address(self, arg: str | None) -> str:
        """The address of a RCPT argument, for the decision log (the argument itself if it does not parse)."""
        rest = self._strip_command_keyword("TO:", arg) if arg else None
        address = self._getaddr(rest)[0] if rest is not None else None
        return address or (arg or "")

    def _take_params(
        self, keyword: str, arg: str | None, allowed: frozenset[str]
    ) -> tuple[str | None, tuple[str, ...]]:
        """Split off the parameters of a MAIL/RCPT argument.

        Returns:
            The argument with the parameters in ``allowed`` (and, with CHUNKING,
            ``BODY=BINARYMIME``) removed, so that aiosmtpd does not refuse them,
            and all parameters as sent. On any syntax problem the argument comes
            back unchanged for aiosmtpd to answer.
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
        kept = [
            p for p in sent
            if p.partition("=")[0].upper() not in allowed
            and not (self.chunking and keyword == "FROM:" and p.upper() == BINARYMIME)
        ]
        path = rest[: len(rest) - len(params)]
        return " ".join([keyword + path.strip(), *kept]), sent


class SandboxLMTP(SandboxSMTP, LMTP):
    """The LMTP (RFC 2033) flavour: LHLO replaces HELO/EHLO, same additions."""

    @syntax("LHLO hostname")
    async def smtp_LHLO(self, hostname: str) -> None:
        await self._hello(super().smtp_LHLO, hostname)
