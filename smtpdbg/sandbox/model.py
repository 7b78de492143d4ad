"""The data shapes the sandbox shares with the rest of smtpdbg.

Plain frozen dataclasses, importable without loading aiosmtpd or trustme, so
that the CLI and the frontends can name them cheaply:

* :class:`SandboxConfig` says how the sandbox behaves,
* :class:`Endpoints` says where its listeners are and how to trust them,
* :class:`ReceivedMessage` is one message as the server accepted it,
* :class:`Decision` is what the server said about one recipient,
* :class:`Connection` is what the server saw of one client connection.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from typing import Literal

Listener = Literal["smtp", "smtps", "lmtp"]
"""Which listener received a message."""

Fault = Literal["drop", "delay"]
"""A reply fault after the final dot: ``drop`` closes the connection without a reply,
``delay`` answers only after :attr:`SandboxConfig.reply_delay` seconds."""

DEFAULT_USER = "alice"
"""Demo login accepted by AUTH PLAIN, LOGIN and CRAM-MD5."""
DEFAULT_PASSWORD = "wonderland"
"""Demo password for :data:`DEFAULT_USER`."""
DEFAULT_HOSTNAME = "sandbox.smtpdbg.test"
"""Banner and EHLO hostname; ``.test`` is reserved (RFC 2606), so it never resolves."""
DEFAULT_IDENT = "smtpdbg sandbox"
"""Banner text after the hostname: no library name, no version."""
DEFAULT_OAUTH_TOKEN = "sandbox-token"
"""Demo bearer token accepted by AUTH XOAUTH2 and OAUTHBEARER for :data:`DEFAULT_USER`."""

Attributes = tuple[tuple[str, str], ...]
"""XCLIENT/XFORWARD attributes as ``(NAME, decoded value)`` pairs, upper-case names."""


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox server behaves. Every field has a teaching-friendly default."""

    host: str = "127.0.0.1"
    """Loopback IP address the TCP listeners bind to; anything else raises ``ValueError``."""
    hostname: str = DEFAULT_HOSTNAME
    """Name in the banner, in the EHLO reply and in the certificate."""
    ident: str = DEFAULT_IDENT
    """Text after the hostname in the 220 banner."""
    user: str = DEFAULT_USER
    """Demo login."""
    password: str = DEFAULT_PASSWORD
    """Demo password."""
    auth_require_tls: bool = False
    """True: the plain listener offers AUTH only after STARTTLS (SMTPS always offers it)."""
    data_size_limit: int = 33554432
    """Advertised SIZE and the largest message accepted, in bytes."""
    lmtp: bool = True
    """Whether to run the LMTP listener on a unix socket."""
    reject: frozenset[str] = frozenset()
    """Recipient addresses answered ``550 5.1.1`` (stored lower-cased)."""
    greylist: frozenset[str] = frozenset()
    """Recipient addresses answered ``451 4.7.1`` (stored lower-cased)."""
    banner_delay: float = 0.0
    """Seconds to wait before sending the 220 banner (a tarpit)."""
    reply_delay: float = 10.0
    """Seconds a message for a ``delay@`` recipient waits for its reply after the final dot."""
    extra_extensions: tuple[str, ...] = ()
    """Extra EHLO keywords, e.g. ``("DSN", "REQUIRETLS")`` (PIPELINING and ENHANCEDSTATUSCODES are always offered)."""
    smtp_port: int = 0
    """Port of the plain listener; 0 picks a free one."""
    smtps_port: int = 0
    """Port of the implicit-TLS listener; 0 picks a free one."""
    chunking: bool = True
    """Advertise CHUNKING and BINARYMIME (RFC 3030) on every listener and accept BDAT."""
    oauth_token: str = DEFAULT_OAUTH_TOKEN
    """Bearer token AUTH XOAUTH2/OAUTHBEARER accept for :attr:`user`; empty: neither is offered."""
    xclient: bool = False
    """Advertise and accept Postfix's XCLIENT and XFORWARD commands."""
    proxy_protocol: bool = False
    """The smtp and smtps listeners expect a PROXY protocol v1/v2 header before anything else."""
    client_ca: str | None = None
    """PEM file of a CA: TLS then asks for an optional client certificate verified against it."""
    greylist_delay: float | None = None
    """Seconds after which a greylisted recipient's retry is accepted (:mod:`.limits`); None: never."""
    max_recipients: int = 0
    """Recipients accepted per transaction; more get ``452 4.5.3`` (0: no limit)."""
    max_messages: int = 0
    """Messages accepted per connection; the next MAIL gets ``421 4.7.0`` and the connection closes (0: no limit)."""
    dsn: bool = False
    """Advertise DSN, check its parameters and put delivery reports in the sender's mailbox (:mod:`.dsn`)."""
    bare_lf: str = "keep"
    """What a bare LF does (:mod:`.smuggling`): ``keep`` it as text, ``vulnerable`` (ends lines), ``reject``,
    or ``both`` (vulnerable for recipients at ``unpatched.<hostname>``, else reject)."""
    dns: bool = False
    """Run a DNS server on loopback with the MX lesson's zone (:mod:`.dns`); its address is ``Endpoints.dns``."""
    relay: bool = False
    """Relay only for clients that authenticated: other domains' recipients get ``554 5.7.1`` (:mod:`.relay`)."""
    provider_policy: bool = False
    """Refuse like the big providers, by sender and From: domain: SPF, PTR, blocklist, DMARC (:mod:`.providers`)."""
    strip_starttls: bool = False
    """Run a middlebox that masks STARTTLS in front of the plain listener (:mod:`.stripping`): ``Endpoints.stripped``."""

    def __post_init__(self) -> None:
        if not _is_loopback(self.host):
            # The demo credentials are public: never offer them beyond this machine.
            raise ValueError(f"sandbox host must be a loopback address, not {self.host!r}")
        if self.banner_delay < 0:
            raise ValueError("banner_delay must not be negative")
        if self.reply_delay < 0:
            raise ValueError("reply_delay must not be negative")
        if self.bare_lf not in ("keep", "vulnerable", "reject", "both"):
            raise ValueError(f"bare_lf must be keep, vulnerable, reject or both, not {self.bare_lf!r}")
        object.__setattr__(self, "reject", frozenset(a.lower() for a in self.reject))
        object.__setattr__(self, "greylist", frozenset(a.lower() for a in self.greylist))
        object.__setattr__(self, "extra_extensions", tuple(self.extra_extensions))
        if any(not ch.isprintable() or ch.isspace() for ch in self.oauth_token):
            # It travels as "auth=Bearer <token>" inside a ^A-separated SASL message.
            raise ValueError("oauth_token must be printable and contain no white space")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoints:
    """Where a running sandbox listens, and what a client needs to talk to it."""

    smtp: tuple[str, int]
    """Plain SMTP listener that offers STARTTLS."""
    smtps: tuple[str, int]
    """Implicit-TLS SMTP listener (RFC 8314)."""
    lmtp: str | None
    """Absolute path of the LMTP unix socket, or None when LMTP is off."""
    user: str
    """Demo login."""
    password: str
    """Demo password."""
    ca_path: str
    """PEM file of the sandbox CA; removed when the sandbox stops."""
    hostname: str
    """Name the server announces and its certificate is valid for."""
    oauth_token: str = ""
    """Bearer token for AUTH XOAUTH2/OAUTHBEARER; empty when OAuth is not offered."""
    dns: str | None = None
    """``HOST:PORT`` of the sandbox's DNS server (UDP) when ``SandboxConfig.dns`` is on."""
    stripped: tuple[str, int] | None = None
    """The STARTTLS-stripping middlebox in front of the plain listener, when ``SandboxConfig.strip_starttls`` is on."""

    def client_ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts the sandbox CA (and nothing else)."""
        return ssl.create_default_context(cafile=self.ca_path)


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the sandbox accepted after the final dot."""

    listener: Listener
    """Which listener took it."""
    mail_from: str
    """Reverse path from MAIL FROM (empty string for the null sender)."""
    mail_options: tuple[str, ...]
    """MAIL FROM parameters exactly as the client sent them, in order."""
    rcpt_tos: tuple[str, ...]
    """Accepted recipients; for LMTP only those it delivered to."""
    rcpt_options: tuple[tuple[str, ...], ...]
    """RCPT TO parameters as sent, one tuple per entry of :attr:`rcpt_tos`."""
    content: bytes
    """Message bytes after un-dot-stuffing, exactly as received."""
    peer: object
    """Peer address: ``(host, port)`` for TCP, a path or empty string for unix sockets."""
    tls: bool
    """Whether the transaction ran over TLS (SMTPS, or after STARTTLS)."""
    auth_user: str | None
    """Login of a successful AUTH, else None."""
    helo: str | None
    """Argument of the last HELO/EHLO/LHLO."""
    chunks: tuple[int, ...] = ()
    """Sizes of the BDAT chunks the message came in, in order; empty when it came by DATA."""
    auth_mechanism: str | None = None
    """SASL mechanism of the successful AUTH (``"PLAIN"``, ``"XOAUTH2"``, ...), or ``"XCLIENT"``
    for an XCLIENT ``LOGIN``; None when not authenticated."""
    xclient: Attributes = ()
    """XCLIENT attributes in force on the connection, in the order first sent, latest values."""
    xforward: Attributes = ()
    """XFORWARD attributes sent for this transaction, in the order first sent, latest values."""
    proxy: str | None = None
    """The PROXY header of the connection, e.g. ``"v1 TCP4 192.0.2.1:4242 -> 127.0.0.1:2525"``."""
    sni: str | None = None
    """Server name the client sent in its TLS ClientHello (SNI); None without TLS or SNI."""
    client_cert: str | None = None
    """Subject CN of the verified client certificate (else its first subjectAltName)."""
    connection_id: int | None = None
    """:attr:`Connection.id` of the connection the message came over."""
    transaction: int = 0
    """Which transaction of its connection it was: the number of MAIL FROMs accepted there so far."""
    fault: Fault | None = None
    """``drop``: received whole, but the connection was closed instead of a reply; ``delay``: the reply
    was held back :attr:`SandboxConfig.reply_delay` seconds. None: answered at once."""
    trace: bytes = b""
    """The ``Return-Path:`` and ``Received:`` lines the sandbox put on top at delivery, as a
    real MTA does (RFC 5321 §4.4; :mod:`.delivery`); :attr:`content` stays as received."""

    @property
    def stored(self) -> bytes:
        """The message as the mailbox holds it: :attr:`trace` then :attr:`content`."""
        return self.trace + self.content


