"""The immutable session snapshot the inspector, prompt and status bar render.

A new :class:`SessionState` is built after every command from the live
``smtplib.SMTP`` object (``esmtp_features``, ``does_esmtp``, ``helo_resp``,
``ehlo_resp``, ``command_encoding``, ...) and the protocol tracker. Frontends
read it; nothing in it refers back to the socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from smtpdbg.core.ledger import Recipient, Transaction
from smtpdbg.core.protocol import Stage, valid_next


@dataclass(frozen=True, slots=True)
class Certificate:
    """The parts of an X.509 certificate a person checks."""

    subject: str
    issuer: str
    san: tuple[str, ...]
    not_before: str
    not_after: str
    days_left: int
    serial: str
    fingerprint_sha256: str
    key: str
    """E.g. ``RSA 2048`` or ``EC secp256r1``."""
    der: bytes = field(default=b"", repr=False, compare=False)
    """The certificate as the server sent it (``ssl.DER_cert_to_PEM_cert`` makes the PEM to save)."""


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """What was negotiated, and whether the peer was verified."""

    version: str
    cipher: str
    bits: int | None
    verified: bool
    """True only when the chain and host name were checked and passed."""
    server_name: str | None
    """The name sent as SNI and checked against the certificate."""
    implicit: bool
    """Implicit TLS (SMTPS) rather than STARTTLS."""
    chain: tuple[Certificate, ...] = ()
    """Peer certificate first."""
    name_matches: bool | None = None
    """Whether the certificate covers `server_name` (computed even when verification is off)."""
    sni: str | None = None
    """The name sent as SNI, when it differs from `server_name` (``--tls-sni``)."""
    verdict: str = ""
    """What a verifying client would conclude (computed when verification was turned off)."""

    @property
    def certificate(self) -> Certificate | None:
        return self.chain[0] if self.chain else None


@dataclass(frozen=True, slots=True)
class Features:
    """``esmtp_features`` with the values parsed."""

    raw: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Keyword (lowercase, as smtplib stores it) to its parameter string."""

    @property
    def size(self) -> int | None:
        value = self.raw.get("size", "").strip()
        return int(value) if value.isdigit() else None

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        return tuple(self.raw.get("auth", "").upper().split())

    @property
    def keywords(self) -> tuple[str, ...]:
        return tuple(k.upper() for k in self.raw)

    def has(self, keyword: str) -> bool:
        return keyword.lower() in self.raw


@dataclass(frozen=True, slots=True)
class SessionState:
    """Everything known about the session at one moment."""

    target: str = ""
    """Display form, e.g. ``smtp://127.0.0.1:2525``."""
    transport: str = ""
    """``smtp``, ``smtps`` or ``lmtp``."""
    sandbox: bool = False
    mx: str = ""
    """For an ``mx:`` target: the exchanger, its preference and the address used."""
    connected: bool = False
    peer: str = ""
    local: str = ""
    timeout: float = 30.0
    local_hostname: str = ""
    source_address: str = ""
    banner: str = ""
    banner_code: int | None = None
    helo_resp: str | None = None
    ehlo_resp: str | None = None
    does_esmtp: bool = False
    features: Features = field(default_factory=Features)
    command_encoding: str = "ascii"
    debuglevel: int = 0
    tls: TlsInfo | None = None
    insecure: bool = False
    """TLS verification was turned off by the user: shown for the whole session."""
    ca: str = ""
    authenticated: bool = False
    auth_user: str | None = None
    auth_mechanism: str | None = None
    stage: Stage = Stage.DISCONNECTED
    mail_from: str | None = None
    """The open transaction's accepted MAIL FROM."""
    transaction: Transaction | None = None
    """The open transaction's ledger (MAIL refused or accepted, recipients and their fates so far)."""
    last_transaction: Transaction | None = None
    """The last transaction that ended on this connection, with every recipient's fate."""
    deliveries: int = 0
    """Transactions on this connection that delivered to at least one recipient."""
    busy: bool = False
    running: str = ""
    """The command running now, if any."""
    commands_run: int = 0

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        """The open transaction's recipients, each with its fate so far."""
        return self.transaction.recipients if self.transaction is not None else ()

    @property
    def valid_next(self) -> tuple[str, ...]:
        return valid_next(self.stage, self.tls is not None, self.authenticated)

    @property
    def in_transaction(self) -> bool:
        return self.stage in (Stage.MAIL, Stage.RCPT, Stage.DATA)
