"""Intercepting, as mitmproxy does for HTTP: hold a client command or a server reply, then decide.

Rules (typed in line mode or the app): ``intercept rcpt`` holds every RCPT the
clients send (any verb, or ``*``), ``intercept reply 5xx`` every server reply of
that class (or an exact code, or ``*``), ``step`` the next command or reply
whichever comes first, ``intercept off`` clears the rules. A held item waits
for one action: ``forward``, ``edit TEXT`` (send this line instead),
``drop`` (close the connection: the client sees it lost) or ``answer TEXT``
(for a command: smtpdbg replies TEXT itself and the server never sees it; for a
reply: the same as edit).

The relay awaits the decision on its own loop; frontends decide from any thread.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field

COMMAND, REPLY = "command", "reply"
ACTIONS = ("forward", "edit", "drop", "answer")
USAGE = ("intercept VERB | intercept reply 5xx|550|* | intercept off | step | "
         "forward | edit TEXT | drop | answer TEXT")
REPLY_PATTERN = re.compile(r"\*|[2-5](XX|\d\d)")
"""What ``intercept reply`` holds: a reply code (550), a class (5xx) or every reply (*)."""


@dataclass
class Held:
    """A command or reply waiting for a decision."""

    connection: int
    kind: str
    """:data:`COMMAND` or :data:`REPLY`."""
    data: bytes
    """What would be sent (AUTH secrets masked: AUTH lines are never held)."""
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future = field(repr=False)

    def decide(self, action: str, text: str = "") -> None:
        """Resolve from any thread."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: {', '.join(ACTIONS)}")
        line = text.encode("utf-8") + b"\r\n" if text else b""

        def resolve() -> None:
            if not self.future.done():
                self.future.set_result((action, line))

        self.loop.call_soon_threadsafe(resolve)


class Interceptor:
    """The rules and the queue of held items, shared by all connections of a proxy."""

    def __init__(self) -> None:
        self.commands: set[str] = set()
        self.replies: set[str] = set()
        self.step = False
        self.held: list[Held] = []
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)

    def matches(self, kind: str, data: bytes) -> bool:
        with self._lock:
            if self.step:
                self.step = False
                return True
            if kind == COMMAND:
                verb = data.split(None, 1)[0].decode("ascii", "replace").upper() if data.strip() else ""
                return bool(verb) and ("*" in self.commands or verb in self.commands)
            code = data[:3].decode("ascii", "replace")
            return "*" in self.replies or code in self.replies or f"{code[:1]}XX" in self.replies

    def hold(self, connection: int, kind: str, data: bytes) -> Held:
        """Put ``data`` on hold (on the relay's loop); :meth:`decision` waits for what to do with it."""
        loop = asyncio.get_running_loop()
        item = Held(connection, kind, data, loop, loop.create_future())
        with self.changed:
            self.held.append(item)
            self.changed.notify_all()
        return item

    async def decision(self, item: Held) -> tuple[str, bytes]:
        """Wait for the decision on ``item``: ``(action, replacement line)``."""
        try:
            return await item.future
        finally:
            with self.changed:
                if item in self.held:
                    self.held.remove(item)
                self.changed.notify_all()

    def oldest(self) -> Held | None:
        with self._lock:
            return self.held[0] if self.held else None

    def wait_held(self, timeout: float) -> Held | None:
        """The oldest held item, waiting up to ``timeout`` seconds for one (for tests and line mode)."""
        with self.changed:
            self.changed.wait_for(lambda: bool(self.held), timeout)
            return self.held[0] if self.held else None

    def command(self, line: str) -> str:
        """Apply one typed line (see the module docstring); return what it did, in words.

        Raises:
            ValueError: not understood (the message gives the usage).
        """
        words = line.split(None, 1)
        if not words:
            raise ValueError(USAGE)
        verb, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
        if verb == "intercept":
            return self._rule(rest)
        if verb == "step":
            with self._lock:
                self.step = True
            return "holding the next command or reply"
        if verb in ACTIONS:
            item = self.oldest()
            if item is None:
                raise ValueError("nothing is held")
            if verb in ("edit", "answer") and not rest:
                raise ValueError(f"{verb} needs the line to send, e.g. {verb} 250 2.1.5 OK")
            item.decide(verb, rest)
            return f"{verb}: connection {item.connection}"
        raise ValueError(USAGE)

    def _rule(self, rest: str) -> str:
        words = rest.split()
        with self._lock:
            if words == ["off"]:
                self.commands.clear()
                self.replies.clear()
                self.step = False
                return "intercepting nothing"
            if words[:1] == ["reply"] and len(words) == 2:
                pattern = words[1].upper()
                if not REPLY_PATTERN.fullmatch(pattern):
                    raise ValueError(f"intercept reply takes a code (550), a class (5xx) or *, not {words[1]!r}")
                self.replies.add(pattern)
                return f"holding replies {words[1]}"
            if len(words) == 1 and words[0].lower() != "reply":
                self.commands.add(words[0].upper())
                return f"holding {words[0].upper()} commands"
        raise ValueError(USAGE)
