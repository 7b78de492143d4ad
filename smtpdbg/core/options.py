"""How a session connects and behaves: the options the CLI, the connect dialog and scripts set.

Kept apart from :mod:`smtpdbg.core.session` so that frontends and handlers can
name them without importing the session machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smtpdbg.core.wire import Limits

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """How a session connects; set from the CLI or the connect dialog."""

    timeout: float = DEFAULT_TIMEOUT
    """Default wall-clock limit per command, in seconds."""
    local_hostname: str | None = None
    """Name used in HELO/EHLO; ``None`` lets smtplib use the machine's FQDN."""
    source_address: tuple[str, int] | None = None
    ca: str | None = None
    """PEM file of CAs to trust instead of the system store."""
    insecure: bool = False
    """Skip TLS verification (explicit opt-out, shown everywhere)."""
    allow_plaintext_auth: bool = False
    """Send AUTH secrets on a connection without TLS (explicit consent; the embedded sandbox needs none)."""
    password_env: str | None = None
    """Environment variable holding the password for ``login``/``auth``."""
    tls_name: str | None = None
    """Name sent as SNI (and checked, unless ``tls_verify_name`` is set); default: the host."""
    tls_verify_name: str | None = None
    """Name the certificate must match when it differs from the SNI name."""
    tls_cert: str | None = None
    """Client certificate (PEM) to present."""
    tls_key: str | None = None
    tls_min: str | None = None
    """Lowest TLS version: ``1.0`` .. ``1.3``."""
    tls_max: str | None = None
    tls_ciphers: str | None = None
    """OpenSSL cipher string."""
    tls_keylog: str | None = None
    """Write TLS secrets to this file (NSS key log format, for Wireshark)."""
    ip_version: int | None = None
    """Force IPv4 (4) or IPv6 (6)."""
    proxy_header: str | None = None
    """Send a PROXY protocol header (``v1`` or ``v2``) before the greeting."""
    proxy_source: tuple[str, int] | None = None
    """The client address the PROXY header claims."""
    dns_server: str | None = None
    """``host[:port]`` of the DNS server for ``mx:`` targets (default: the system resolver)."""
    ports: tuple[tuple[int, int], ...] = ()
    """Port map: a target naming the first port is reached on the second (a lesson's sandbox listens on free
    ports where 25, 587 and 465 are meant); each use is told in the transcript."""
    limits: Limits = field(default_factory=Limits)
    log: str | None = None
    """Append every event to this file as it happens (crash-safe session log)."""
    mailbox: Any = field(default=None, compare=False, repr=False)
    """The embedded sandbox the session was started with (anything with a ``messages`` list of
    :class:`~smtpdbg.sandbox.model.ReceivedMessage`): what the ``mailbox`` command shows. None otherwise."""
