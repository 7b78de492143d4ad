"""A fast SMTP sink for the throughput benchmarks: accepts everything, keeps nothing.

Why not the sandbox: aiosmtpd parses every command through asyncio and keeps
each message in memory (and caps DATA at 32 MB), so for the throughput and
50 MB figures the server would be a large share of what is measured. This sink
is a plain threaded socket server, one thread per connection, run in its own
process (so it never competes for the client's GIL). It speaks just enough
ESMTP for the benchmarks: EHLO/HELO, STARTTLS (a trustme certificate for
``127.0.0.1`` and ``localhost``), AUTH PLAIN and LOGIN (``alice`` /
``wonderland``), MAIL, RCPT, DATA (scanned for the final dot in large chunks,
never stored), RSET, NOOP, QUIT; PIPELINING is advertised and works.

Run ``python benchmarks/sink.py`` : it prints one JSON line
(``{"host", "port", "ca", "user", "password"}``) on stdout, flushed, then
serves until SIGTERM/SIGINT or until stdin closes (so it never outlives a
parent that died).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import ssl
import sys
import tempfile
import threading

HOSTNAME = "sink.smtpdbg.test"
USER = "alice"
PASSWORD = "wonderland"
SIZE_LIMIT = 200 * 1024 * 1024
RECV = 1 << 18
END_OF_DATA = b"\r\n.\r\n"


class Connection:
    """One client: a line buffer over a (possibly TLS) socket."""

    def __init__(self, sock: socket.socket, tls_context: ssl.SSLContext) -> None:
        self.sock = sock
        self.tls_context = tls_context
        self.buffer = bytearray()
        self.tls = False

    def readline(self) -> bytes:
        buffer = self.buffer
        start = 0
        while True:
            index = buffer.find(b"\n", start)
            if index >= 0:
                line = bytes(buffer[: index + 1])
                del buffer[: index + 1]
                return line
            start = len(buffer)
            chunk = self.sock.recv(RECV)
            if not chunk:
                return b""
            buffer += chunk

    def read_body(self) -> int:
        """Consume a DATA body up to its final dot; returns its size. Nothing is kept."""
        # The body starts on a new line, so a CRLF is implied before the first byte.
        window = b"\r\n" + bytes(self.buffer)
        self.buffer.clear()
        size = 0
        while True:
            index = window.find(END_OF_DATA)
            if index >= 0:
                self.buffer += window[index + len(END_OF_DATA):]
                return size + index
            keep = window[-4:]
            size += len(window) - len(keep)
            chunk = self.sock.recv(RECV)
            if not chunk:
                raise ConnectionError("closed during DATA")
            window = keep + chunk

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode("ascii"))

    def ehlo(self, name: str) -> None:
        lines = [HOSTNAME, "PIPELINING", f"SIZE {SIZE_LIMIT}", "8BITMIME", "ENHANCEDSTATUSCODES"]
        if not self.tls:
            lines.append("STARTTLS")
        lines.append("AUTH PLAIN LOGIN")
        self.send("".join(f"250-{line}\r\n" for line in lines[:-1]) + f"250 {lines[-1]}\r\n")

    def auth(self, args: str) -> None:
        mechanism, _, initial = args.partition(" ")
        mechanism = mechanism.upper()
        if mechanism == "PLAIN":
            if not initial.strip():
                self.send("334 \r\n")
                initial = self.readline().decode("ascii", "replace")
            try:
                _, user, password = base64.b64decode(initial.strip()).split(b"\0")
            except ValueError:
                self.send("501 5.5.2 bad PLAIN response\r\n")
                return
        elif mechanism == "LOGIN":
            if initial.strip():
                user = base64.b64decode(initial.strip())
            else:
                self.send("334 VXNlcm5hbWU6\r\n")
                user = base64.b64decode(self.readline().strip())
            self.send("334 UGFzc3dvcmQ6\r\n")
            password = base64.b64decode(self.readline().strip())
        else:
            self.send("504 5.5.4 mechanism not supported\r\n")
            return
        if user == USER.encode() and password == PASSWORD.encode():
            self.send("235 2.7.0 Authentication successful\r\n")
        else:
            self.send("535 5.7.8 Authentication credentials invalid\r\n")

    def serve(self) -> None:
        self.send(f"220 {HOSTNAME} ESMTP sink\r\n")
        while True:
            line = self.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, args = text.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.ehlo(args)
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.send("250 2.0.0 Ok\r\n")
            elif verb == "DATA":
                self.send("354 End data with <CR><LF>.<CR><LF>\r\n")
                size = self.read_body()
                self.send(f"250 2.0.0 Ok: {size} bytes queued\r\n")
            elif verb == "HELO":
                self.send(f"250 {HOSTNAME}\r\n")
            elif verb == "STARTTLS" and not self.tls:
                self.send("220 2.0.0 Ready to start TLS\r\n")
                self.buffer.clear()
                self.sock = self.tls_context.wrap_socket(self.sock, server_side=True)
                self.tls = True
            elif verb == "AUTH":
                self.auth(args)
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye\r\n")
                return
            elif verb == "VRFY":
                self.send("252 2.0.0 Cannot VRFY\r\n")
            else:
                self.send("500 5.5.2 Command not recognised\r\n")


def _handle(sock: socket.socket, tls_context: ssl.SSLContext) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection = Connection(sock, tls_context)
    try:
        connection.serve()
    except (OSError, ConnectionError, ssl.SSLError):
        pass
    finally:
        try:
            connection.sock.close()
        except OSError:
            pass


def _tls(directory: str) -> tuple[ssl.SSLContext, str]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", HOSTNAME)
    ca_path = os.path.join(directory, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context, ca_path


def main() -> int:
    directory = tempfile.mkdtemp(prefix="smtpdbg-sink-")
    tls_context, ca_path = _tls(directory)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]

    def stop(*_args) -> None:
        try:
            os.unlink(ca_path)
            os.rmdir(directory)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Exit when the parent closes our stdin (or dies), so a crashed benchmark leaves no server behind.
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    info = {"host": "127.0.0.1", "port": port, "ca": ca_path, "user": USER, "password": PASSWORD}
    print(json.dumps(info), flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=_handle, args=(sock, tls_context), daemon=True).start()


if __name__ == "__main__":
    raise SystemExit(main())
