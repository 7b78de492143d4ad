"""PROXY protocol v1/v2 in front of the sandbox's TCP listeners (``SandboxConfig.proxy_protocol``).

A load balancer (HAProxy, AWS NLB, ...) that speaks the PROXY protocol sends
one header before any SMTP or TLS byte, naming the real client::

    PROXY TCP4 192.0.2.1 127.0.0.1 4242 2525\\r\\n            (v1, text)
    \\r\\n\\r\\n\\x00\\r\\nQUIT\\n + version/command, family, length, addresses  (v2, binary)

With ``proxy_protocol`` on, the smtp and smtps listeners wait (up to
:data:`PROXY_TIMEOUT` seconds) for that header before the banner; the LMTP
socket never expects one. The header is recorded in the form
``"v1 TCP4 192.0.2.1:4242 -> 127.0.0.1:2525"`` (IPv6 addresses in brackets;
``"v1 UNKNOWN"``, ``"v2 LOCAL"``, ``"v2 UNSPEC"``, ``"v2 UDP4 ..."``,
``"v2 UNIX src -> dst"`` for the other kinds) on the connection record and on
every message. A connection whose first bytes are not a valid header gets
``421 4.7.0 <hostname> Bad PROXY protocol header: <reason>`` and is closed; one
that sends nothing is closed when the timeout runs out.

On SMTPS the header comes *before* the TLS handshake, in clear, as load
balancers send it. aiosmtpd 1.4.6's own PROXY support (``proxy_protocol_timeout``)
cannot do that: with TLS in the listener, the handshake would come first. So
the smtps listener then accepts plain TCP and :meth:`ProxyMixin._start_deferred_tls`
starts TLS after the header, the way aiosmtpd's STARTTLS does, handing the
ClientHello bytes that already arrived with the header to the TLS layer.
The parsing itself is aiosmtpd's (:func:`aiosmtpd.proxy_protocol.get_proxy`).
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from ipaddress import IPv6Address
from typing import Any

from aiosmtpd.proxy_protocol import AF, PROTO, V2_CMD, ProxyData, get_proxy

PROXY_TIMEOUT = 10.0
"""Seconds a connection may take to send its PROXY header."""


def describe_proxy(data: ProxyData) -> str:
    """The one-line form of a valid PROXY header (see the module docstring)."""
    version = f"v{data.version}"
    if data.version == 2 and data.command == V2_CMD.LOCAL:
        return f"{version} LOCAL"
    if data.family == AF.UNSPEC:
        return f"{version} {'UNKNOWN' if data.version == 1 else 'UNSPEC'}"
    if data.family == AF.UNIX:
        kind = "UNIX" if data.protocol == PROTO.STREAM else "UNIX-DGRAM"
        return f"{version} {kind} {_unix_path(data.src_addr)} -> {_unix_path(data.dst_addr)}"
    kind = ("TCP" if data.protocol == PROTO.STREAM else "UDP") + (
        "4" if data.family == AF.INET else "6"
    )
    source = _host_port(data.src_addr, data.src_port)
    return f"{version} {kind} {source} -> {_host_port(data.dst_addr, data.dst_port)}"


def _host_port(address: Any, port: int | None) -> str:
    host = f"[{address}]" if isinstance(address, IPv6Address) else str(address)
    return f"{host}:{port}"


def _unix_path(address: Any) -> str:
    if isinstance(address, (bytes, bytearray)):
        return bytes(address).rstrip(b"\x00").decode("utf-8", "replace")
    return str(address)


def _feed(protocol: asyncio.BufferedProtocol, data: bytes) -> None:
    """Deliver bytes that were already read to a buffered protocol (the TLS layer)."""
    view = memoryview(data)
    while view:
        buffer = protocol.get_buffer(len(view))
        count = min(len(buffer), len(view))
        buffer[:count] = view[:count]
        protocol.buffer_updated(count)
        view = view[count:]


class ProxyMixin:
    """Reads the PROXY header, and starts deferred TLS, for the sandbox's ``SMTP`` subclass.

    The class using it sets ``proxy_protocol`` and ``deferred_tls`` (the server
    context when TLS must follow the header, else None) and implements
    :meth:`note_proxy` and :meth:`note_tls_failed`.
    """

    proxy_protocol: bool = False
    deferred_tls: ssl.SSLContext | None = None
    # Provided by aiosmtpd's SMTP:
    hostname: str
    loop: Any
    transport: Any
    session: Any
    _reader: Any
    _original_transport: Any
    _tls_protocol: Any

    @property
    def transports(self) -> tuple:
        """The connection's transports to abort: the TLS layer after STARTTLS and the socket under it."""
        return tuple(t for t in (self.transport, getattr(self, "_original_transport", None)) if t is not None)

    def note_proxy(self, description: str) -> None:
        """Record what the header said."""
        raise NotImplementedError

    def note_tls_failed(self) -> None:
        """Record that the connection ended in a failed handshake."""
        raise NotImplementedError

    async def _accept_proxy_header(self) -> bool:
        """Read and record the header; on a bad one reply 421 and close. Returns whether it was good."""
        self._reset_timeout(PROXY_TIMEOUT)  # type: ignore[attr-defined]
        try:
            data = await get_proxy(self._reader)
        except asyncio.IncompleteReadError:  # fewer than 5 bytes, then EOF
            data = ProxyData(version=None)
        if not data.valid:
            reason = data.error or "incomplete header"
            try:
                await self.push(  # type: ignore[attr-defined]
                    f"421 4.7.0 {self.hostname} Bad PROXY protocol header: {reason}"
                )
            except ConnectionError:
                pass
            if self.transport is not None:
                self.transport.close()
            return False
        self.session.proxy_data = data
        self.note_proxy(describe_proxy(data))
        self._reset_timeout()  # type: ignore[attr-defined]
        return True

    async def _start_deferred_tls(self) -> bool:
        """Start server-side TLS on the connection now; returns whether the handshake worked.

        The same wiring as aiosmtpd's ``smtp_STARTTLS`` (so its ``connection_made``
        treats the result like a STARTTLS upgrade), plus the bytes the stream
        reader already holds: the client sends its ClientHello right behind the
        PROXY header, and it may have arrived in the same read.
        """
        assert self.deferred_tls is not None
        early = bytes(self._reader._buffer)  # private, as aiosmtpd's own STARTTLS uses it
        self._reader._buffer.clear()
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(
            self.loop, self, self.deferred_tls, waiter, server_side=True
        )
        self._original_transport = self.transport
        self._original_transport.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(self._original_transport)
        if early:
            _feed(self._tls_protocol, early)
        try:
            await waiter
        except asyncio.CancelledError:
            raise
        except Exception:
            # The TLS layer never made the app connection, so connection_lost()
            # will not run for us: clean up here.
            self._timeout_handle.cancel()  # type: ignore[attr-defined]
            self._original_transport.abort()
            self.note_tls_failed()
            return False
        return True
