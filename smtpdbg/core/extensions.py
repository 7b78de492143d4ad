"""Handlers for the extensions smtplib does not speak: BDAT, XCLIENT/XFORWARD, XOAUTH2/OAUTHBEARER, SMTPUTF8 checks.

smtplib has no CHUNKING (a ``docmd('BDAT ...')`` waits forever for a reply
the server will only send after the chunk), no OAuth mechanisms, and no
Postfix XCLIENT/XFORWARD. These handlers drive the traced smtplib object's
bounded I/O directly, so everything still appears byte for byte in the
transcript.
"""

from __future__ import annotations

import smtplib

from smtpdbg.core.errors import CommandError
from smtpdbg.core.parser import Parsed

XTEXT_SAFE = frozenset(range(33, 127)) - {ord("+"), ord("=")}


def xtext(value: str) -> str:
    """RFC 3461 §4 xtext: ``+HH`` for '+', '=' and anything outside ! .. ~."""
    return "".join(chr(b) if b in XTEXT_SAFE else f"+{b:02X}" for b in value.encode("utf-8"))


def _attributes(parsed: Parsed) -> list[tuple[str, str]]:
    pairs = []
    for item in parsed.arg("attributes") or []:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise CommandError(f"attributes are NAME=VALUE, not {item!r}")
        pairs.append((name.upper(), value))
    return pairs


def split_attributes(verb: str, pairs: list[tuple[str, str]], limit: int, *, encode: bool = True) -> list[str]:
    """Group ``NAME=value`` pairs into as few ``VERB ...`` lines as fit in ``limit`` bytes (CRLF included).

    Raises:
        CommandError: one attribute alone does not fit.
    """
    lines: list[str] = []
    current = verb
    for name, value in pairs:
        item = f"{name}={xtext(value) if encode and value not in ('[UNAVAILABLE]', '[TEMPUNAVAIL]') else value}"
        if len(verb) + 1 + len(item) + 2 > limit:
            raise CommandError(f"{name} alone is longer than the {limit}-byte line limit")
        if len(current) + 1 + len(item) + 2 > limit:
            lines.append(current)
            current = verb
        current += " " + item
    if current != verb:
        lines.append(current)
    return lines


def _reply(replies):
    from smtpdbg.core.handlers.common import Reply, text_of as _text

    code, text = replies[-1]
    return Reply(code, _text(text), tuple((c, _text(t)) for c, t in replies))


def _attribute_command(ctx, parsed: Parsed, verb: str):
    from smtpdbg.core.handlers.common import smtp_of as _smtp

    smtp = _smtp(ctx)
    pairs = _attributes(parsed)
    if not pairs:
        raise CommandError(f"{verb.lower()} needs NAME=VALUE attributes, e.g. ADDR=192.0.2.7 NAME=client.example")
    advertised = smtp.esmtp_features.get(verb.lower())
    if advertised is None:
        ctx.warn(f"the server did not advertise {verb}: sending it anyway")
    else:
        known = set(advertised.upper().split())
        unknown = [n for n, _ in pairs if known and n not in known]
        if unknown:
            ctx.warn(f"{', '.join(unknown)} not among the advertised {verb} attributes ({' '.join(sorted(known))})")
    lines = split_attributes(verb, pairs, int(parsed.opt("max_line") or 512))
    if len(lines) > 1:
        ctx.info(f"{verb}: {len(pairs)} attributes split over {len(lines)} commands to stay within "
                 f"{int(parsed.opt('max_line') or 512)} bytes per line")
    replies = []
    for line in lines:
        smtp.putcmd(line)
        replies.append(smtp.getreply())
        if replies[-1][0] >= 400 or replies[-1][0] < 0:
            break
    if verb == "XCLIENT" and replies[-1][0] == 220:  # the traced object has forgotten EHLO's answer
        ctx.info("XCLIENT accepted: the server greeted again as if the client were the one described; send EHLO again")
    return _reply(replies)


def xclient(ctx, parsed: Parsed):
    return _attribute_command(ctx, parsed, "XCLIENT")


