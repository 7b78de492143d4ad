"""A scriptable fake SMTP server for fault tests: real sockets on loopback.

``FakeServer(behaviour)`` accepts connections in a thread and runs
``behaviour(conn)`` for each; :func:`esmtp` builds a behaviour that talks
ordinary ESMTP except where a test overrides a verb's reply (with bytes, or a
function that can stall, drip, close or reset the connection).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Callable


class Conn:
    """One accepted client connection, as the fake server sees it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.received = bytearray()
        self.closed = threading.Event()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def drip(self, data: bytes, delay: float) -> None:
        for i in range(len(data)):
            self.sock.sendall(data[i : i + 1])
            time.sleep(delay)

    def readline(self, timeout: float = 10.0) -> bytes:
        self.sock.settimeout(timeout)
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self.buffer = self.buffer, b""
                return line
            self.received += chunk
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def read_data(self, timeout: float = 10.0) -> bytes:
        """Read a DATA body up to and including the CRLF.CRLF line; return it."""
        lines = []
        while True:
            line = self.readline(timeout)
            if not line or line in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(line)

    def reset(self) -> None:
        """Close with a TCP RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def hang(self, seconds: float = 30.0) -> None:
        """Stay silent (the client must give up on its own)."""
        self.closed.wait(seconds)


Behaviour = Callable[[Conn], None]


class FakeServer:
    """A TCP listener on 127.0.0.1 running ``behaviour`` per connection."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.host, self.port = self.listener.getsockname()
        self.connections: list[Conn] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for conn in self.connections:
            conn.closed.set()
            try:
                conn.close()
            except OSError:
                pass
        self.listener.close()
        self._thread.join(2)

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            conn = Conn(sock)
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Conn) -> None:
        try:
            self.behaviour(conn)
        except OSError:
            pass
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test through .errors
            self.errors.append(exc)


Reply = bytes | Callable[[Conn, bytes], None]

EHLO = b"250-fake.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n"


def esmtp(greeting: Reply = b"220 fake.test ESMTP\r\n", **replies: Reply) -> Behaviour:
    """ESMTP that answers each verb normally unless ``replies`` overrides it.

    Keys are verbs (``EHLO``, ``MAIL``, ``DATA``, ``END`` for the reply after the
    final dot, ``STARTTLS`` ..., ``*`` for any other line); values are the reply bytes or a function
    ``(conn, line)`` that does whatever the fault needs.
    """
    defaults: dict[str, Reply] = {"EHLO": EHLO, "HELO": b"250 fake.test\r\n", "DATA": b"354 go ahead\r\n",
                                  "END": b"250 2.0.0 queued\r\n", "QUIT": b"221 bye\r\n"}
    defaults.update({k.upper(): v for k, v in replies.items()})

    def answer(conn: Conn, reply: Reply, line: bytes) -> None:
        if callable(reply):
            reply(conn, line)
        else:
            conn.send(reply)

    def behaviour(conn: Conn) -> None:
        answer(conn, greeting, b"")
        while True:
            line = conn.readline()
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
            reply = defaults.get(verb, defaults.get("*", b"250 OK\r\n"))
            answer(conn, reply, line)
            if verb == "DATA" and reply == defaults["DATA"] and not callable(reply):
                conn.read_data()
                answer(conn, defaults["END"], b".\r\n")
            if verb == "QUIT":
                conn.close()
                return

    return behaviour
