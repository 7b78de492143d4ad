"""The data shapes the sandbox shares with the rest of smtpdbg.

Plain frozen dataclasses, importable without loading aiosmtpd or trustme, so
that the CLI and the frontends can name them cheaply:

* :class:`SandboxConfig` says how the sandbox behaves,
* :class:`Endpoints` says where its listeners are and how to trust them,
* :class:`ReceivedMessage` is one message as the server accepted it.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from typing import Literal

Listener = Literal["smtp", "smtps", "lmtp"]
"""Which listener received a message."""

DEFAULT_USER = "alice"
"""Demo login accepted by AUTH PLAIN, LOGIN and CRAM-MD5."""
DEFAULT_PASSWORD = "wonderland"
"""Demo password for :data:`DEFAULT_USER`."""
DEFAULT_HOSTNAME = "sandbox.smtpdbg.test"
"""Banner and EHLO hostname; ``.test`` is reserved (RFC 2606), so it never resolves."""
DEFAULT_IDENT = "smtpdbg sandbox"
"""Banner text after the hostname: no library name, no version."""


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
    extra_extensions: tuple[str, ...] = ()
    """Extra EHLO keywords, e.g. ``("DSN", "ENHANCEDSTATUSCODES")``."""
    smtp_port: int = 0
    """Port of the plain listener; 0 picks a free one."""
    smtps_port: int = 0
    """Port of the implicit-TLS listener; 0 picks a free one."""

    def __post_init__(self) -> None:
        if not _is_loopback(self.host):
            # The demo credentials are public: never offer them beyond this machine.
            raise ValueError(f"sandbox host must be a loopback address, not {self.host!r}")
        if self.banner_delay < 0:
            raise ValueError("banner_delay must not be negative")
        object.__setattr__(self, "reject", frozenset(a.lower() for a in self.reject))
        object.__setattr__(self, "greylist", frozenset(a.lower() for a in self.greylist))
        object.__setattr__(self, "extra_extensions", tuple(self.extra_extensions))


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
