"""The embedded sandbox server: three listeners, one CA, one message log.

:class:`Sandbox` is what ``smtpdbg`` talks to when given no target, and what
the test suite uses. It runs, each on its own thread and event loop:

* **smtp**: plain SMTP on a free loopback port, offering STARTTLS;
* **smtps**: SMTP with implicit TLS (RFC 8314) on another free port;
* **lmtp**: LMTP (RFC 2033) on a unix socket in the sandbox's private directory.

All three share one throw-away CA (:mod:`.tls`), the demo login and token
(:mod:`.auth`, :mod:`.oauth`) and the reply policy (:mod:`.policy`); the server
greets deterministically as ``220 <hostname> <ident>`` and never looks up the
machine's FQDN. Optional protocol features are switched in :class:`SandboxConfig`:
CHUNKING/BDAT (:mod:`.chunking`), XCLIENT/XFORWARD (:mod:`.xclient`), the PROXY
protocol on the TCP listeners (:mod:`.proxy`; SMTPS then starts TLS itself,
after the header) and client certificates (:mod:`.tls`).

Besides the messages (:attr:`Sandbox.messages`), the sandbox logs every client
connection (:attr:`Sandbox.connections`, :mod:`.connections`): peer, PROXY
header, TLS version, SNI, client certificate, greeting, AUTH, XCLIENT, and
what it decided about each recipient (:mod:`.outcomes`; also the ``drop@`` and
``delay@`` recipients whose message gets no reply, or a late one).

aiosmtpd writes to the ``mail.log`` logger (and its PROXY parser to
``mail.debug``) and issues warnings; an embedded server must not scribble over
a terminal UI, so importing this module gives both loggers a ``NullHandler``,
stops them propagating to the root logger, and ignores warnings from aiosmtpd.
Add a handler to ``logging.getLogger("mail.log")`` to see its log anyway.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Callable

from smtpdbg.sandbox.auth import DemoAuthenticator
from smtpdbg.sandbox.connections import ConnectionLog
from smtpdbg.sandbox.controllers import TCPListener, UnixListener, mail_log
from smtpdbg.sandbox.model import Connection, Endpoints, Listener, ReceivedMessage, SandboxConfig
from smtpdbg.sandbox.policy import SandboxHandler
from smtpdbg.sandbox.protocol import SandboxLMTP, SandboxSMTP
from smtpdbg.sandbox.tls import create_tls

for _logger in (mail_log, logging.getLogger("mail.debug")):
    _logger.addHandler(logging.NullHandler())
    _logger.propagate = False
warnings.filterwarnings("ignore", module=r"aiosmtpd(\.|$)")

log = logging.getLogger(__name__)

LMTP_SOCKET_NAME = "lmtp.sock"
"""File name of the LMTP socket inside the sandbox directory."""
_MAX_UNIX_PATH = 100  # sun_path holds 104 (macOS) to 108 (Linux) bytes


class Sandbox:
    """The sandbox SMTP/SMTPS/LMTP server; a context manager.

    Example:
        >>> with Sandbox() as sb:                       # doctest: +SKIP
        ...     host, port = sb.endpoints.smtp
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        on_message: Callable[[ReceivedMessage], None] | None = None,
    ) -> None:
        """
        Args:
            config: Behaviour; defaults to ``SandboxConfig()``.
            on_message: Called with each message as it is accepted, on a server
                thread; exceptions it raises are logged and otherwise ignored.
        """
        self.config = config or SandboxConfig()
        """The configuration this sandbox runs with."""
        self._on_message = on_message
        self._messages: list[ReceivedMessage] = []
        self._connections = ConnectionLog()
        self._arrived = threading.Condition()
        self._listeners: list[TCPListener | UnixListener] = []
        self._helpers: list[Any] = []
        self._directory: Path | None = None
        self._endpoints: Endpoints | None = None
        self._lifecycle = threading.Lock()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> Endpoints:
        """Create the CA and start the listeners.

        Returns:
            The endpoints, also available as :attr:`endpoints`.

        Raises:
            RuntimeError: If the sandbox is already running.
            OSError: If a requested port cannot be bound.
        """
        with self._lifecycle:
            if self._endpoints is not None:
                raise RuntimeError("sandbox already running")
            try:
                self._endpoints = self._start()
            except BaseException:
                self._teardown()
                raise
            return self._endpoints

    def stop(self) -> None:
        """Stop all listeners and delete the CA file, socket and directory. Idempotent."""
        with self._lifecycle:
            self._teardown()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the listeners are up."""
        return self._endpoints is not None

    @property
    def endpoints(self) -> Endpoints:
        """Where the listeners are. Raises ``RuntimeError`` when not running."""
        if self._endpoints is None:
            raise RuntimeError("sandbox is not running")
        return self._endpoints

    def _start(self) -> Endpoints:
        cfg = self.config
        self._directory = _private_directory()
        from smtpdbg.sandbox.dns import sandbox_names

        tls = create_tls(self._directory, cfg.hostname, cfg.host, cfg.client_ca,
                         names=sandbox_names(cfg.host) if cfg.dns else ())
        handler = SandboxHandler(cfg, self._record)
        authenticator = DemoAuthenticator(cfg.user, cfg.password, cfg.oauth_token, cfg.hostname)
        connections = self._connections

        def protocol(
            listener: Listener, *, tls_context: Any = None, implicit_tls: bool = False,
            deferred_tls: Any = None,
        ) -> Callable[..., SandboxSMTP]:
            cls = SandboxLMTP if listener == "lmtp" else SandboxSMTP

            def build(banner_delay: float, probe: bool = False) -> SandboxSMTP:
                return cls(
                    handler,
                    listener=listener,
                    banner_delay=banner_delay,
                    reply_delay=cfg.reply_delay,
                    extra_extensions=cfg.extra_extensions + (("DSN",) if cfg.dsn else ()),
                    bare_lf=cfg.bare_lf,
                    implicit_tls=implicit_tls,
                    chunking=cfg.chunking,
                    oauth=bool(cfg.oauth_token),
                    xclient=cfg.xclient,
                    proxy_protocol=cfg.proxy_protocol and listener != "lmtp",
                    deferred_tls=deferred_tls,
                    tls_observer=tls.observer,
                    connection_log=connections,
                    probe=probe,
                    hostname=cfg.hostname,
                    ident=cfg.ident,
                    data_size_limit=cfg.data_size_limit,
                    enable_SMTPUTF8=True,
                    decode_data=False,
                    tls_context=tls_context,
                    # aio-libs/aiosmtpd#281: with auth_require_tls an implicit-TLS
                    # listener never offers AUTH, since it saw no STARTTLS.
                    auth_require_tls=cfg.auth_require_tls and not implicit_tls,
                    authenticator=authenticator,
                )

            return build

        smtp = TCPListener(
            protocol("smtp", tls_context=tls.server_context),
            host=cfg.host, port=cfg.smtp_port, banner_delay=cfg.banner_delay,
        )
        self._listeners.append(smtp)
        # Behind a PROXY header, TLS must start after the header, not in the listener.
        proxied = cfg.proxy_protocol
        smtps = TCPListener(
            protocol("smtps", implicit_tls=True,
                     deferred_tls=tls.server_context if proxied else None),
            host=cfg.host, port=cfg.smtps_port, banner_delay=cfg.banner_delay,
            ssl_context=None if proxied else tls.server_context,
        )
        self._listeners.append(smtps)
        lmtp_path: str | None = None
        if cfg.lmtp:
            lmtp_path = str(self._directory / LMTP_SOCKET_NAME)
            self._listeners.append(
                UnixListener(protocol("lmtp"), path=lmtp_path, banner_delay=cfg.banner_delay)
            )
        for listener in self._listeners:
            listener.start()
        dns, stripped = self._start_lesson_helpers(smtp.address)
        return Endpoints(
            smtp=smtp.address,
            smtps=smtps.address,
            lmtp=lmtp_path,
            user=cfg.user,
            password=cfg.password,
            ca_path=str(tls.ca_path),
            hostname=cfg.hostname,
            oauth_token=cfg.oauth_token,
            dns=dns,
            stripped=stripped,
        )

    def _start_lesson_helpers(self, smtp: tuple[str, int]) -> tuple[str | None, tuple[str, int] | None]:
        """The DNS server (:mod:`.dns`) and the STARTTLS-stripping middlebox (:mod:`.stripping`), when asked for."""
        from smtpdbg.sandbox.dns import DnsServer, lesson_zone
        from smtpdbg.sandbox.stripping import StrippingProxy

        cfg = self.config
        dns = DnsServer(lesson_zone(cfg.host), host=cfg.host) if cfg.dns else None
        stripping = StrippingProxy(smtp, host=cfg.host) if cfg.strip_starttls else None
        self._helpers += [helper.start() for helper in (dns, stripping) if helper is not None]
        return (dns.address if dns else None), (stripping.address if stripping else None)

    def _teardown(self) -> None:
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.stop()
        helpers, self._helpers = self._helpers, []
        for helper in helpers:
            helper.stop()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        self._endpoints = None

    # -- received messages -------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        """A copy of the messages received so far, in arrival order."""
        with self._arrived:
            return list(self._messages)

    def wait_for_messages(self, n: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least ``n`` messages have arrived in total.

        Returns:
            A copy of all messages received so far.

        Raises:
            TimeoutError: If fewer than ``n`` arrived within ``timeout`` seconds.
        """
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._messages) >= n, timeout):
                raise TimeoutError(
                    f"{len(self._messages)} of {n} messages arrived within {timeout} s"
                )
            return list(self._messages)

    def clear_messages(self) -> None:
        """Forget the messages received so far."""
        with self._arrived:
            self._messages.clear()

    # -- connections -------------------------------------------------------------

    @property
    def connections(self) -> list[Connection]:
        """Snapshots of the client connections so far (open and closed), oldest first.

        Thread-safe. A connection appears as soon as it is accepted, before any
        PROXY header or TLS handshake; take a new snapshot to see later facts.
        """
        return self._connections.snapshot()

    def wait_for_connections(
        self, n: int, timeout: float = 5.0, where: Callable[[Connection], bool] | None = None
    ) -> list[Connection]:
        """Block until at least ``n`` logged connections satisfy ``where`` (default: any).

        Example: ``sb.wait_for_connections(1, where=lambda c: c.closed)``.

        Returns:
            Snapshots of all logged connections.

        Raises:
            TimeoutError: If fewer matched within ``timeout`` seconds.
        """
        return self._connections.wait_for(n, timeout, where)

    def clear_connections(self) -> None:
        """Forget the connections so far."""
        self._connections.clear()

    def _record(self, message: ReceivedMessage) -> None:
        with self._arrived:
            self._messages.append(message)
            self._arrived.notify_all()
        if self._on_message is not None:
            try:
                self._on_message(message)
            except Exception:
                log.exception("on_message callback failed")


def _private_directory() -> Path:
    """A fresh 0700 directory whose socket path fits in ``sun_path``."""
    directory = Path(tempfile.mkdtemp(prefix="smtpdbg-sandbox-"))
    if len(str(directory / LMTP_SOCKET_NAME).encode()) > _MAX_UNIX_PATH:
        shutil.rmtree(directory)
        directory = Path(tempfile.mkdtemp(prefix="smtpdbg-", dir="/tmp"))
    return directory
