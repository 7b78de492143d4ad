"""The embedded sandbox SMTP server (aiosmtpd + trustme), UI-free.

``Sandbox`` runs plain SMTP with STARTTLS, implicit-TLS SMTPS and LMTP on a unix
socket, all on loopback, with demo credentials ``alice`` / ``wonderland`` and
the demo bearer token ``sandbox-token``; see :mod:`smtpdbg.sandbox.server` for
the listeners, :mod:`smtpdbg.sandbox.policy` for the replies it gives, and
:mod:`~smtpdbg.sandbox.chunking`, :mod:`~smtpdbg.sandbox.oauth`,
:mod:`~smtpdbg.sandbox.xclient`, :mod:`~smtpdbg.sandbox.proxy` and
:mod:`~smtpdbg.sandbox.tls` for the protocol features a client can be tested
against. ``Sandbox`` is imported lazily so that the CLI can name this package
without paying for aiosmtpd.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smtpdbg.sandbox.model import Connection, Endpoints, ReceivedMessage, SandboxConfig

if TYPE_CHECKING:
    from smtpdbg.sandbox.server import Sandbox

__all__ = ["Connection", "Endpoints", "ReceivedMessage", "Sandbox", "SandboxConfig"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from smtpdbg.sandbox.server import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
