"""A proxied connection saved as an smtpdbg script: the client's side as commands, the server's codes as ``expect``.

``smtpdbg run FILE --target SERVER`` then replays what the client did without
the client. Secrets never reach the script: an AUTH exchange becomes ``auth
MECHANISM USER --password-env SMTP_PASSWORD``; a message goes in as a block
(un-dot-stuffed), or as a comment saying why it cannot (a line with a single dot,
bytes that are not UTF-8).
"""

from __future__ import annotations

import time

from smtpdbg.core.record import PASSWORD_VARIABLE
from smtpdbg.core.render import safe_text
from smtpdbg.proxy.relay import Connection, Exchange

_SIMPLE = {b"QUIT": "quit", b"RSET": "rset", b"NOOP": "noop", b"STARTTLS": "starttls"}
_AUTH_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


def _argument(line: bytes) -> str:
    words = safe_text(line).split(None, 1)
    return words[1] if len(words) > 1 else ""


def _path(argument: str, keyword: str) -> str:
    """``FROM:<a@b> SIZE=5`` -> ``<a@b> SIZE=5`` (the script's ``mail``/``rcpt`` take the path and parameters)."""
    head, _, rest = argument.partition(":")
    return rest.strip() if head.strip().upper() == keyword else argument


def _message(exchange: Exchange) -> list[str] | None:
    lines = exchange.body[:-1] if exchange.body[-1:] == [b".\r\n"] else exchange.body
    out = []
    for raw in lines:
        if not raw.endswith(b"\r\n"):
            return None
        try:
            text = raw[:-2].decode("utf-8")
        except UnicodeDecodeError:
            return None
        text = text[1:] if text.startswith(".") else text
        if text == "." or "\r" in text or "\n" in text:
            return None
        out.append(text)
    return out


def _command(exchange: Exchange) -> str | None:
    verb, line = exchange.verb, exchange.line
    argument = _argument(line)
    if verb in _SIMPLE:
        return _SIMPLE[verb]
    if verb in (b"EHLO", b"HELO"):
        return f"{verb.decode().lower()} {argument}".rstrip()
    if verb == b"MAIL":
        return f"mail {_path(argument, 'FROM')}"
    if verb == b"RCPT":
        return f"rcpt {_path(argument, 'TO')}"
    if verb == b"DATA":
        return "data"
    if verb == b"AUTH":
        mechanism, user = exchange.auth or ("", None)
        if mechanism in _AUTH_MECHANISMS and user:
            return f"auth {mechanism} {user} --password-env {PASSWORD_VARIABLE}"
        return None
    if verb == b"BDAT":
        return None
    return f"raw {safe_text(line)}"


def render_script(connection: Connection, upstream: str) -> str:
    """The replayable script of ``connection`` (see the module docstring)."""
    when = time.strftime("%Y-%m-%d %H:%M:%S %z")
    out = [f"# smtpdbg script captured by smtpdbg proxy (connection {connection.number} from {connection.peer}) "
           f"to {upstream} on {when}",
           "# replay: smtpdbg run THIS-FILE --target SERVER",
           "connect"]
    auth = any(e.verb == b"AUTH" for e in connection.exchanges)
    if auth:
        out.insert(2, f"# needs ${PASSWORD_VARIABLE} (the AUTH password)")
    greeting = connection.exchanges[0]
    if greeting.code is not None:
        out.append(f"expect {greeting.code}")
    for exchange in connection.exchanges[1:]:
        command = _command(exchange)
        if command is None:
            out.append(f"# not replayable (BDAT, or AUTH whose user is unknown): {safe_text(exchange.line)}")
            continue
        if exchange.verb == b"DATA" and exchange.body:
            message = _message(exchange)
            if message is None:
                out.append("# NOTE: the message holds a line a script block cannot express (a single '.', "
                           "bare CR/LF, not UTF-8); it is left out")
                continue
            out += [command, *message, "."]
            if exchange.code is not None:
                out.append(f"expect {exchange.code}")
            continue
        out.append(command)
        if exchange.code is not None and exchange.verb != b"DATA":
            out.append(f"expect {exchange.code}")
    return "\n".join(out) + "\n"
