"""The proxy's relay: one client connection, its two legs, recorded as core events.

Every line that crosses a leg becomes a :class:`~smtpdbg.core.events.Wire` event
on that leg (``client``: client → smtpdbg, ``server``: smtpdbg → server), in the
direction the line travelled from the client's point of view (``SEND`` toward the
server, ``RECV`` toward the client), with the leg's TLS state. AUTH secrets are
masked with the core's :class:`~smtpdbg.core.secrets.AuthMasker` before any line
is recorded; the bytes relayed are the real ones.

STARTTLS, by mode:

* ``pass``: the client's STARTTLS goes to the server; on its 220 the server leg
  upgrades (verified as configured), then the 220 goes to the client and the
  client leg upgrades with smtpdbg's certificate.
* ``terminate``: smtpdbg answers the client's STARTTLS itself (and advertises it
  when the server does not); the server leg stays as configured.
* ``strip``: STARTTLS is removed from the server's EHLO reply, so the client sees
  a server without it (a downgrade, for showing one in class).
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smtpdbg.core.events import Direction, Event, Info, InfoKind, Wire
from smtpdbg.core.render import safe_text
from smtpdbg.core.secrets import AuthMasker
from smtpdbg.proxy.intercept import COMMAND, REPLY, Interceptor
from smtpdbg.proxy.judge import leg_judges
from smtpdbg.proxy.lines import describe_tls, is_final, keywords, reply_code, without_starttls

MODES = ("pass", "terminate", "strip")
CLIENT, SERVER = "client", "server"
LEG_LABELS = {CLIENT: "client→smtpdbg", SERVER: "smtpdbg→server"}
MAX_LINE = 1 << 20


@dataclass(frozen=True, slots=True)
class LegEvent:
    """A core event on one leg of one proxied connection."""

    connection: int
    leg: str
    """:data:`CLIENT` or :data:`SERVER`."""
    event: Event


Listener = Callable[[LegEvent], None]


@dataclass
class Exchange:
    """One client command as relayed (AUTH secrets masked), the message it carried and the code it got."""

    verb: bytes
    line: bytes
    code: int | None = None
    body: list[bytes] = field(default_factory=list)
    """For DATA: the message lines as relayed (dot-stuffed, with the final dot)."""
    auth: tuple[str, str | None] | None = None
    """For AUTH: the mechanism and the user name, once the exchange is over."""


@dataclass
class Upstream:
    """Where and how the server leg connects."""

    host: str
    port: int
    implicit_tls: bool = False
    context: ssl.SSLContext | None = None
    """Client context for the server leg's TLS (verifying unless the user said otherwise)."""
    server_name: str | None = None
    timeout: float = 30.0


@dataclass
class ProxyConfig:
    upstream: Upstream
    server_context: ssl.SSLContext | None = None
    """smtpdbg's certificate for the client leg (STARTTLS and implicit TLS)."""
    implicit_tls: bool = False
    """The client leg starts with TLS (``--listen smtps://...``)."""
    mode: str = "pass"
    interceptor: Interceptor | None = None


