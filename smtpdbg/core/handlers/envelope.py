"""Handlers of the mail transaction: mail, rcpt, data, sendmail, send_message, rset, noop, and the queries.

Each handler runs on the session thread with a :class:`~smtpdbg.core.context.HandlerContext` and the parsed
command, and returns the :class:`~smtpdbg.core.handlers.common.Reply` it ended with (``None`` for a local command).
Exceptions are left to the session, which classifies them.
"""

from __future__ import annotations

import email
import smtplib

from smtpdbg.core.errors import CommandError
from smtpdbg.core.handlers.common import Reply, message_of, read_file, reply_of, smtp_of, text_of
from smtpdbg.core.parser import Parsed


def _envelope(ctx, parsed: Parsed, verb: str, keyword: str, method) -> Reply:
    smtp = smtp_of(ctx)
    address = parsed.arg(parsed.spec.args[0].name)
    params = list(parsed.arg("params") or [])
    from smtpdbg.core.extensions import check_utf8

    check_utf8(ctx, smtp, address, params, bool(parsed.opt("verbatim")), verb=verb)
    if verb == "mail" and not any(p.upper() == "SMTPUTF8" for p in params):
        smtp.command_encoding = "ascii"  # a new transaction without SMTPUTF8 (smtplib only resets it on RSET)
    if parsed.opt("verbatim"):
        line = f"{verb} {keyword}:{address}" + "".join(" " + p for p in params)
        if any(p.upper() == "SMTPUTF8" for p in params):
            smtp.command_encoding = "utf-8"  # as smtplib.mail() does for SMTPUTF8
        if not line.isascii() and smtp.command_encoding == "ascii":
            ctx.warn("sending raw UTF-8 without SMTPUTF8 (RFC 6531 requires it): deliberate?")
            smtp.send(line.encode("utf-8") + b"\r\n")
        else:
            smtp.putcmd(verb, f"{keyword}:{address}" + "".join(" " + p for p in params))
        return reply_of(smtp.getreply())
    quoted = smtplib.quoteaddr(address)
    typed = address.strip()
    if quoted != (typed if typed.startswith("<") and typed.endswith(">") else f"<{typed}>"):
        ctx.warn(f"smtplib's quoteaddr() sends {quoted} for {address!r}; use --verbatim to send it as typed")
    if params and not smtp.does_esmtp:
        ctx.warn(f"smtplib drops {verb.upper()} parameters when the server did not answer EHLO (does_esmtp is False): "
                 f"{' '.join(params)} not sent; use --verbatim to send them anyway")
    return reply_of(method(address, params))


def mail(ctx, parsed: Parsed) -> Reply:
    return _envelope(ctx, parsed, "mail", "FROM", smtp_of(ctx).mail)


def rcpt(ctx, parsed: Parsed) -> Reply:
    return _envelope(ctx, parsed, "rcpt", "TO", smtp_of(ctx).rcpt)


def data(ctx, parsed: Parsed) -> Reply:
    smtp = smtp_of(ctx)
    message = message_of(ctx, parsed)
    if smtp.tracker.in_data:  # 354 already received (after a pipelined DATA): send the body only
        from smtpdbg.core.body import FileBody
        from smtpdbg.core.wire import prepare_body

        if isinstance(message, FileBody):
            smtp.send_body_stream(message)
        else:
            smtp.send_body(prepare_body(message))
        return reply_of(smtp.read_final_replies(), *smtp.data_replies)
    result = smtp.data(message)
    return reply_of(result, *smtp.data_replies)


def sendmail(ctx, parsed: Parsed) -> Reply:
    smtp = smtp_of(ctx)
    message = message_of(ctx, parsed)
    recipients = [a.strip() for a in parsed.arg("to_addrs").split(",") if a.strip()]
    if not recipients:  # smtplib would send MAIL, then report that "every recipient" was refused
        raise CommandError("sendmail needs at least one recipient (TO[,TO...])")
    refused = smtp.sendmail(parsed.arg("from_addr"), recipients, message,
                            parsed.opt("mail_option") or (), parsed.opt("rcpt_option") or ())
    for address, (code, text) in refused.items():
        ctx.warn(f"recipient refused: {address}: {code} {text_of(text)}")
    return reply_of(smtp.data_replies[-1] if smtp.data_replies else smtp.last_reply, *smtp.data_replies)


def send_message(ctx, parsed: Parsed) -> Reply:
    smtp = smtp_of(ctx)
    path = parsed.arg("file")
    raw = read_file(path) if path else ctx.body
    if raw is None:
        raise CommandError("send_message needs a message: @FILE, or typed lines ended by a lone '.'")
    import email.policy  # only when a message is parsed

    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not parsed.opt("to") and not _header_recipients(message):  # smtplib would send MAIL first
        raise CommandError(f"{path or 'the message'} has no To, Cc or Bcc recipient: name one with --to ADDRESS")
    refused = smtp.send_message(message, parsed.opt("from"), parsed.opt("to") or None,
                                parsed.opt("mail_option") or (), parsed.opt("rcpt_option") or ())
    for address, (code, text) in refused.items():
        ctx.warn(f"recipient refused: {address}: {code} {text_of(text)}")
    return reply_of(smtp.data_replies[-1] if smtp.data_replies else smtp.last_reply, *smtp.data_replies)


def _header_recipients(message) -> list[str]:
    """The addresses ``smtplib.send_message()`` would take from the headers (Resent-* when present)."""
    import email.utils

    resent = message.get_all("Resent-Date")
    prefix = "Resent-" if resent is not None and len(resent) == 1 else ""
    fields = [f for name in ("To", "Bcc", "Cc") for f in message.get_all(prefix + name, [])]
    return [address for _, address in email.utils.getaddresses([str(f) for f in fields]) if address]


def rset(ctx, parsed: Parsed) -> Reply:
    return reply_of(smtp_of(ctx).rset())


def noop(ctx, parsed: Parsed) -> Reply:
    return reply_of(smtp_of(ctx).noop())


def verify(ctx, parsed: Parsed) -> Reply:
    return reply_of(smtp_of(ctx).verify(parsed.arg("address")))


def expn(ctx, parsed: Parsed) -> Reply:
    return reply_of(smtp_of(ctx).expn(parsed.arg("address")))


def help_(ctx, parsed: Parsed) -> Reply:
    smtp = smtp_of(ctx)
    smtp.help(parsed.arg("topic") or "")
    return reply_of(smtp.last_reply)
