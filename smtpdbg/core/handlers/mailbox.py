"""The ``mailbox`` command: what the embedded sandbox delivered in this session.

A real MTA stores a message with ``Return-Path:`` (the envelope sender) and a
``Received:`` trace line on top (RFC 5321 §4.4); the sandbox does the same, so
the mailbox shows where each copy went, which envelope it came in, and that a
``Bcc:`` header never arrived. The messages come from the sandbox object the
session was given (:attr:`~smtpdbg.core.options.SessionOptions.mailbox`); the
text here is also what the app's mailbox view shows.
"""

from __future__ import annotations

from typing import Any

from smtpdbg.core.errors import CommandError
from smtpdbg.core.parser import Parsed

NOT_SANDBOX = ("mailbox shows what the embedded sandbox delivered; this session's target is not the embedded "
               "sandbox (run smtpdbg with no target, or `smtpdbg learn`, to use it)")
EMPTY = "the sandbox mailbox is empty: nothing delivered yet in this session"
BODY_LINES = 20
"""Body lines ``mailbox N`` shows before it stops."""


def mailbox(ctx, parsed: Parsed) -> None:
    messages = delivered(ctx.session.options.mailbox, bool(ctx.session.state.sandbox))
    number = parsed.arg("number")
    lines = summary_lines(messages) if not number else message_lines(messages, _index(number, len(messages)))
    for line in lines:
        ctx.info(line)


def delivered(source: Any, sandbox_target: bool) -> list[Any]:
    """The messages ``source`` (the embedded sandbox) recorded; a CommandError when there is none to ask."""
    if source is None or not sandbox_target:
        raise CommandError(NOT_SANDBOX)
    return list(source.messages)


def summary_lines(messages: list[Any]) -> list[str]:
    """One line per delivered message: number, envelope sender, recipients, subject, how it came."""
    if not messages:
        return [EMPTY]
    lines = [f"{len(messages)} message{'s' if len(messages) != 1 else ''} delivered (`mailbox N` shows one):"]
    for number, message in enumerate(messages, 1):
        subject = header_value(message.content, "Subject") or "(no subject)"
        lines.append(f"  {number}. from <{message.mail_from}> to {recipients(message)}  — {subject}  "
                     f"[{how(message)}]")
    return lines


def message_lines(messages: list[Any], index: int) -> list[str]:
    """Message ``index`` (0-based): its envelope, then the header section as stored, then the start of the body."""
    message = messages[index]
    head, _, body = message.stored.decode("utf-8", "replace").partition("\r\n\r\n")
    lines = [
        f"message {index + 1} of {len(messages)}  [{how(message)}]",
        f"  envelope sender (MAIL FROM): <{message.mail_from}>",
        f"  delivered to (RCPT TO):      {recipients(message)}",
        "  stored headers (Return-Path and Received added at delivery, RFC 5321 §4.4):",
    ]
    lines += [f"    {line.expandtabs(4)}" for line in head.split("\r\n")]  # folded lines start with a tab
    body_lines = body.split("\r\n")
    if body_lines and body_lines[-1] == "":
        body_lines.pop()
    lines.append(f"  body ({len(body_lines)} line{'s' if len(body_lines) != 1 else ''}):")
    lines += [f"    {line}" for line in body_lines[:BODY_LINES]]
    if len(body_lines) > BODY_LINES:
        lines.append(f"    … {len(body_lines) - BODY_LINES} more")
    return lines


def recipients(message: Any) -> str:
    return ", ".join(f"<{address}>" for address in message.rcpt_tos)


def how(message: Any) -> str:
    """The listener and what protected the transaction, e.g. ``smtp, TLS, AUTH alice``."""
    parts = [message.listener] + (["TLS"] if message.tls else []) + (
        [f"AUTH {message.auth_user}"] if message.auth_user else [])
    return ", ".join(parts)


def header_value(content: bytes, name: str) -> str | None:
    """The first ``name:`` header of the message's header section (unfolded), or None."""
    head = content.decode("utf-8", "replace").partition("\r\n\r\n")[0].replace("\r\n\t", " ").replace("\r\n ", " ")
    prefix = name.lower() + ":"
    for line in head.split("\r\n"):
        if line.lower().startswith(prefix):
            return line[len(prefix):].strip()
    return None


def _index(text: str, count: int) -> int:
    if not text.isdigit() or not 1 <= int(text) <= count:
        raise CommandError(f"mailbox N takes a number from 1 to {count}" if count else EMPTY)
    return int(text) - 1
