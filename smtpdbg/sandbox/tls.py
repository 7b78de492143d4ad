"""Certificates for the sandbox: one throw-away trustme CA per run.

The CA signs one server certificate valid for ``localhost``, ``127.0.0.1``,
``::1``, the bind address and the banner hostname, so a client that trusts the
CA can verify whichever name it connected with. The CA certificate is written
as PEM into the sandbox's private directory; clients load it with
``ssl.create_default_context(cafile=...)``. Nothing here persists past a run.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

CA_FILENAME = "ca.pem"
"""Name of the CA certificate file inside the sandbox directory."""


@dataclass(frozen=True)
class SandboxTLS:
    """The server side of the sandbox's TLS, and where clients find the CA."""

    server_context: ssl.SSLContext
    """Server context with the leaf certificate and chain loaded."""
    ca_path: Path
    """PEM file of the CA certificate."""


def create_tls(directory: Path, hostname: str, host: str) -> SandboxTLS:
    """Make a CA and a server certificate, write the CA PEM into ``directory``.

    Args:
        directory: Private directory the CA file goes into.
        hostname: Banner hostname the certificate must also cover.
        host: Bind address the certificate must also cover.
    """
    import trustme  # ~0.1 s to import: only when a sandbox actually starts

    identities = list(dict.fromkeys(["localhost", "127.0.0.1", "::1", hostname, host]))
    ca = trustme.CA(organization_name="smtpdbg sandbox")
    leaf = ca.issue_cert(*identities)
    ca_path = directory / CA_FILENAME
    ca.cert_pem.write_to_path(str(ca_path))
    # Purpose.CLIENT_AUTH gives a server-side context that asks for no client cert.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return SandboxTLS(server_context=context, ca_path=ca_path)
