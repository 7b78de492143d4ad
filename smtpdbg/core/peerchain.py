"""The certificates a server sent when verifying them failed: TLS facts without a rerun.

When the verified handshake fails, the chain is read without trusting it:
Python 3.13+ keeps it on the failed socket (``get_unverified_chain``); before
that, one second, clearly labelled, non-verifying handshake is made to the same
address only to read the server's certificate: for STARTTLS it sends EHLO and
STARTTLS, then the handshake, and closes; nothing else ever goes over it and
it is never used for the session. The result is an *unverified* ``TlsInfo``
carried on an ``Info`` event (kind INFO, not TLS: no TLS was established).
"""

from __future__ import annotations

import smtplib
import socket
import ssl

from smtpdbg.core.state import TlsInfo


def _second_look(peer: tuple, *, implicit: bool, name: str | None, local_hostname: str | None,
                 timeout: float) -> list[bytes]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read the certificate: this connection carries nothing
    host, port = peer[0], peer[1]
    if implicit:
        with socket.create_connection((host, port), timeout) as raw, \
                context.wrap_socket(raw, server_hostname=name) as tls_sock:
            return [tls_sock.getpeercert(binary_form=True)]
    client = smtplib.SMTP(host, port, local_hostname=local_hostname or "localhost", timeout=timeout)
    try:
        client.ehlo()
        code, _ = client.docmd("STARTTLS")
        if code != 220:
            return []
        with context.wrap_socket(client.sock, server_hostname=name) as tls_sock:
            return [tls_sock.getpeercert(binary_form=True)]
    finally:
        client.close()


def rejected_chain(tls_sock, peer, *, implicit: bool, name: str | None, checked: str | None, reason: str,
                   cafile: str | None, local_hostname: str | None, timeout: float) -> tuple[TlsInfo, str] | None:
    """The chain a server sent with a certificate that failed verification, and how it was read.

    ``peer`` is the address of the failed connection (a TCP ``(host, port)``; anything else gets no second look).
    Returns None when the certificates cannot be read; never raises.
    """
    from smtpdbg.core.tls import certificate, would_verify

    try:
        get_chain = getattr(tls_sock, "get_unverified_chain", None)
        ders = [c if isinstance(c, bytes) else c.public_bytes(ssl.Encoding.DER) for c in get_chain()] \
            if get_chain is not None else []
        how = "as the failed handshake received them"
        if not ders and isinstance(peer, tuple):
            ders = [d for d in _second_look(peer, implicit=implicit, name=name, local_hostname=local_hostname,
                                            timeout=timeout) if d]
            how = ("read with a second, non-verifying handshake to the same address, used for nothing else; "
                   "the server's own certificate only")
        if not ders:
            return None
        chain = tuple(certificate(der) for der in ders)
    except Exception:  # noqa: BLE001 - the facts are a help; the failure itself is already reported
        return None
    try:
        verdict = f"verification FAILED: {reason}; {would_verify(ders, checked, cafile)}"
    except Exception:  # noqa: BLE001
        verdict = f"verification FAILED: {reason}"
    info = TlsInfo(version="", cipher="", bits=None, verified=False, server_name=checked, implicit=implicit,
                   chain=chain, verdict=verdict)
    return info, how


def describe_chain(info: TlsInfo, how: str) -> list[str]:
    """Transcript lines: each certificate's subject, issuer, SAN, validity and fingerprint (escaped)."""
    from smtpdbg.core.render import safe_text

    lines = [f"the certificate chain the server sent ({how}); NOT trusted:"]
    for number, cert in enumerate(info.chain, 1):
        lines.append(f"#{number} subject {safe_text(cert.subject) or '(empty)'}; issuer {safe_text(cert.issuer)}; "
                     f"SAN {safe_text(', '.join(cert.san)) or '(none)'}; valid {cert.not_before} to "
                     f"{cert.not_after} ({cert.days_left} days left); SHA-256 {cert.fingerprint_sha256}")
    return lines
