"""Threaded aiosmtpd controllers for the sandbox's listeners.

Each listener is an aiosmtpd controller: a thread running its own event loop.
These subclasses fix what the stock ones get wrong for an embedded server:

* ``Controller(port=0)`` is broken in aiosmtpd 1.4.6 (aio-libs/aiosmtpd#388):
  the readiness self-connect uses the configured port 0. :class:`TCPListener`
  binds its socket itself, in the caller's thread, and takes the real port from
  it before the loop starts; a busy port then fails at once with ``OSError``
  instead of after the controller's 5 s ready timeout. The socket is made so
  that asyncio turns on TCP_NODELAY for accepted connections (see
  :func:`listening_socket`).
* The stock readiness self-connect builds a client TLS context (loading the
  system's CA store) and waits for the banner through a TLS handshake: tens of
  milliseconds, and with a banner tarpit up to a second. Ours only waits until
  the listener has built its protocol object, then half-closes; connections
  made before :meth:`start` returns get no tarpit either, and are built as
  probes (not logged as client connections).
* Loop-level errors ("Task exception was never retrieved" and the like) go to
  the ``mail.log`` logger instead of asyncio's, which prints to stderr.
* :meth:`stop` is idempotent and drops open connections first, so that no
  socket outlives the sandbox.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import weakref
from typing import Any, Callable

from aiosmtpd.controller import Controller, UnixSocketController
from aiosmtpd.smtp import SMTP

ProtocolFactory = Callable[..., SMTP]
"""Builds the protocol object for one connection: ``factory(banner_delay, probe=...)``,
where ``probe`` is true for the listener's own readiness check."""

READY_TIMEOUT = 5.0
"""Seconds a listener may take to come up before start() gives up."""

mail_log = logging.getLogger("mail.log")


def _route_loop_errors(loop: Any, context: dict[str, Any]) -> None:
    mail_log.debug(
        "event loop: %s", context.get("message", "error"), exc_info=context.get("exception")
    )


class _SandboxListener:
    """Behaviour shared by the TCP and unix-socket listeners (a mixin)."""

    loop: Any
    _thread: Any

    def _setup(self, protocol_factory: ProtocolFactory, banner_delay: float) -> None:
        self._protocol_factory = protocol_factory
        self._banner_delay = banner_delay
        self._serving = False
        self._connections: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self.loop.set_exception_handler(_route_loop_errors)

    def factory(self) -> SMTP:
        # The first connection is start()'s own readiness check: no tarpit for it,
        # and the sandbox does not log it as a client connection.
        probe = not self._serving
        protocol = self._protocol_factory(0.0 if probe else self._banner_delay, probe=probe)
        self._connections.add(protocol)
        return protocol

    async def _drop_connections(self) -> None:
        """Stop accepting and abort every open connection (runs on the loop)."""
        if self.server is not None:  # type: ignore[attr-defined]
            self.server.close()  # type: ignore[attr-defined]
        for protocol in list(self._connections):
            for transport in protocol.transports:  # after STARTTLS: the TLS layer and the socket under it
                transport.abort()
        for _ in range(3):  # let connection_lost() callbacks run
            await asyncio.sleep(0)

    def start(self) -> None:
        super().start()  # type: ignore[misc]
        self._serving = True

    def _connect(self) -> socket.socket:
        raise NotImplementedError

    def _trigger_server(self) -> None:
        # Accepting the connection is what makes the server call factory(); no
        # need to wait for a banner (or, on SMTPS, a TLS handshake). Half-close
        # and read to EOF so that the server sees an orderly goodbye.
        with self._connect() as probe:
            probe.settimeout(1.0)
            self._factory_invoked.wait(self.ready_timeout)  # type: ignore[attr-defined]
            probe.shutdown(socket.SHUT_WR)
            while probe.recv(4096):
                pass

    def stop(self, no_assert: bool = True) -> None:
        self._serving = False
        if self._thread is not None and self.loop.is_running():
            drop = asyncio.run_coroutine_threadsafe(self._drop_connections(), self.loop)
            try:
                drop.result(timeout=READY_TIMEOUT)
            except Exception:
                mail_log.debug("dropping connections failed", exc_info=True)
        if self._thread is not None:
            super().stop(no_assert=no_assert)  # type: ignore[misc]
        # A loop that never ran (or whose start failed) is still open.
        if not self.loop.is_closed() and not self.loop.is_running():
            self.loop.close()

    @property
    def running(self) -> bool:
        """Whether the listener's thread is up."""
        return self._thread is not None


class TCPListener(_SandboxListener, Controller):
    """A TCP listener on ``host:port``; port 0 picks a free port."""

    def __init__(
        self,
        protocol_factory: ProtocolFactory,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        banner_delay: float = 0.0,
    ) -> None:
        self._socket: socket.socket | None = listening_socket(host, port)
        # aio-libs/aiosmtpd#388: the readiness self-connect uses self.port, so it
        # must hold the port actually bound, not the 0 we asked for.
        port = self._socket.getsockname()[1]
        super().__init__(
            None, hostname=host, port=port, ssl_context=ssl_context, ready_timeout=READY_TIMEOUT
        )
        self._setup(protocol_factory, banner_delay)

    def _connect(self) -> socket.socket:
        return socket.create_connection((self.hostname, self.port), timeout=1.0)

    def _create_server(self) -> Any:
        # The asyncio server takes ownership of the socket and closes it on close().
        sock, self._socket = self._socket, None
        return self.loop.create_server(self._factory_invoker, sock=sock, ssl=self.ssl_context)

    def stop(self, no_assert: bool = True) -> None:
        super().stop(no_assert)
        if self._socket is not None:  # never started
            self._socket.close()
            self._socket = None

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` actually bound."""
        return (self.hostname, self.port)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket.

    The protocol number must be explicit: asyncio sets TCP_NODELAY only on
    accepted sockets whose ``proto`` is IPPROTO_TCP, and sockets accepted from a
    ``socket.create_server()`` socket have proto 0. Without TCP_NODELAY every
    multi-line reply meets Nagle plus delayed ACK: ~40 ms per round trip.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name == "posix":  # as asyncio does; on Windows it would allow port theft
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(100)
    except BaseException:
        sock.close()
        raise
    return sock


class UnixListener(_SandboxListener, UnixSocketController):
    """A listener on a unix socket file (used for LMTP)."""

    def __init__(
        self, protocol_factory: ProtocolFactory, *, path: str, banner_delay: float = 0.0
    ) -> None:
        super().__init__(None, unix_socket=path, ready_timeout=READY_TIMEOUT)
        self._setup(protocol_factory, banner_delay)

    def _connect(self) -> socket.socket:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(1.0)
        probe.connect(self.unix_socket)
        return probe
