"""Handlers of the greeting: ehlo, helo, ehlo_or_helo_if_needed, has_extn.

Each handler runs on the session thread with a :class:`~smtpdbg.core.context.HandlerContext` and the parsed
command, and returns the :class:`~smtpdbg.core.handlers.common.Reply` it ended with (``None`` for a local command).
Exceptions are left to the session, which classifies them.
"""

from __future__ import annotations

from smtpdbg.core.handlers.common import Reply, reply_of, smtp_of
from smtpdbg.core.parser import Parsed


def ehlo(ctx, parsed: Parsed) -> Reply:
    return reply_of(smtp_of(ctx).ehlo(parsed.arg("name") or ""))


def helo(ctx, parsed: Parsed) -> Reply:
    return reply_of(smtp_of(ctx).helo(parsed.arg("name") or ""))


def ehlo_or_helo_if_needed(ctx, parsed: Parsed) -> Reply | None:
    smtp = smtp_of(ctx)
    if smtp.helo_resp is not None or smtp.ehlo_resp is not None:
        if smtp.helo_resp is None and not smtp.tracker.identified:
            # smtplib stores a refused EHLO's reply in ehlo_resp too, so neither it nor sendmail falls back now
            ctx.warn("EHLO was refused, but smtplib keeps its reply in ehlo_resp, so ehlo_or_helo_if_needed "
                     "(like smtplib's sendmail) sends nothing now: send `helo`")
        else:
            ctx.info("already identified (helo_resp/ehlo_resp set): nothing sent")
        return None
    smtp.ehlo_or_helo_if_needed()
    code, text = smtp.last_reply
    return reply_of((code, text))


def has_extn(ctx, parsed: Parsed) -> None:
    smtp = ctx.session.smtp
    name = parsed.arg("name")
    found = bool(smtp and smtp.has_extn(name))
    params = smtp.esmtp_features.get(name.lower(), "") if found else ""
    ctx.info(f"has_extn({name!r}) = {found}" + (f"  (parameters: {params})" if params else ""))
