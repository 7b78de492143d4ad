"""The listening server: asyncio on a thread of its own, one :class:`Conversation` per connection.

Listeners: ``smtp`` (TCP, STARTTLS offered when TLS is on), ``smtps`` (TCP,
implicit TLS), ``lmtp`` (a unix socket speaking LMTP) and ``unix`` (a unix
socket speaking SMTP). TLS uses a throw-away trustme CA (:mod:`smtpdbg.sandbox.tls`)
whose certificate is written where clients can load it.

Every answer goes through :meth:`ListenServer.decide`: the rules first, then, when
playing the server, the person at the prompt (the command is held until
:meth:`ListenServer.answer`), else the default.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from smtpdbg.core.events import InfoKind
from smtpdbg.listen.answers import DEFAULT, DEFAULT_KEYWORDS, Answer
from smtpdbg.listen.conversation import Conversation
from smtpdbg.listen.mailbox import Delivered, Mailbox
from smtpdbg.listen.recorder import Connection
from smtpdbg.listen.rules import Context, RuleBook


@dataclass
class ListenConfig:
    host: str = "127.0.0.1"
    port: int = 0
    smtps_port: int | None = None
    """None: no implicit-TLS listener."""
    lmtp: str | None = None
    """Path of a unix socket speaking LMTP."""
    unix: str | None = None
    """Path of a unix socket speaking SMTP."""
    tls: bool = True
    """Offer STARTTLS on ``smtp`` (and allow ``smtps``)."""
    hostname: str = "smtpdbg.listen"
    hold: bool = False
    """Play the server: hold every command until answered."""
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    auth: bool = False
    """Offer AUTH PLAIN and LOGIN and accept any credentials."""


@dataclass(frozen=True)
class Held:
    """A client command waiting for an answer typed by hand."""

    connection: int
    stage: str
    command: str
    """The command line as the client sent it (``<greeting>`` for a new connection)."""
    default: tuple[str, ...]
    """What a normal server would answer."""
    future: asyncio.Future = field(repr=False, compare=False)


class ListenServer:
    """Start with :meth:`start` (returns the endpoints), stop with :meth:`stop`; callbacks run on the server thread."""

    def __init__(self, config: ListenConfig, *, rules: RuleBook | None = None, mailbox: Mailbox | None = None,
                 on_connection: Callable[[Connection], None] | None = None,
                 on_held: Callable[[Held], None] | None = None,
                 on_message: Callable[[Delivered], None] | None = None) -> None:
        self.config = config
        self.hostname = config.hostname
        self.keywords = config.keywords
        self.rules = rules
        self.mailbox = mailbox or Mailbox()
        self.connections: list[Connection] = []
        self.held: dict[int, Held] = {}
        self.tls_context = None
        self._on_connection, self._on_held, self._on_message = on_connection, on_held, on_message
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._tasks: set[asyncio.Task] = set()
        self._directory: str | None = None
        self._messages = 0
        self._lock = threading.Lock()
        self.endpoints: dict[str, str | None] = {}

    # --- the frontends' side ------------------------------------------------------------

    def answer(self, connection: int, answer: Answer) -> bool:
        """Answer connection ``connection``'s held command; False when nothing of it is held."""
        held = self.held.pop(connection, None)
        if held is None or self._loop is None:
            return False
        self._loop.call_soon_threadsafe(lambda: held.future.done() or held.future.set_result(answer))
        return True

    def advertise(self, keywords: tuple[str, ...]) -> None:
        """The EHLO keywords offered from now on (STARTTLS is added where TLS is offered)."""
        self.keywords = tuple(k for k in keywords if k != "STARTTLS")

    # --- the conversations' side ---------------------------------------------------------

    async def decide(self, conn: Connection, ctx: Context, command: str, default: tuple[str, ...]) -> Answer:
        if self.rules is not None:
            hit = self.rules.decide(ctx)
            if hit is not None:
                rule, answer = hit
                conn.info(f"{rule.name}: {answer.describe()}")
                return answer
        if not self.config.hold:
            return DEFAULT
        held = Held(conn.number, ctx.stage, command, default, asyncio.get_running_loop().create_future())
        self.held[conn.number] = held
        if self._on_held is not None:
            self._on_held(held)
        return await held.future

    def next_message(self) -> int:
        with self._lock:
            self._messages += 1
            return self._messages

    def deliver(self, message: Delivered, conn: Connection) -> None:
        failure = self.mailbox.store(message)
        if failure:
            conn.info(failure, InfoKind.WARNING)
        if self._on_message is not None:
            self._on_message(message)

    # --- running -------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> dict[str, str | None]:
        """Bind every listener and serve on a thread; returns the endpoints (``smtp``: ``host:port`` ...).

        Raises:
            OSError: a listener could not bind.
        """
        config = self.config
        if config.tls:
            from smtpdbg.sandbox.tls import create_tls

            self._directory = tempfile.mkdtemp(prefix="smtpdbg-listen-")
            tls = create_tls(Path(self._directory), config.hostname, config.host)
            self.tls_context = tls.server_context
            self.endpoints["ca"] = str(tls.ca_path)
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._bind())
            except BaseException as error:  # noqa: BLE001 - handed to start()
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=serve, name="smtpdbg-listen", daemon=True)
        self._thread.start()
        ready.wait(timeout)
        if failure:
            self._cleanup()
            raise failure[0]
        return dict(self.endpoints)

    async def _bind(self) -> None:
        config = self.config

        def handler(listener: str, lmtp: bool, starttls: bool):
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                peer = writer.get_extra_info("peername")
                text = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "local"
                with self._lock:
                    conn = Connection(len(self.connections) + 1, listener, text, tls=listener == "smtps")
                    self.connections.append(conn)
                if self._on_connection is not None:
                    self._on_connection(conn)
                conn.info(f"connection {conn.number} from {text} on {listener}", InfoKind.CONNECTED)
                task = asyncio.current_task()
                self._tasks.add(task)
                try:
                    await Conversation(self, conn, reader, writer, lmtp=lmtp, starttls=starttls).run()
                except asyncio.CancelledError:  # the server stops: not an error of the connection's
                    conn.close("the server stopped")
                    writer.close()
                finally:
                    self._tasks.discard(task)
                    self.held.pop(conn.number, None)
            return handle

        server = await asyncio.start_server(handler("smtp", False, self.tls_context is not None), config.host,
                                            config.port)
        self._servers.append(server)
        self.endpoints["smtp"] = _address(server)
        if config.smtps_port is not None and self.tls_context is not None:
            server = await asyncio.start_server(handler("smtps", False, False), config.host, config.smtps_port,
                                                ssl=self.tls_context)
            self._servers.append(server)
            self.endpoints["smtps"] = _address(server)
        for name, path, lmtp in (("lmtp", config.lmtp, True), ("unix", config.unix, False)):
            if path:
                server = await asyncio.start_unix_server(handler(name, lmtp, False), path)
                self._servers.append(server)
                self.endpoints[name] = path

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._cleanup()

    def _cleanup(self) -> None:
        for path in (self.config.lmtp, self.config.unix):
            if path:
                Path(path).unlink(missing_ok=True)
        if self._directory:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def __enter__(self) -> "ListenServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _address(server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"{host}:{port}"
