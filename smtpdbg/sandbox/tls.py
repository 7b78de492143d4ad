"""Certificates for the sandbox: one throw-away trustme CA per run, and what TLS showed.

The CA signs one server certificate valid for ``localhost``, ``127.0.0.1``,
``::1``, the bind address and the banner hostname (and, with the lesson DNS zone,
the zone's names that lead to the sandbox: ``mx2.example.test``...), so a client
that trusts the CA can verify whichever name it connected with. The CA certificate is written
as PEM into the sandbox's private directory; clients load it with
``ssl.create_default_context(cafile=...)``. Nothing here persists past a run.

It also observes the client's side of each handshake, for testing a client's
TLS options:

* **SNI**: the server context's ``sni_callback`` notes the name from the
  ClientHello (``None`` when the client sent none: Python, like most clients,
  sends no SNI for an IP address) against the connection's ``SSLObject``;
  :meth:`TLSObserver.facts` hands it to the protocol once the handshake is done.
* **Client certificates**: with ``client_ca`` the contexts ask for a certificate
  (``CERT_OPTIONAL``): a client may send none, but one that does not verify
  against that CA fails the handshake. The record names the certificate by its
  subject CN, or by its first subjectAltName when it has no CN (as trustme's
  ``issue_cert("client@example")`` makes them).
"""

from __future__ import annotations

import ssl
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CA_FILENAME = "ca.pem"
"""Name of the CA certificate file inside the sandbox directory."""


class TLSObserver:
    """Collects the SNI names of handshakes on the contexts it is installed on.

    The callback runs on whichever listener thread does the handshake, hence the lock.
    """

    def __init__(self) -> None:
        self._names: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def install(self, context: ssl.SSLContext) -> None:
        """Make ``context`` report SNI names here."""
        context.sni_callback = self._on_sni

    def _on_sni(self, ssl_object: Any, server_name: str | None, context: ssl.SSLContext) -> None:
        with self._lock:
            self._names[ssl_object] = server_name
        return None  # go on with the handshake

    def facts(self, ssl_object: Any) -> tuple[str | None, str | None, str | None]:
        """``(sni, client certificate name, TLS version)`` of a finished handshake."""
        if ssl_object is None:
            return None, None, None
        with self._lock:
            sni = self._names.pop(ssl_object, None)
        try:
            peer = ssl_object.getpeercert()
        except ValueError:  # handshake not done
            peer = None
        return sni, certificate_name(peer), ssl_object.version()


def certificate_name(peercert: dict[str, Any] | None) -> str | None:
    """Subject CN of a ``getpeercert()`` dict, else its first subjectAltName value."""
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    for _kind, value in peercert.get("subjectAltName", ()):
        return str(value)
    return None


@dataclass(frozen=True)
class SandboxTLS:
    """The server side of the sandbox's TLS, and where clients find the CA."""

    server_context: ssl.SSLContext
    """Server context with the leaf certificate and chain loaded."""
    ca_path: Path
    """PEM file of the CA certificate."""
    observer: TLSObserver
    """What handshakes on :attr:`server_context` showed (SNI)."""


def create_tls(
    directory: Path, hostname: str, host: str, client_ca: str | None = None, names: Iterable[str] = ()
) -> SandboxTLS:
    """Make a CA and a server certificate, write the CA PEM into ``directory``.

    Args:
        directory: Private directory the CA file goes into.
        hostname: Banner hostname the certificate must also cover.
        host: Bind address the certificate must also cover.
        client_ca: PEM file of a CA to verify optional client certificates against.
        names: more host names the certificate covers (the lesson DNS zone's names for the sandbox).

    Raises:
        OSError: If ``client_ca`` cannot be read.
        ssl.SSLError: If ``client_ca`` holds no usable certificate.
    """
    import trustme  # ~0.1 s to import: only when a sandbox actually starts

    identities = list(dict.fromkeys(["localhost", "127.0.0.1", "::1", hostname, host, *names]))
    ca = trustme.CA(organization_name="smtpdbg sandbox")
    leaf = ca.issue_cert(*identities)
    ca_path = directory / CA_FILENAME
    ca.cert_pem.write_to_path(str(ca_path))
    # Purpose.CLIENT_AUTH gives a server-side context that asks for no client cert.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        # OPTIONAL, not REQUIRED: aiosmtpd warns on REQUIRED, and a client
        # without a certificate should still get in (and be seen without one).
        context.verify_mode = ssl.CERT_OPTIONAL
    observer = TLSObserver()
    observer.install(context)
    return SandboxTLS(server_context=context, ca_path=ca_path, observer=observer)