def xforward(ctx, parsed: Parsed):
    return _attribute_command(ctx, parsed, "XFORWARD")


def bdat(ctx, parsed: Parsed):
    from smtpdbg.core.handlers.common import live, message_of as _message

    smtp = live(ctx)  # a closed connection says "not connected", before anything is recorded as sent
    message = _message(ctx, parsed)
    if not isinstance(message, bytes) and not message.regular:  # a pipe or device: bounded, read first
        message = message.read_all("bdat")
    chunk = int(parsed.opt("chunk") or 65536)
    if chunk < 1:
        raise CommandError("--chunk must be at least 1 byte")
    declared = parsed.opt("declare")
    try:
        replies = smtp.bdat(message, chunk, declared=int(declared) if declared is not None else None,
                            last=not parsed.opt("no_last"))
    finally:
        if not isinstance(message, bytes):
            message.close()  # a refused chunk stops the reading early
    return _reply(replies)


def oauth_authobject(mechanism: str, user: str, token: str, host: str, port: int | None):
    """The smtplib ``authobject`` for XOAUTH2 (Google's) or OAUTHBEARER (RFC 7628 §3.1).

    After a failure the server sends a base64 JSON error as a ``334``
    challenge; the client must answer with an empty response (XOAUTH2) or
    ``\\x01`` (OAUTHBEARER, RFC 7628 §3.2.3) to receive the final error.
    """
    state = {"sent": False}

    def authobject(challenge=None):
        if state["sent"]:
            return "\x01" if mechanism == "OAUTHBEARER" else ""
        state["sent"] = True
        if mechanism == "XOAUTH2":
            return f"user={user}\x01auth=Bearer {token}\x01\x01"
        where = f"host={host}\x01" + (f"port={port}\x01" if port else "")
        return f"n,a={user},\x01{where}auth=Bearer {token}\x01\x01"

    return authobject


def oauth(ctx, parsed: Parsed, mechanism: str, token: str):
    from smtpdbg.core.handlers.auth import run_auth
    from smtpdbg.core.handlers.common import reply_of as _reply, smtp_of as _smtp

    smtp = _smtp(ctx)
    target = ctx.session.target
    host = target.host if target is not None else "localhost"
    port = target.port if target is not None else None
    authobject = oauth_authobject(mechanism, parsed.arg("user"), token, host, port)
    try:
        result = run_auth(smtp, lambda: smtp.auth(mechanism, authobject,
                                                  initial_response_ok=not parsed.opt("no_initial_response")))
    except smtplib.SMTPAuthenticationError as exc:
        detail = smtp.masker.last_challenge  # the decoded 334 error challenge, if any
        if detail:
            raise smtplib.SMTPAuthenticationError(
                exc.smtp_code, exc.smtp_error + b" (the server's error: " + detail[:300] + b")") from None
        raise
    return _reply(result)


def check_utf8(ctx, smtp, address: str, params: list[str], verbatim: bool, *, verb: str = "mail") -> None:
    """Refuse, with the rule, a non-ASCII address outside an SMTPUTF8 transaction (RFC 6531 §3.4).

    Whether the transaction is one is asked of its MAIL (this command's parameters,
    or the tracker for RCPT), not of smtplib's ``command_encoding``: that stays
    ``utf-8`` after an SMTPUTF8 transaction ends with DATA.
    """
    wants_utf8 = any(p.upper() == "SMTPUTF8" for p in params)
    if wants_utf8 and not smtp.has_extn("smtputf8") and not verbatim:
        raise CommandError("the server did not advertise SMTPUTF8 (RFC 6531); use --verbatim to send it anyway")
    utf8_transaction = wants_utf8 if verb == "mail" else smtp.tracker.smtputf8
    if not address.isascii() and not utf8_transaction and not verbatim:
        raise CommandError("a non-ASCII address needs the SMTPUTF8 parameter (RFC 6531 §3.4) on this transaction's "
                           f"MAIL: mail {address if verb == 'mail' else 'SENDER'} SMTPUTF8 "
                           "(or --verbatim to send raw UTF-8 anyway)")
