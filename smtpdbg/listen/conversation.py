"""One incoming SMTP/LMTP conversation, line by line, with every answer decided by the server's desk.

Each client command (and the greeting) goes to :meth:`ListenServer.decide`
with the reply a normal server would give; what comes back (rules, the person
playing the server, or the default) is sent and recorded. The protocol state
(greeted, sender, recipients) follows the replies actually sent, so a ``250``
typed by hand to a MAIL out of order opens the transaction as the client
believes it did.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import TYPE_CHECKING

from smtpdbg.core.events import InfoKind
from smtpdbg.listen import auth
from smtpdbg.listen.answers import Answer, ehlo_lines
from smtpdbg.listen.mailbox import Delivered
from smtpdbg.listen.recorder import Connection
from smtpdbg.listen.rules import Context
from smtpdbg.core.secrets import MASK

if TYPE_CHECKING:
    from smtpdbg.listen.server import ListenServer

_PATH = re.compile(r"^(?:FROM|TO):\s*<([^<>]*)>", re.IGNORECASE)
_STAGE = {"EHLO": "helo", "HELO": "helo", "LHLO": "helo", "MAIL": "mail", "RCPT": "rcpt", "DATA": "data",
          "RSET": "rset", "NOOP": "noop", "VRFY": "vrfy", "STARTTLS": "starttls", "QUIT": "quit"}
MAX_MESSAGE = 64 * 1024 * 1024


class Dropped(Exception):
    """The answer was to drop the connection."""


class Conversation:
    def __init__(self, server: "ListenServer", conn: Connection, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, *, lmtp: bool, starttls: bool) -> None:
        self.server, self.conn, self.reader, self.writer = server, conn, reader, writer
        self.lmtp = lmtp
        self.starttls = starttls
        self.greeted = False
        self.sender: str | None = None
        self.recipients: list[str] = []
        self.auth_step = ""
        """Where an AUTH dialogue stands (:mod:`smtpdbg.listen.auth`); empty outside one."""

    @property
    def client(self) -> str:
        return self.conn.peer.rpartition(":")[0] or "local"

    async def run(self) -> None:
        conn = self.conn
        try:
            greeting = f"220 {self.server.hostname} {'LMTP' if self.lmtp else 'ESMTP'} smtpdbg listen"
            await self.respond("connect", "<greeting>", "", (greeting,))
            while True:
                try:
                    line = await self.reader.readline()
                except ValueError:  # longer than the stream's limit
                    await self.respond("other", "", "", ("500 5.5.6 Line too long",), decide=False)
                    conn.close("closed: a line longer than 64 KiB")
                    return
                if not line:
                    conn.close("the client closed the connection")
                    return
                if not await self.command(line):
                    return
        except Dropped:
            return
        except ValueError:  # a message line longer than the stream's limit
            conn.close("closed: a line of the message longer than 64 KiB")
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError) as error:
            conn.close(f"connection lost: {error.__class__.__name__} {error}".strip())
        finally:
            self.writer.close()

    async def respond(self, stage: str, command: str, argument: str, default, *,
                      addresses: tuple[str, ...] = (), decide: bool = True) -> int:
        """Decide, send and record the answer; returns its code.

        ``default`` is the normal reply's lines, or a function that gives them when the answer is sent
        (the EHLO keywords may change while the command is held).

        Raises:
            Dropped: the answer was to drop the connection (it is closed).
        """
        answer = Answer("default")
        if decide:
            shown = f"{command} {argument}".strip() if command != "<greeting>" else "<greeting>"
            normal = default() if callable(default) else default
            verb = command.upper() if command[:1].isalpha() else ""
            answer = await self.server.decide(self.conn, Context(stage, self.client, addresses, verb), shown, normal)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.action == "drop":
            self.writer.close()
            self.conn.close("the server dropped the connection")
            raise Dropped
        if answer.action == "reply":  # the catalog's texts name the server <domain>
            lines = tuple(line.replace("<domain>", self.server.hostname) for line in answer.lines)
        else:
            lines = default() if callable(default) else default
        self.writer.write(self.conn.server_reply(lines, command, argument))
        await self.writer.drain()
        code = int(lines[0][:3])
        if code == 421:  # RFC 5321 §3.8: the server closes the connection after a 421
            self.writer.close()
            self.conn.close("the server closed the connection after its 421 (RFC 5321 §3.8)")
            raise Dropped
        return code

    def _reset(self) -> None:
        self.sender, self.recipients = None, []

    async def command(self, line: bytes) -> bool:
        """Answer one client line; False when the conversation is over."""
        conn = self.conn
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        verb, _, argument = text.partition(" ")
        verb = verb.upper()
        if self.auth_step or verb == "AUTH":
            return await self._auth(verb, argument, text)
        conn.client_line(line)
        stage = _STAGE.get(verb, "other")
        match = _PATH.match(argument)
        address = match.group(1) if match else None
        if stage == "helo":
            return await self._hello(verb, argument)
        if stage == "mail":
            default = ("503 5.5.1 Send EHLO first" if not self.greeted else
                       "503 5.5.1 Nested MAIL command" if self.sender is not None else
                       "501 5.5.4 Syntax: MAIL FROM:<address>" if address is None else "250 2.1.0 OK")
            code = await self.respond(stage, verb, argument, (default,), addresses=(address or "",))
            if code // 100 == 2:
                self.sender, self.recipients = address or "", []
        elif stage == "rcpt":
            default = ("503 5.5.1 Need MAIL before RCPT" if self.sender is None else
                       "501 5.5.4 Syntax: RCPT TO:<address>" if address is None else "250 2.1.5 OK")
            code = await self.respond(stage, verb, argument, (default,), addresses=(address or "",))
            if code // 100 == 2 and address is not None:
                self.recipients.append(address)
        elif stage == "data":
            default = "354 End data with <CR><LF>.<CR><LF>" if self.recipients else "503 5.5.1 Need RCPT before DATA"
            if await self.respond(stage, verb, argument, (default,), addresses=tuple(self.recipients)) == 354:
                await self._message()
        elif stage == "starttls":
            default = ("454 4.7.0 TLS not available" if not self.starttls or conn.tls else
                       "220 2.0.0 Ready to start TLS")
            if await self.respond(stage, verb, argument, (default,)) == 220 and self.starttls and not conn.tls:
                await self.writer.start_tls(self.server.tls_context)
                conn.tls, self.greeted = True, False
                self._reset()
                conn.info("TLS started", InfoKind.TLS)
        elif stage == "quit":
            await self.respond(stage, verb, argument, ("221 2.0.0 Bye",))
            conn.close("closed after QUIT")
            return False
        else:
            default = {"rset": "250 2.0.0 OK", "noop": "250 2.0.0 OK",
                       "vrfy": "252 2.1.5 Cannot VRFY user, but will accept message"}.get(
                stage, "500 5.5.2 Command not recognized")
            if await self.respond(stage, verb, argument, (default,)) // 100 == 2 and stage == "rset":
                self._reset()
        return True

    async def _auth(self, verb: str, argument: str, text: str) -> bool:
        """AUTH and its responses: each line recorded masked, with a note naming the user."""
        if self.auth_step:
            default, following, note = auth.step(self.auth_step, text)
            self.conn.client_line(MASK + b"\r\n", redacted=True, note=note)
            command, argument = "<auth response>", ""
        else:
            mechanism, _, initial = argument.partition(" ")
            default, following, note = auth.start(self.server.config.auth, mechanism, initial or None)
            shown = f"AUTH {mechanism}".encode() + (b" " + MASK if initial else b"") + b"\r\n"
            self.conn.client_line(shown, redacted=bool(initial), note=note)
            command, argument = "AUTH", mechanism
        code = await self.respond("other", command, argument, (default,))
        self.auth_step = following if code == 334 else ""
        return True

    def _hello_reply(self, verb: str, argument: str) -> tuple[str, ...]:
        if (verb == "LHLO") != self.lmtp:
            return (f"500 5.5.1 {verb} is not {'LMTP' if self.lmtp else 'SMTP'}",)
        if verb == "HELO":
            return (f"250 {self.server.hostname}",)
        keywords = self.server.keywords
        if self.server.config.auth and not any(k.split()[0] == "AUTH" for k in keywords if k.strip()):
            keywords = (*keywords, "AUTH PLAIN LOGIN")  # unless the person playing the server chose its own
        if self.starttls and not self.conn.tls:
            keywords = (*keywords, "STARTTLS")
        return ehlo_lines(self.server.hostname, argument.strip(), keywords)

    async def _hello(self, verb: str, argument: str) -> bool:
        default = lambda: self._hello_reply(verb, argument)  # noqa: E731
        if await self.respond("helo", verb, argument, default) // 100 == 2:
            self.greeted = True
            self._reset()
        return True

    async def _message(self) -> None:
        """Read the message up to the final dot, then answer it (LMTP: once per recipient)."""
        lines: list[bytes] = []
        size = stuffed = 0
        while True:
            line = await self.reader.readline()
            if not line:
                raise ConnectionResetError("closed in the middle of the message")
            if line in (b".\r\n", b".\n"):
                break
            size += len(line)
            if size > MAX_MESSAGE:
                raise ConnectionResetError("message longer than 64 MiB")
            if line.startswith(b".."):
                stuffed += 1
            lines.append(line)
        payload = b"".join(lines)
        self.conn.client_body(payload, line, stuffed)
        content = b"".join(l[1:] if l.startswith(b"..") else l for l in lines)
        number = self.server.next_message()
        accepted: list[str] = []
        for group in ([[r] for r in self.recipients] if self.lmtp else [self.recipients]):
            default = f"250 2.0.0 {'<' + group[0] + '> ' if self.lmtp else ''}Ok: queued as {number}"
            code = await self.respond("message", "<end of data>", "", (default,), addresses=tuple(group))
            if code // 100 == 2:
                accepted += group
        if accepted:
            self.conn.messages += 1
            self.server.deliver(Delivered(number=number, connection=self.conn.number, listener=self.conn.listener,
                                          sender=self.sender or "", recipients=tuple(accepted), content=content), self.conn)
        self._reset()
