"""A STARTTLS-stripping middlebox in front of the sandbox's plain listener, for the TLS lesson.

With ``SandboxConfig(strip_starttls=True)`` the sandbox listens on one more
loopback port (``Endpoints.stripped``) and relays each connection to its plain
listener, line by line, the way "ESMTP inspection" in some firewalls does (and
an attacker on the path can): the server's ``250-STARTTLS`` line reaches the
client as ``250-XXXXXXXA``, and a client's ``STARTTLS`` reaches the server as
``XXXXXXXX`` (answered 500). A client doing opportunistic TLS sees no
STARTTLS and goes on in plaintext (RFC 3207 §6); smtpdbg warns about the masked
keyword. Nothing else is changed. Lessons reach it as port 25.
"""

from __future__ import annotations

import re
import socket
import threading

from smtpdbg.sandbox.service import ThreadService

SERVER_KEYWORD = re.compile(rb"^(250[- ])STARTTLS(\r?\n)$", re.IGNORECASE)
CLIENT_COMMAND = re.compile(rb"^STARTTLS(\r?\n)$", re.IGNORECASE)


def masked_reply_line(line: bytes) -> bytes:
    """A line from the server as the middlebox passes it on."""
    return SERVER_KEYWORD.sub(rb"\1XXXXXXXA\2", line)


def masked_command_line(line: bytes) -> bytes:
    """A line from the client as the middlebox passes it on."""
    return CLIENT_COMMAND.sub(rb"XXXXXXXX\1", line)


class StrippingProxy(ThreadService):
    """Accepts on ``host`` (a free port) and relays to ``upstream``, masking STARTTLS both ways."""

    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.1)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        super().__init__(self._accept, "sandbox-stripping")

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)
            self._sockets.clear()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            for source, sink, mask in ((server, client, masked_reply_line), (client, server, masked_command_line)):
                threading.Thread(target=self._pipe, args=(source, sink, mask), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, mask) -> None:
        """Pass ``source``'s lines to ``sink`` until either side closes; then close both (the other pipe too)."""
        try:
            with source.makefile("rb") as lines:
                for line in lines:
                    sink.sendall(mask(line))
        except OSError:
            pass
        finally:
            with self._lock:
                for sock in (source, sink):
                    _close(sock)
                    if sock in self._sockets:
                        self._sockets.remove(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a pipe thread blocked reading it
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
