"""What every handler shares: the reply it returns, the connection it needs, the message and the password.

Each handler runs on the session thread with a :class:`~smtpdbg.core.context.HandlerContext` and the parsed
command, and returns the :class:`~smtpdbg.core.handlers.common.Reply` it ended with (``None`` for a local command).
Exceptions are left to the session, which classifies them.
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass

from smtpdbg.core.errors import CommandError
from smtpdbg.core.parser import Parsed
from smtpdbg.core.consent import cleartext_allowed, guard_plaintext_auth
from smtpdbg.core.secrets import answers_auth, sends_auth


@dataclass(frozen=True, slots=True)
class Reply:
    """The reply a command ended with (and every reply it read)."""

    code: int
    text: str
    replies: tuple[tuple[int, str], ...] = ()
    ok: bool = True


def text_of(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def reply_of(result, *replies) -> Reply:
    code, text = result
    return Reply(code, text_of(text), tuple((c, text_of(t)) for c, t in replies) or ((code, text_of(text)),))


def needs(session, parsed: Parsed):
    """What a frontend must collect first. No password is asked for a login the server cannot take yet
    (:func:`auth_after_tls`): the handler refuses it with the way forward instead. ``consent`` says the password
    would go in cleartext without the user's consent, ``offline`` that the command cannot be sent (not connected):
    the handler refuses both before it needs the password."""
    from smtpdbg.core.context import Needs

    spec = parsed.spec
    body = spec.body and parsed.arg("file") is None
    secret = spec.secret and not parsed.opt("password_env") and not parsed.opt("token_env") and not session.options.password_env
    state = session.state
    if secret and auth_after_tls(state):
        secret = False
    consent = secret and state.connected and not cleartext_allowed(session, state.tls is not None)
    return Needs(body=body, secret=secret, consent=consent, offline=secret and not state.connected)


AUTH_AFTER_TLS = ("the server offers AUTH only after TLS (its EHLO lists STARTTLS but not AUTH): run `starttls`, "
                  "then `ehlo`, then log in again; nothing was sent and no password was asked")


def auth_after_tls(state) -> bool:
    """Whether the server's EHLO reply says AUTH comes only after TLS: STARTTLS advertised, AUTH not, no TLS yet."""
    return (state.connected and state.tls is None and state.ehlo_resp is not None
            and state.features.has("starttls") and not state.features.has("auth"))


def smtp_of(ctx):
    smtp = ctx.session.smtp
    if smtp is None:
        raise smtplib.SMTPServerDisconnected("please run connect() first")
    return smtp


def live(ctx):
    """The smtplib object of a connection that is still open (a closed one says "not connected", not "no AUTH")."""
    smtp = smtp_of(ctx)
    if smtp.sock is None:
        raise smtplib.SMTPServerDisconnected("please run connect() first")
    return smtp


def read_file(path: str, what: str = "send_message") -> bytes:
    """A message file that is parsed whole (bounded: parsing takes about ten times its size)."""
    from smtpdbg.core.body import PARSED_FILE_CAP, FileBody

    return FileBody(path).read_all(what, most=PARSED_FILE_CAP, how="parses the whole message in memory",
                                   instead="use `sendmail FROM TO @FILE` or `data @FILE`, which stream it")


def message_of(ctx, parsed: Parsed):
    """The message: typed lines (bytes), or a :class:`~smtpdbg.core.body.FileBody` streamed from disk."""
    path = parsed.arg("file")
    if path:
        from smtpdbg.core.body import FileBody

        max_body = parsed.opt("max_body")
        body = FileBody(path, max_body=int(max_body) if max_body is not None else None)
        check_size(ctx, parsed, body)
        return body
    if ctx.body is None:
        raise CommandError(f"{parsed.name} needs a message: type its lines ended by a line with a single '.', or use @FILE")
    return ctx.body


def check_size(ctx, parsed: Parsed, body) -> None:
    """A file over the server's announced SIZE (RFC 1870 §4) is refused before anything is sent."""
    smtp = ctx.session.smtp
    if smtp is None or body.size is None or parsed.opt("over_size") or parsed.name not in ("data", "bdat"):
        return
    limit = (smtp.esmtp_features.get("size") or "").strip()
    if limit.isdigit() and int(limit) and body.size > int(limit):
        body.close()
        raise CommandError(f"{parsed.arg('file')} is {body.size:,} bytes and the server announced SIZE {int(limit):,} "
                           "(RFC 1870): it would refuse it; add --over-size to send it anyway")


def env_label(name: str) -> str:
    """Name a missing variable, unless what was typed looks like a secret rather than a NAME."""
    if re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
        return f"the environment variable {name}"
    return "the environment variable named after --password-env/--token-env (a NAME such as SMTP_PASSWORD, " \
           "not the secret itself)"


def password_of(ctx, parsed: Parsed) -> str:
    env = parsed.opt("password_env") or ctx.session.options.password_env
    if env:
        value = ctx.session.environ.get(env)
        if value is None:
            raise CommandError(f"{env_label(env)} is not set (it should hold the password)")
        return value
    if ctx.secret is None:
        raise CommandError("a password is needed: it is asked with a masked prompt, or read from --password-env NAME")
    return ctx.secret


def guard_line(ctx, smtp, data: bytes, how: str) -> None:
    """Refuse an AUTH line, or an answer to a 334, typed by hand on a connection without TLS (see guard_plaintext_auth)."""
    if smtp.sock is None:
        return  # sending fails with "not connected"
    if sends_auth(data):
        guard_plaintext_auth(ctx, smtp, f"an AUTH command typed with {how}")
    elif answers_auth(smtp, data):
        guard_plaintext_auth(ctx, smtp, f"an AUTH response typed with {how}", continuation=True)
