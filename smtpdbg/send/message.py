"""The message ``smtpdbg send`` sends: built with Python's ``email`` package, or given whole.

A built message has Date, Message-ID, From, To and Subject (``--header``
replaces one of the same name, ``--add-header`` adds), the ``--body`` and
each ``--attach`` as a MIME part (base64, type guessed from the file name
unless ``--attach-type`` says). Tokens as swaks has them: ``%DATE%``,
``%MESSAGEID%``, ``%FROM_ADDRESS%``, ``%TO_ADDRESS%``.
"""

from __future__ import annotations

import os
import sys


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


MAX_PART = 32 << 20
"""Most bytes read for the body or one attachment: the message is built whole in memory (MIME encoding
takes a few times that), so stdin or a device (``/dev/zero``) must not be read without end."""


def bounded(handle, what: str) -> bytes:
    """What a binary ``handle`` holds, at most :data:`MAX_PART` bytes."""
    data = handle.read(MAX_PART + 1)
    if len(data) > MAX_PART:
        raise MessageError(f"{what}: over {MAX_PART:,} bytes; the message is built in memory "
                           "(send a large message file with --data @FILE, which streams it)")
    return data


def _read(value: str, what: str) -> str:
    """``@FILE`` or ``-`` (stdin) read as text; anything else is the text itself."""
    if value == "-":
        return bounded(sys.stdin.buffer, f"{what} -").decode("utf-8", "surrogateescape")
    if value.startswith("@"):
        try:
            with open(value[1:], "rb") as handle:
                return bounded(handle, f"{what} {value}").decode("utf-8", "surrogateescape")
        except OSError as exc:
            raise MessageError(f"{what} {value}: {exc.strerror or exc}") from None
    return value


def _header(text: str, flag: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name = name.strip()
    if not colon or not name or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise MessageError(f"{flag} {text!r}: write 'Name: value'")
    if "\n" in value or "\r" in value:
        raise MessageError(f"{flag} {text!r}: a header value cannot hold a line break")
    return name, value.strip()


def literal_data(text: str, tokens: Tokens) -> bytes:
    """``--data TEXT``: ``\\n`` is a line break (as in swaks); lines end in CRLF."""
    text = tokens(_read(text, "--data").replace("\\n", "\n"))
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


def build(sender: str, to: list[str], *, headers: list[str], add_headers: list[str], body: str | None,
          attachments: list[tuple[str, str | None]], tokens: Tokens) -> bytes:
    """A whole RFC 5322 message with CRLF line endings.

    Raises:
        MessageError: an attachment or body file cannot be read, a header is malformed.
    """
    from email.message import EmailMessage
    from email.policy import SMTP

    text = tokens(_read(body, "--body")) if body is not None else "This is a test mailing\n"
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
        try:
            with open(path, "rb") as handle:
                data = bounded(handle, f"--attach {path}")
        except OSError as exc:
            raise MessageError(f"--attach {path}: {exc.strerror or exc}") from None
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
