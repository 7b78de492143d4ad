"""The proxy server: listens on loopback, relays each client connection on its own (see :mod:`.relay`).

It runs its asyncio loop on a thread of its own, so a frontend (the line printer,
the app, a test) only calls :meth:`Proxy.start` and :meth:`Proxy.stop` and reads
:attr:`Proxy.connections` or listens to the :class:`~smtpdbg.proxy.relay.LegEvent` stream.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from smtpdbg.proxy.relay import Connection, LegEvent, ProxyConfig


class Proxy:
    """An SMTP proxy between real clients and one upstream server."""

    def __init__(self, config: ProxyConfig, host: str = "127.0.0.1", port: int = 0,
                 listener: Callable[[LegEvent], None] | None = None) -> None:
        self.config = config
        self.host, self.port = host, port
        self.connections: list[Connection] = []
        self._listeners: list[Callable[[LegEvent], None]] = [listener] if listener else []
        self.on_close: list[Callable[[Connection], None]] = []
        """Called (on the proxy's thread) with each connection once it has closed."""
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def subscribe(self, listener: Callable[[LegEvent], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, item: LegEvent) -> None:
        for listener in list(self._listeners):
            listener(item)

    def start(self) -> tuple[str, int]:
        """Listen (the port is bound when this returns) and relay on a background thread."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            try:
                self._server = await asyncio.start_server(
                    self._handle, self.host, self.port,
                    ssl=self.config.server_context if self.config.implicit_tls else None)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller of start()
                failure.append(exc)
            finally:
                ready.set()
            if self._server is not None:
                self.port = self._server.sockets[0].getsockname()[1]

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            if not failure:
                loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="smtpdbg-proxy", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        self.port = self._server.sockets[0].getsockname()[1]
        return self.address

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            connection = Connection(len(self.connections) + 1, self.config, self._emit)
            self.connections.append(connection)
        try:
            await connection.run(reader, writer)
        except asyncio.CancelledError:
            pass  # the proxy is stopping
        finally:
            for callback in list(self.on_close):
                callback(connection)

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        self._thread.join(5)
        self._loop = self._thread = None

    def __enter__(self) -> Proxy:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
