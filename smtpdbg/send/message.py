"""The message ``smtpdbg send`` sends: built with Python's ``email`` package, or given whole.

A built message has Date, Message-ID, From, To and Subject (``--header``
replaces one of the same name, ``--add-header`` adds), the ``--body`` and
each ``--attach`` as a MIME part (base64, type guessed from the file name
unless ``--attach-type`` says). Tokens as swaks has them: ``%DATE%``,
``%MESSAGEID%``, ``%FROM_ADDRESS%``, ``%TO_ADDRESS%``.

A built message is made in memory (about six times the size of its parts), so
what it takes from files and standard input is bounded (:class:`Budget`,
``--max-body``): a regular file's size is checked before it is read, a pipe or
a device is read no further than the bound. ``--data @FILE`` is not built: it
is streamed from disk by the ``data`` command.
"""

from __future__ import annotations

import os
import stat
import sys

BUILD_CAP = 32 << 20
"""Most bytes the parts of a built message (``--body``, ``--attach``, ``--data -``) hold together, unless
``--max-body`` says more: the message is built in memory, about six times their size."""


class MessageError(ValueError):
    """A message part cannot be read or a header is malformed; the message says which."""


def recipients(values: list[str]) -> list[str]:
    """Recipients from ``-t`` values and positional words: comma-separated; in a list, a bare local part takes
    the domain of the next address that has one (``bob,carol@example.org``)."""
    out: list[str] = []
    for value in values:
        items = [item.strip() for item in value.split(",") if item.strip()]
        for index, item in enumerate(items):
            if "@" not in item and not item.startswith("<"):
                domain = next((later.rsplit("@", 1)[1] for later in items[index + 1:] if "@" in later), "")
                item = f"{item}@{domain}" if domain else item
            out.append(item)
    return out


def default_sender() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "smtpdbg"
    return f"{user}@{socket.getfqdn() or 'localhost'}"


class Tokens:
    """``%DATE%``, ``%MESSAGEID%``, ``%FROM_ADDRESS%``, ``%TO_ADDRESS%``: one value each for the whole run."""

    def __init__(self, sender: str, to: list[str], helo: str | None = None) -> None:
        from email.utils import formatdate, make_msgid

        domain = sender.rsplit("@", 1)[-1] if "@" in sender else (helo or "smtpdbg.invalid")
        self.date = formatdate(localtime=True)
        self.message_id = make_msgid(domain=domain.strip("<>") or None)
        self.values = {"%DATE%": self.date, "%MESSAGEID%": self.message_id.strip("<>"),
                       "%FROM_ADDRESS%": sender, "%TO_ADDRESS%": ", ".join(to)}

    def __call__(self, text: str) -> str:
        if "%" not in text:
            return text
        for token, value in self.values.items():
            text = text.replace(token, value)
        return text


class Budget:
    """What the parts of a message built in memory may still take from files and standard input."""

    def __init__(self, cap: int = BUILD_CAP) -> None:
        self.cap = cap
        self.used = 0

    def read(self, source: str, what: str) -> bytes:
        """The bytes of a file, or of standard input (``-``), within the budget.

        Raises:
            MessageError: it cannot be read, or it holds more than is left (a regular file's size is checked first).
        """
        left = self.cap - self.used
        try:
            handle = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise MessageError(f"{what}: {exc.strerror or exc}") from None
        try:
            size = _regular_size(handle)
            if size is not None and size > left:
                raise MessageError(self._over(what, f"is {size:,} bytes"))
            data = handle.read(left + 1)
        except OSError as exc:
            raise MessageError(f"{what}: {exc.strerror or exc}") from None
        finally:
            if source != "-":
                handle.close()
        if len(data) > left:
            raise MessageError(self._over(what, f"gives more than {left:,} bytes"))
        self.used += len(data)
        return data

    def _over(self, what: str, how: str) -> str:
        together = " with the parts before it" if self.used else ""
        return (f"{what} {how}{together}, over --max-body {self.cap:,}: the message is built in memory (about six "
                "times its size); raise --max-body BYTES, or send a ready message with --data @FILE, which streams it")


def _regular_size(handle) -> int | None:
    """The size of a regular file (known before reading); ``None`` for a pipe, a device or a stream in memory."""
    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _read(value: str, what: str, budget: Budget) -> str:
    """``@FILE`` or ``-`` (stdin) read as text (line endings as Python's text files make them); anything else is
    the text itself."""
    if value == "-" or value.startswith("@"):
        source = "-" if value == "-" else value[1:]
        text = budget.read(source, f"{what} {value}").decode("utf-8", "surrogateescape")
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _header(text: str, flag: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name = name.strip()
    if not colon or not name or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise MessageError(f"{flag} {text!r}: write 'Name: value'")
    if "\n" in value or "\r" in value:
        raise MessageError(f"{flag} {text!r}: a header value cannot hold a line break")
    return name, value.strip()


def literal_data(text: str, tokens: Tokens, budget: Budget | None = None) -> bytes:
    """``--data TEXT``: ``\\n`` is a line break (as in swaks); lines end in CRLF."""
    text = tokens(_read(text, "--data", budget or Budget()).replace("\\n", "\n"))
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


def build(sender: str, to: list[str], *, headers: list[str], add_headers: list[str], body: str | None,
          attachments: list[tuple[str, str | None]], tokens: Tokens, budget: Budget | None = None) -> bytes:
    """A whole RFC 5322 message with CRLF line endings.

    Raises:
        MessageError: an attachment or body file cannot be read or is over the budget, a header is malformed.
    """
    from email.message import EmailMessage
    from email.policy import SMTP

    budget = budget or Budget()
    text = tokens(_read(body, "--body", budget)) if body is not None else "This is a test mailing\n"
    message = EmailMessage(policy=SMTP)
    message["Date"] = tokens.date
    message["To"] = ", ".join(to)
    message["From"] = sender
    message["Subject"] = tokens("test %DATE%")
    message["Message-Id"] = tokens.message_id
    message["X-Mailer"] = "smtpdbg send"
    for flag, items, replace in (("--header", headers, True), ("--add-header", add_headers, False)):
        for item in items:
            name, value = _header(tokens(item), flag)
            if replace:
                del message[name]
            try:
                message[name] = value
            except (ValueError, TypeError) as exc:
                raise MessageError(f"{flag} {item!r}: {exc}") from None
    message.set_content(text if text.endswith("\n") else text + "\n")
    for path, kind in attachments:
        data = budget.read(path, f"--attach {path}")
        if not kind:
            import mimetypes

            kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        if not subtype:
            raise MessageError(f"--attach-type {kind!r}: write TYPE/SUBTYPE, e.g. application/pdf")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=os.path.basename(path))
    return message.as_bytes()


def body_is_scriptable(data: bytes) -> bool:
    """Whether a message can follow a script's ``data`` line as it is (no line would end the message early)."""
    return b"\r\n.\r\n" not in data and not data.startswith(b".\r\n") and b"\0" not in data
