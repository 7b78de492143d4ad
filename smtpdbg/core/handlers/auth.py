"""Handlers of authentication: login and auth (SASL mechanisms through smtplib), with the exchange cancelled cleanly.

Each handler runs on the session thread with a :class:`~smtpdbg.core.context.HandlerContext` and the parsed
command, and returns the :class:`~smtpdbg.core.handlers.common.Reply` it ended with (``None`` for a local command).
Exceptions are left to the session, which classifies them.
"""

from __future__ import annotations

import binascii
import smtplib
from typing import Callable

from smtpdbg.core.commands import MECHANISMS, OAUTH_MECHANISMS
from smtpdbg.core.errors import CommandError
from smtpdbg.core.handlers.common import AUTH_AFTER_TLS, Reply, auth_after_tls, env_label, live, password_of, reply_of
from smtpdbg.core.parser import Parsed
from smtpdbg.core.consent import guard_plaintext_auth


def run_auth(smtp, call: Callable):
    """Run an smtplib AUTH call; a failure on our side cancels the exchange and quotes no secret.

    smtplib encodes AUTH responses as ASCII; its ``UnicodeEncodeError`` names the
    offending character and its position in the response (a piece of the
    password). An undecodable challenge raises ``binascii.Error``; a server
    that keeps sending 334 makes smtplib give up ("infinite loop",
    ``SMTPException``). In every case, if the server was still waiting for a
    response (after a 334), the exchange is cancelled with ``*`` (RFC 4954 §4)
    and the AUTH exchange is over on our side: otherwise the next command would
    be taken (and masked) as an AUTH response.
    """
    try:
        return call()
    except UnicodeEncodeError:
        error: Exception = CommandError(
            "the user name, password or token holds non-ASCII characters, which smtplib cannot send "
            "(it encodes AUTH responses as ASCII); nothing of the secret is shown here")
    except (binascii.Error, ValueError, smtplib.SMTPException) as exc:
        error = exc
    finally:
        smtp.password = ""
    if smtp.sock is not None and smtp.auth_open and smtp.last_reply and smtp.last_reply[0] == 334:
        smtp.putcmd("*")
        try:
            smtp.getreply()
        except (OSError, smtplib.SMTPException):
            pass  # the connection is gone: the original error says what went wrong
    smtp.masker.end()
    raise error


def login(ctx, parsed: Parsed) -> Reply:
    smtp = live(ctx)
    if auth_after_tls(ctx.session.state):
        raise CommandError(AUTH_AFTER_TLS)
    guard_plaintext_auth(ctx, smtp, "the password (login: AUTH CRAM-MD5, PLAIN or LOGIN)")  # before the password
    password = password_of(ctx, parsed)
    result = run_auth(smtp, lambda: smtp.login(parsed.arg("user"), password,
                                               initial_response_ok=not parsed.opt("no_initial_response")))
    return reply_of(result)


def auth(ctx, parsed: Parsed) -> Reply:
    smtp = live(ctx)
    if auth_after_tls(ctx.session.state):
        raise CommandError(AUTH_AFTER_TLS)
    mechanism = parsed.arg("mechanism").upper()
    if mechanism not in MECHANISMS:
        raise CommandError(f"smtpdbg speaks AUTH {', '.join(MECHANISMS)}; for {mechanism} use raw")
    if mechanism in OAUTH_MECHANISMS:
        from smtpdbg.core.extensions import oauth

        guard_plaintext_auth(ctx, smtp, f"the bearer token (AUTH {mechanism})")
        env = parsed.opt("token_env")
        if env:
            token = ctx.session.environ.get(env)
            if token is None:
                raise CommandError(f"{env_label(env)} is not set (it should hold the bearer token)")
        else:
            token = password_of(ctx, parsed)
        return oauth(ctx, parsed, mechanism, token)
    # CRAM-MD5 sends no password, but its response lets an eavesdropper guess it offline: refused alike.
    guard_plaintext_auth(ctx, smtp, f"the password (AUTH {mechanism})")
    password = password_of(ctx, parsed)
    smtp.user = parsed.arg("user")
    smtp.password = password
    authobject = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
    result = run_auth(smtp, lambda: smtp.auth(mechanism, authobject,
                                              initial_response_ok=not parsed.opt("no_initial_response")))
    return reply_of(result)
