"""Fixtures for the sandbox tests: real servers on loopback, clients that trust their CA."""

from __future__ import annotations

import os
import socket
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 5.0

SANDBOX_CONFIG = SandboxConfig(
    reject=frozenset({"blocked@example.com"}),
    greylist=frozenset({"slow@example.com"}),
    extra_extensions=("DSN", "ENHANCEDSTATUSCODES"),
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox per test module, in the default (teaching) configuration plus extras."""
    with Sandbox(SANDBOX_CONFIG) as sb:
        yield sb


@pytest.fixture
def ep(sandbox: Sandbox) -> Endpoints:
    """The module sandbox's endpoints, with its message and connection logs emptied for this test."""
    sandbox.clear_messages()
    sandbox.clear_connections()
    return sandbox.endpoints


@pytest.fixture
def ca_context(ep: Endpoints) -> ssl.SSLContext:
    """A verifying client context trusting only the sandbox CA."""
    return ssl.create_default_context(cafile=ep.ca_path)


@pytest.fixture
def client(ep: Endpoints) -> Iterator[smtplib.SMTP]:
    """A plain smtplib client on the SMTP listener, EHLO already sent."""
    with smtplib.SMTP(*ep.smtp, local_hostname="client.example", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        yield smtp


@pytest.fixture
def child_env() -> dict[str, str]:
    """Environment for child Pythons (``sys.executable``) that import smtpdbg from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONWARNINGS", None)
    return env


class Wire:
    """A raw SMTP client on a socket: exact bytes out, exact reply lines in.

    smtplib hides too much for BDAT, XCLIENT, PROXY and SASL edge cases (and
    ``docmd('BDAT ...')`` would hang), so these tests speak the protocol by hand.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.file = sock.makefile("rb")

    def send(self, data: bytes) -> None:
        """Send bytes exactly as given."""
        self.sock.sendall(data)

    def lines(self) -> list[str]:
        """One reply, all its lines, without CRLF (raises on EOF)."""
        lines = [self._line()]
        while lines[-1][3:4] == "-":
            lines.append(self._line())
        return lines

    def reply(self) -> str:
        """The last line of one reply, without CRLF."""
        return self.lines()[-1]

    def command(self, line: str | bytes) -> str:
        """Send one command line (CRLF added) and return the last line of its reply."""
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def ehlo(self, name: str = "client.example", verb: str = "EHLO") -> list[str]:
        """The EHLO (or LHLO) keywords after the first line."""
        self.send(f"{verb} {name}\r\n".encode())
        return [line[4:] for line in self.lines()[1:]]

    def starttls(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        """STARTTLS, then carry on over TLS."""
        assert self.command("STARTTLS").startswith("220 ")
        self.wrap(context, server_hostname)

    def wrap(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        """Start TLS on the socket now (after STARTTLS, or after a PROXY header)."""
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        self.file = self.sock.makefile("rb")

    def at_eof(self) -> bool:
        """Whether the server has closed the connection."""
        return self.file.readline() == b""

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def _line(self) -> str:
        raw = self.file.readline()
        if not raw:
            raise ConnectionError("server closed the connection")
        assert raw.endswith(b"\r\n"), raw
        return raw[:-2].decode("utf-8", "surrogateescape")


@pytest.fixture
def wire() -> Iterator:
    """``wire(address, banner=True, tls=None, server_hostname=None)`` opens a :class:`Wire`.

    ``address`` is ``(host, port)`` or a unix socket path; ``tls`` wraps the
    socket at once (SMTPS); the banner is read unless ``banner=False``.
    """
    opened: list[Wire] = []

    def open_wire(address, *, banner: bool = True, tls: ssl.SSLContext | None = None,
                  server_hostname: str | None = None) -> Wire:
        if isinstance(address, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(TIMEOUT)
            sock.connect(address)
        else:
            sock = socket.create_connection(address, timeout=TIMEOUT)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=server_hostname)
        opened.append(Wire(sock))
        if banner:
            assert opened[-1].reply().startswith("220 ")
        return opened[-1]

    yield open_wire
    for each in opened:
        each.close()