Stage = Literal["RCPT", "DATA", "end of data", "BDAT", "BDAT LAST"]
"""Where the sandbox decided about a recipient (the names the client's ledger uses)."""


@dataclass(frozen=True)
class Decision:
    """One reply of the sandbox that decided about a recipient (see ``Connection.decisions``).

    Recorded for a RCPT that was not answered 2xx, for a DATA or a BDAT chunk
    refused while recipients were accepted, and for the reply after the message
    (after the final dot, or to BDAT LAST; LMTP: the recipient's own line).
    A recipient accepted at RCPT with no decision never had the message sent.
    """

    transaction: int
    """Number of the transaction on its connection (MAIL FROMs accepted so far); 0 before any."""
    address: str
    """The recipient as the client sent it."""
    stage: Stage
    reply: str
    """The reply as decided (its last line, for a multi-line one), e.g. ``550 5.1.1 <a@b>: ...``."""
    fault: Fault | None = None
    """Set when the reply never reached the client (``drop``) or came late (``delay``)."""

    @property
    def code(self) -> int:
        """The reply code (0 if the reply has none)."""
        head = self.reply[:3]
        return int(head) if head.isdigit() else 0


@dataclass(frozen=True)
class Connection:
    """A snapshot of one client connection as the server saw it (see ``Sandbox.connections``).

    The server updates its live record as the session goes on; each snapshot is
    frozen at the moment it was taken.
    """

    id: int
    """Sequence number within the sandbox run, from 1."""
    listener: Listener
    """Which listener accepted it."""
    peer: object
    """Socket peer: ``(host, port)`` for TCP, a path or empty string for unix sockets."""
    proxy: str | None = None
    """What the PROXY header said (same form as :attr:`ReceivedMessage.proxy`)."""
    tls: bool = False
    """Whether TLS is up (SMTPS, or after STARTTLS)."""
    tls_version: str | None = None
    """Negotiated protocol, e.g. ``"TLSv1.3"``."""
    sni: str | None = None
    """Server name from the client's TLS ClientHello."""
    client_cert: str | None = None
    """Subject CN (else first subjectAltName) of the verified client certificate."""
    helo: str | None = None
    """Argument of the last HELO/EHLO/LHLO (reset by XCLIENT)."""
    auth_user: str | None = None
    """Login of a successful AUTH (or XCLIENT LOGIN)."""
    auth_mechanism: str | None = None
    """Mechanism of that AUTH, or ``"XCLIENT"``."""
    xclient: Attributes = ()
    """XCLIENT attributes in force."""
    messages: int = 0
    """Messages accepted over this connection."""
    decisions: tuple[Decision, ...] = ()
    """What the server decided about each recipient, in order (see :class:`Decision`)."""
    closed: bool = False
    """Whether the connection has ended."""