@dataclass
class Connection:
    """One client connection being relayed."""

    number: int
    config: ProxyConfig
    emit: Listener
    events: list[LegEvent] = field(default_factory=list)
    tls: dict[str, bool] = field(default_factory=lambda: {CLIENT: False, SERVER: False})
    peer: str = ""
    closed: bool = False
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.masker = AuthMasker()
        self.judges = leg_judges(self.record, (CLIENT, SERVER), self.masker)
        """The core's tracker on each leg: every reply judged (:mod:`smtpdbg.proxy.judge`)."""
        self.exchanges: list[Exchange] = [Exchange(b"<greeting>", b"")]
        self.pending: list[Exchange] = list(self.exchanges)
        """The commands whose final reply has not come yet, oldest first."""
        self.waiting: dict[bytes, asyncio.Future] = {}
        self.capabilities: dict[str, list[str]] = {CLIENT: [], SERVER: []}
        """EHLO keywords each leg saw: the server's as it sent them, the client's after any rewriting."""
        self.tls_text: dict[str, str] = {CLIENT: "", SERVER: ""}
        """The TLS version and cipher of each leg, once it is up."""

    # -- recording -------------------------------------------------------------------------------------------
    def record(self, leg: str, event_type, **fields) -> Event:
        event = event_type(seq=next(self._seq), mono=time.monotonic(), wall=time.time(), **fields)
        item = LegEvent(self.number, leg, event)
        self.events.append(item)
        self.emit(item)
        self.judges[leg].observe(event)
        return event

    def wire(self, leg: str, direction: Direction, data: bytes, *, redacted: bool = False, note: str = "") -> None:
        self.record(leg, Wire, direction=direction, data=data, tls=self.tls[leg], redacted=redacted, note=note)

    def info(self, leg: str, text: str, kind: InfoKind = InfoKind.INFO, **fields) -> None:
        self.record(leg, Info, kind=kind, text=text, **fields)

    # -- running ---------------------------------------------------------------------------------------------
    async def run(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        peer = c_writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.tls[CLIENT] = self.config.implicit_tls
        self.info(CLIENT, f"client {self.peer} connected" + (" (implicit TLS)" if self.config.implicit_tls else ""),
                  InfoKind.CONNECTED, peer=self.peer)
        up = self.config.upstream
        self.info(SERVER, f"connecting to {up.host}:{up.port}" + (" (implicit TLS)" if up.implicit_tls else ""),
                  InfoKind.CONNECTING)
        try:
            s_reader, s_writer = await asyncio.wait_for(asyncio.open_connection(
                up.host, up.port, ssl=up.context if up.implicit_tls else None,
                server_hostname=(up.server_name or up.host) if up.implicit_tls else None), up.timeout)
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
            self.info(SERVER, f"cannot reach the server: {exc or type(exc).__name__}", InfoKind.WARNING)
            answer = b"421 4.4.1 smtpdbg proxy: the server cannot be reached\r\n"
            self.wire(CLIENT, Direction.RECV, answer, note="answered by smtpdbg")
            c_writer.write(answer)
            await self._close(c_writer)
            self.closed = True
            return self.info(CLIENT, "connection closed", InfoKind.CLOSED)
        self.tls[SERVER] = up.implicit_tls
        for leg, writer in ((CLIENT, c_writer), (SERVER, s_writer)):
            if self.tls[leg]:
                self.tls_text[leg] = describe_tls(writer)
        self.info(SERVER, f"connected to {up.host}:{up.port}", InfoKind.CONNECTED)
        self.streams = {CLIENT: (c_reader, c_writer), SERVER: (s_reader, s_writer)}
        pumps = [asyncio.ensure_future(self._client_pump()), asyncio.ensure_future(self._server_pump())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            await self._close(s_writer)
            await self._close(c_writer)
            self.closed = True
            self.judges[SERVER].close()
            self.info(CLIENT, "connection closed", InfoKind.CLOSED)

    @staticmethod
    async def _close(writer: asyncio.StreamWriter) -> None:
        try:
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 2)
        except (OSError, asyncio.TimeoutError, ssl.SSLError, asyncio.CancelledError):
            pass

    async def _readline(self, leg: str) -> bytes:
        reader = self.streams[leg][0]
        try:
            return await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError:
            return await reader.read(MAX_LINE)
        except (OSError, ssl.SSLError):
            return b""

    async def _send(self, leg: str, data: bytes) -> None:
        writer = self.streams[leg][1]
        writer.write(data)
        await writer.drain()

    # -- client → server -------------------------------------------------------------------------------------
    async def _client_pump(self) -> None:
        while True:
            line = await self._readline(CLIENT)
            if not line:
                return
            shown, redacted, note = self.masker.on_send(line)
            continuation = self.masker.active and not line[:5].upper().startswith(b"AUTH ")
            self.wire(CLIENT, Direction.SEND, shown, redacted=redacted, note=note)
            verb = line.split(None, 1)[0].upper() if line.strip() else b""
            if verb != b"AUTH" and not continuation and self._holding(COMMAND, line):
                decided = await self._decide(COMMAND, line)
                if decided is None:
                    continue
                line = shown = decided
                verb = line.split(None, 1)[0].upper() if line.strip() else b""
            if verb == b"STARTTLS" and self.config.mode == "terminate" and not self.tls[CLIENT]:
                await self._answer_starttls()
                continue
            if verb == b"AUTH" and not self.tls[SERVER]:
                self.info(SERVER, "AUTH goes on to the server without TLS: the credentials cross the "
                          "smtpdbg→server leg in cleartext" + (" (the client's leg is encrypted)" if self.tls[CLIENT]
                                                               else ""), InfoKind.WARNING)
            self.wire(SERVER, Direction.SEND, shown, redacted=redacted, note=note)
            if not continuation:
                self.exchanges.append(Exchange(verb, shown))
                self.pending.append(self.exchanges[-1])
            if verb in (b"DATA", b"STARTTLS"):
                future = self.waiting[verb] = asyncio.get_running_loop().create_future()
                await self._send(SERVER, line)
                code = await future
                if verb == b"DATA" and code == 354:
                    self.pending.append(self.exchanges[-1])  # the reply after the final dot decides it
                    await self._relay_body()
                continue
            if verb == b"BDAT":
                await self._send(SERVER, line)
                await self._relay_chunk(line)
                continue
            await self._send(SERVER, line)

    async def _relay_body(self) -> None:
        while True:
            line = await self._readline(CLIENT)
            if not line:
                return
            self.wire(CLIENT, Direction.SEND, line)
            self.wire(SERVER, Direction.SEND, line)
            self.exchanges[-1].body.append(line)
            await self._send(SERVER, line)
            if line == b".\r\n":
                return

    async def _relay_chunk(self, line: bytes) -> None:
        words = line.split()
        size = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
        if size:
            try:
                chunk = await self.streams[CLIENT][0].readexactly(size)
            except asyncio.IncompleteReadError as exc:
                chunk = exc.partial
            for leg in (CLIENT, SERVER):
                self.info(leg, f"BDAT chunk of {len(chunk)} bytes")
            await self._send(SERVER, chunk)

    async def _answer_starttls(self) -> None:
        reply = b"220 2.0.0 Ready to start TLS (smtpdbg)\r\n"
        self.wire(CLIENT, Direction.RECV, reply)
        await self._send(CLIENT, reply)
        await self._upgrade(CLIENT)

    # -- server → client -------------------------------------------------------------------------------------
    async def _read_reply(self) -> list[bytes]:
        lines: list[bytes] = []
        while True:
            line = await self._readline(SERVER)
            if not line:
                return lines
            lines.append(line)
            if is_final(line) or reply_code(line) < 0:
                return lines

    async def _server_pump(self) -> None:
        while True:
            lines = await self._read_reply()
            if not lines:
                return
            code = reply_code(lines[-1])
            exchange = self.pending[0] if self.pending else Exchange(b"", b"")
            verb = exchange.verb
            if code != 334 and self.pending:
                self.pending.pop(0).code = code
            authenticating = self.masker.active
            shown = []
            for line in lines:
                note = self.masker.on_reply(code, line[4:].rstrip(b"\r\n")) if line is lines[-1] else ""
                shown.append((self.masker.scrub_reply(line), note))
            if authenticating and not self.masker.active:
                exchange.auth = (self.masker.mechanism, self.masker.user)
            for data, note in shown:
                self.wire(SERVER, Direction.RECV, data, note=note)
            if self._holding(REPLY, lines[0]):
                decided = await self._decide(REPLY, b"".join(lines), b"".join(data for data, _ in shown))
                if decided is not None:
                    lines = [decided]
                    shown = [(decided, "")]
            if verb == b"EHLO":
                server_lines, lines = lines, self._rewrite_ehlo(lines)
                if code == 250:
                    self.capabilities = {SERVER: keywords(server_lines), CLIENT: keywords(lines)}
                shown = [(self.masker.scrub_reply(line), "") for line in lines]
            future = self.waiting.pop(verb, None)
            if verb == b"STARTTLS" and code == 220:
                try:
                    await self._upgrade(SERVER)
                except ConnectionError:
                    refusal = b"454 4.7.0 TLS not available: smtpdbg's TLS with the server failed\r\n"
                    self.wire(CLIENT, Direction.RECV, refusal, note="answered by smtpdbg")
                    await self._send(CLIENT, refusal)
                    raise
            for data, note in shown:
                self.wire(CLIENT, Direction.RECV, data, note=note)
            await self._send(CLIENT, b"".join(lines))
            if verb == b"STARTTLS" and code == 220:
                await self._upgrade(CLIENT)
            if future is not None and not future.done():
                future.set_result(code)

    def _holding(self, kind: str, data: bytes) -> bool:
        interceptor = self.config.interceptor
        return interceptor is not None and interceptor.matches(kind, data)

    async def _decide(self, kind: str, data: bytes, shown: bytes | None = None) -> bytes | None:
        """Hold ``data`` (``shown``: as it may be shown, secrets masked) for a decision: what to send instead
        (``None``: answered by smtpdbg). Drop raises."""
        leg = CLIENT if kind == COMMAND else SERVER
        shown = data if shown is None else shown
        interceptor = self.config.interceptor
        item = interceptor.hold(self.number, kind, shown)
        self.info(leg, f"held {kind}: {safe_text(shown)} (forward, edit TEXT, drop, answer TEXT)")
        action, line = await interceptor.decision(item)
        self.info(leg, f"{action}" + (f": {safe_text(line)}" if line else ""))
        if action == "drop":
            raise ConnectionAbortedError(f"{kind} dropped")
        if action == "answer" and kind == COMMAND:
            self.wire(CLIENT, Direction.RECV, line, note="answered by smtpdbg")
            await self._send(CLIENT, line)
            return None
        return line or data

    def _rewrite_ehlo(self, lines: list[bytes]) -> list[bytes]:
        mode = self.config.mode
        offers = any(line[4:].strip().upper() == b"STARTTLS" for line in lines)
        if mode == "strip" and offers:
            for leg in (CLIENT, SERVER):
                self.info(leg, "strip mode: STARTTLS removed from the EHLO reply to the client", InfoKind.WARNING)
            return without_starttls(lines)
        if mode == "terminate" and offers and self.tls[CLIENT]:
            # The client's leg is inside TLS already: RFC 3207 §4.2, no STARTTLS offered there (the server's
            # offer is for its own, plaintext leg).
            return without_starttls(lines)
        if mode == "terminate" and not offers and not self.tls[CLIENT] and self.config.server_context is not None \
                and reply_code(lines[-1]) == 250:
            return [line[:3] + b"-" + line[4:] for line in lines] + [b"250 STARTTLS\r\n"]
        return lines

    async def _upgrade(self, leg: str) -> None:
        writer = self.streams[leg][1]
        if leg == CLIENT:
            context, name = self.config.server_context, None
        else:
            up = self.config.upstream
            context, name = up.context, up.server_name or up.host
        if context is None:
            raise ConnectionError("no TLS context for the client leg")
        try:
            await writer.start_tls(context, server_hostname=name)
        except (OSError, ssl.SSLError) as exc:
            self.info(leg, f"TLS handshake failed: {exc}", InfoKind.WARNING)
            raise ConnectionError(str(exc)) from None
        self.tls[leg] = True
        self.tls_text[leg] = describe_tls(writer)
        self.info(leg, f"TLS started ({self.tls_text[leg]})", InfoKind.TLS)

