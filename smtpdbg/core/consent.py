"""Consent for cleartext credentials: the one rule that decides whether a secret may cross the network unencrypted.

Inside TLS it may; on the embedded sandbox smtpdbg started itself (a lab) it
may, with a warning; anywhere else only with the user's explicit consent.
:func:`cleartext_allowed` is the rule (frontends ask it through
``session.needs`` before they prompt for a password); :func:`guard_plaintext_auth`
enforces it on the session thread before anything is sent.
"""

from __future__ import annotations

from smtpdbg.core.errors import CommandError


class PlaintextAuthRefused(CommandError):
    """A secret would have been sent on a connection without TLS, and the user has not allowed it."""

    category = "plaintext-auth"


HOW_TO_ALLOW = ("run `starttls` first, or allow it explicitly: `set plaintext-auth allow` (this session) or "
                "`once` (the next AUTH only), or --allow-plaintext-auth on the command line")


def cleartext_allowed(session, in_tls: bool, *, continuation: bool = False) -> bool:
    """Whether a secret may be sent now: THE consent rule, which :func:`guard_plaintext_auth` enforces on the
    session thread and a frontend asks (through ``session.needs``) before it prompts for a password.

    Allowed: inside TLS; on the embedded sandbox smtpdbg started itself (a lab);
    with the user's consent (``--allow-plaintext-auth``, ``set plaintext-auth
    allow``, or ``once`` for one exchange). Any other server, loopback included
    (an ssh tunnel, a local MTA relaying on), needs consent; a consent given
    with ``set`` holds for the server connected then, not for one a later
    ``connect`` reaches. No side effect.
    """
    if in_tls:
        return True
    target = session.target
    if target is not None and target.sandbox:
        return True
    given_for = getattr(session, "plaintext_auth_target", None)  # `set plaintext-auth`: for the server it named
    if given_for and given_for != (str(target) if target is not None else ""):  # "": given before any connect
        return False
    once = getattr(session, "plaintext_auth_once", "")
    return bool(session.options.allow_plaintext_auth or (continuation and once == "spent")
                or (not continuation and once == "granted"))


def guard_plaintext_auth(ctx, smtp, what: str, *, continuation: bool = False) -> None:
    """Refuse to send a secret in cleartext unless :func:`cleartext_allowed`; call it before anything is sent,
    and before the password is needed (a frontend asks for none when the answer is no).

    Warns when it goes anyway: inside TLS whose certificate is not verified; in
    cleartext on the embedded sandbox; in cleartext as the user allowed (an
    ``once`` consent is spent by the exchange it allowed).

    Args:
        what: what would be sent, for the message (``"the password (AUTH PLAIN)"``).
        continuation: the line answers a 334 of an exchange already under way.

    Raises:
        PlaintextAuthRefused: with why, what went wrong with STARTTLS if it did, and how to allow it.
    """
    session = ctx.session
    once = getattr(session, "plaintext_auth_once", "")
    if not cleartext_allowed(session, smtp.in_tls, continuation=continuation):
        if once == "spent":
            session.plaintext_auth_once = ""  # the one exchange allowed is over
        raise PlaintextAuthRefused(_refusal(session, smtp, what))
    if continuation:
        return
    if smtp.in_tls:
        info = smtp.tls_info
        if info is not None and not info.verified:
            ctx.warn(f"{what} goes inside TLS, but the certificate is NOT verified (--insecure): "
                     "a man in the middle could read it")
    elif session.target is not None and session.target.sandbox:
        ctx.warn(f"{what} goes without TLS, in cleartext: allowed without asking only on the embedded sandbox "
                 "smtpdbg started (a lab); any other server needs your consent")
    else:
        if once == "granted":
            session.plaintext_auth_once = "spent"
        ctx.warn(f"{what} goes without TLS, in cleartext, as you allowed: anyone on the path can read it")


def _refusal(session, smtp, what: str) -> str:
    where = str(session.target) if session.target is not None else "the server"
    text = (f"refused: {what} would cross the network in cleartext: the connection to {where} is not encrypted "
            f"(base64 is an encoding, not encryption). ")
    failure, earlier = _starttls_failure(session.transcript)
    if smtp.sock is not None and smtp.ehlo_resp is not None and not smtp.has_extn("starttls"):
        text += "The server did not offer STARTTLS, or something on the path removed it from the EHLO reply. "
    elif failure:
        when = "on an earlier connection" if earlier else "on this connection"
        text += f"STARTTLS failed {when}: {failure.rstrip('.')}. "
    if failure or "did not offer" in text:
        text += ("Going on without it is what a downgrade attack wants: whoever sits on the path can refuse, "
                 "strip or break STARTTLS to read the credentials. ")
    return text + "To go on: " + HOW_TO_ALLOW + "."


_LOOKBACK = 5000
"""Events searched backwards for the last STARTTLS (the current connection's, or the one before)."""


def _starttls_failure(transcript) -> tuple[str, bool]:
    """How the last STARTTLS failed (``""`` if it did not), and whether that was before the current connection."""
    from smtpdbg.core.events import CommandEnd, Error, Info, InfoKind, Wire
    from smtpdbg.core.render import safe_text

    earlier = False
    failed_command = False
    reply = b""
    end = len(transcript)
    for index in range(end - 1, max(-1, end - 1 - _LOOKBACK), -1):
        event = transcript[index]
        if isinstance(event, Info) and event.kind is InfoKind.CONNECTED:
            earlier = True
        elif isinstance(event, CommandEnd) and event.text.split(None, 1)[:1] == ["starttls"]:
            if event.ok:
                return "", earlier
            failed_command = True
        elif failed_command and isinstance(event, Error):
            return safe_text(event.message.split("; not connected now", 1)[0]), earlier
        elif isinstance(event, Wire):
            if event.is_send and event.data.strip().upper() == b"STARTTLS":
                if reply and not reply.startswith(b"220"):
                    return f"the server answered {safe_text(reply)}", earlier
                if failed_command:
                    return "it did not complete", earlier
                if reply:
                    return "", earlier
            elif not event.is_send and event.data[3:4] != b"-":
                reply = event.data
    return "", False
