"""Handlers that put lines on the wire by hand: docmd, raw, pipeline, and drain for what arrives unasked.

Each handler runs on the session thread with a :class:`~smtpdbg.core.context.HandlerContext` and the parsed
command, and returns the :class:`~smtpdbg.core.handlers.common.Reply` it ended with (``None`` for a local command).
Exceptions are left to the session, which classifies them.
"""

from __future__ import annotations

from smtpdbg.core.errors import CommandError
from smtpdbg.core.handlers.common import Reply, guard_line, reply_of, smtp_of, text_of
from smtpdbg.core.parser import ParseError, Parsed, unescape
from smtpdbg.core.verdict import first_line


def docmd(ctx, parsed: Parsed) -> Reply:
    smtp = smtp_of(ctx)
    verb, args = parsed.arg("verb"), parsed.arg("args") or ""
    guard_line(ctx, smtp, f"{verb} {args}".encode("utf-8", "replace"), "docmd")
    return reply_of(smtp.docmd(verb, args))


def raw(ctx, parsed: Parsed) -> Reply | None:
    smtp = smtp_of(ctx)
    try:
        payload = unescape(parsed.arg("data"))
    except ParseError as exc:
        raise CommandError(str(exc)) from None
    if not parsed.opt("no_crlf"):
        payload += b"\r\n"
    guard_line(ctx, smtp, smtp.partial_line + payload, "raw")
    count = int(parsed.opt("replies", 1))
    smtp.send(payload)
    replies = [smtp.getreply() for _ in range(count)]
    if not replies:
        return None
    return reply_of(replies[-1], *replies)


def pipeline(ctx, parsed: Parsed) -> Reply:
    smtp = smtp_of(ctx)
    commands = [c.strip() for c in parsed.arg("commands").split(";") if c.strip()]
    if not commands:
        raise CommandError("pipeline needs commands separated by ';', e.g. MAIL FROM:<a@b>; RCPT TO:<c@d>; DATA")
    lines = [c.encode(smtp.command_encoding) + b"\r\n" for c in commands]
    guard_line(ctx, smtp, b"".join(lines), "pipeline")
    if not smtp.has_extn("pipelining"):
        ctx.warn("the server did not advertise PIPELINING (RFC 2920): sending the group anyway")
    smtp.send_pipelined(lines)
    replies = []
    for command in commands:
        replies.append(smtp.getreply())
    for command, (code, text) in zip(commands, replies):
        ctx.info(f"pipelined {command.split(' ', 1)[0].upper()} → {code} {first_line(text_of(text))}")
    return reply_of(replies[-1], *replies)


def drain(ctx, parsed: Parsed) -> Reply | None:
    smtp = smtp_of(ctx)
    wait = float(parsed.arg("seconds") or 0.5)
    if wait < 0:
        raise CommandError("drain waits 0 seconds or more")
    if wait > ctx.timeout:
        ctx.info(f"drain waits at most the command timeout, {ctx.timeout:g} s (drain N --timeout SECONDS for longer)")
        wait = ctx.timeout
    replies = smtp.drain(wait)
    if not replies:
        ctx.info(f"drain: nothing arrived within {wait:g} s (in sync)")
        return None
    return reply_of(replies[-1], *replies)
