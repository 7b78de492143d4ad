"""Handlers that only look at the session or the debugger: show, explain, ?, save, set, abort.

Each handler runs on the session thread with a :class:`~smtpdbg.core.context.HandlerContext` and the parsed
command, and returns the :class:`~smtpdbg.core.handlers.common.Reply` it ended with (``None`` for a local command).
Exceptions are left to the session, which classifies them.
"""

from __future__ import annotations

from smtpdbg.core.commands import ATTRIBUTES, COMMANDS, lookup
from smtpdbg.core.errors import CommandError
from smtpdbg.core.events import InfoKind
from smtpdbg.core.parser import Parsed


def show(ctx, parsed: Parsed) -> None:
    from smtpdbg.core.describe import describe_attribute, describe_state

    name = parsed.arg("attribute")
    if name:
        if name not in ATTRIBUTES:
            raise CommandError(f"show knows {', '.join(ATTRIBUTES)}")
        ctx.info(describe_attribute(ctx.session.smtp, name))
        return None
    for line in describe_state(ctx.session.state):
        ctx.info(line)
    return None


def explain(ctx, parsed: Parsed) -> None:
    from smtpdbg.core.describe import explain_topic

    for line in explain_topic(parsed.arg("topic"), ctx.session.state):
        ctx.info(line)


def commands_help(ctx, parsed: Parsed) -> None:
    name = parsed.arg("command")
    if name:
        spec = lookup(name)
        if spec is None:
            raise CommandError(f"unknown command {name!r}")
        ctx.info(f"{spec.usage}  — {spec.summary}")
        if spec.call:
            ctx.info(f"  smtplib: {spec.call}")
        if spec.wire:
            ctx.info(f"  wire: {spec.wire}" + (f"  ({spec.rfc})" if spec.rfc else ""))
        for arg in spec.args:
            ctx.info(f"  {arg.name.upper()}: {arg.help}")
        for option in spec.options:
            ctx.info(f"  {option.name} {option.metavar}".rstrip() + f": {option.help}")
        return None
    group = None
    for spec in COMMANDS:
        if spec.group != group:
            group = spec.group
            ctx.info(f"{group}:")
        ctx.info(f"  {spec.name:<24}{spec.summary}")
    return None


def save(ctx, parsed: Parsed) -> None:
    import os

    from smtpdbg.core.export import FORMATS, Recording, export

    fmt = parsed.arg("format").lower()
    path = os.path.expanduser(parsed.arg("file"))
    if path == "-":  # never a file named "-"; a session has no standard output of its own
        raise CommandError("save writes a file: give its path (`smtpdbg run SCRIPT --export FORMAT --output -` "
                           "writes an export to standard output)")
    if fmt == "cert":
        return _save_cert(ctx, path)
    if fmt not in FORMATS:
        raise CommandError(f"save knows {', '.join(FORMATS)} and cert, not {fmt!r}")
    recording = Recording.from_session(ctx.session)
    try:
        text = export(fmt, recording, path)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    commands = len(recording.dialogue.commands)
    ctx.info(f"saved {fmt} of {commands} command(s) to {path} ({len(text.encode()):,} bytes, owner-only)")


def _save_cert(ctx, path: str) -> None:
    """``save cert FILE``: the chain of the last TLS handshake, verified or not (core/peerchain.py), as PEM."""
    from smtpdbg.core.files import write_private
    from smtpdbg.core.tls import chain_pem

    infos = [e.tls_info for e in ctx.session.transcript.snapshot() if getattr(e, "tls_info", None) is not None]
    pem = chain_pem(infos[-1]) if infos else ""
    if not pem:
        raise CommandError("no certificate to save: no TLS handshake in this session yet (starttls, or smtps://)")
    try:
        write_private(path, pem)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    count = pem.count("-----BEGIN CERTIFICATE-----")
    ctx.info(f"saved the server's certificate chain ({count} certificate(s), PEM) to {path} (owner-only)")


def set_(ctx, parsed: Parsed) -> None:
    """``set plaintext-auth allow|once|deny``: consent to AUTH without TLS (see guard_plaintext_auth)."""
    from dataclasses import replace

    from smtpdbg.core.commands import SETTINGS

    name = parsed.arg("setting").lower()
    value = (parsed.arg("value") or "").lower()
    if name not in SETTINGS:
        raise CommandError(f"set knows {', '.join(SETTINGS)}, not {name!r}")
    if value and value not in SETTINGS[name]:
        raise CommandError(f"set {name} takes {', '.join(SETTINGS[name])}, not {value!r}")
    session = ctx.session
    where = str(session.target) if session.target is not None else ""
    if value:
        session.options = replace(session.options, allow_plaintext_auth=value == "allow")
        session.plaintext_auth_once = "granted" if value == "once" else ""
        session.plaintext_auth_target = where  # the consent is for this server: a `connect` elsewhere asks again
    once = getattr(session, "plaintext_auth_once", "")
    given_for = getattr(session, "plaintext_auth_target", None)
    current = ("deny" if given_for and given_for != where else
               "allow" if session.options.allow_plaintext_auth else "once" if once == "granted" else "deny")
    if current == "deny":
        ctx.info("plaintext-auth deny: AUTH credentials are sent only inside TLS (the embedded sandbox excepted)")
    else:
        span = "for the rest of this session" if current == "allow" else "for the next AUTH exchange"
        ctx.warn(f"plaintext-auth {current}: AUTH credentials may be sent without TLS{' to ' + where if where else ''} "
                 f"{span} (a `connect` to another server asks again); "
                 "anyone on the path can read them")


def abort(ctx, parsed: Parsed) -> None:
    ctx.info("abort: no command is running", InfoKind.INFO)
