"""``smtpdbg send --tls-get-peer-cert FILE``: keep the chain the server sent, as PEM.

The chain comes from the core's ``Info`` event for TLS (a ``TlsInfo`` whose
certificates keep their DER bytes); the file is written owner-only.
"""

from __future__ import annotations


class PeerCertKeeper:
    """A session listener that remembers the last TLS chain the session reported."""

    def __init__(self) -> None:
        self.info = None

    def __call__(self, event) -> None:
        info = getattr(event, "tls_info", None)
        if info is not None:
            self.info = info

    def save(self, path: str) -> str:
        """Write the chain to ``path``; returns a line for the transcript (what was written, or why not)."""
        from smtpdbg.core.files import write_private
        from smtpdbg.core.tls import chain_pem

        pem = chain_pem(self.info) if self.info is not None else ""
        if not pem:
            return f"--tls-get-peer-cert {path}: no TLS session, no certificate to save"
        try:
            write_private(path, pem)
        except OSError as exc:
            return f"--tls-get-peer-cert {path}: {exc.strerror or exc}"
        count = pem.count("-----BEGIN CERTIFICATE-----")
        return f"peer certificate chain ({count} certificate{'s' if count != 1 else ''}) saved to {path}"
