"""Handlers that open, upgrade and close the connection: connect, reconnect, starttls, quit, close, timeouts.

Each handler runs on the session thread with a :class:`~smtpdbg.core.context.HandlerContext` and the parsed
command, and returns the :class:`~smtpdbg.core.handlers.common.Reply` it ended with (``None`` for a local command).
Exceptions are left to the session, which classifies them.
"""

from __future__ import annotations

from smtpdbg.core.errors import CommandError
from smtpdbg.core.handlers.common import Reply, reply_of, smtp_of
from smtpdbg.core.parser import Parsed
from smtpdbg.core.target import Target, TargetError, parse_target


def make_smtp(session, target: Target):
    import socket

    from smtpdbg.core.traced import TracedLMTP, TracedSMTP, TracedSMTP_SSL

    options = session.options

    def tls_context():
        """Built on first use (STARTTLS or SMTPS): loading the trust store costs ~17 ms."""
        if session.tls_context is None:
            from smtpdbg.core.tls import build_context

            try:
                session.tls_context = build_context(
                    ca=options.ca, insecure=options.insecure, cert=options.tls_cert, key=options.tls_key,
                    min_version=options.tls_min, max_version=options.tls_max, ciphers=options.tls_ciphers,
                    keylog=options.tls_keylog)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot set up TLS: {getattr(exc, 'strerror', None) or exc}") from None
        return session.tls_context

    cls = {"smtp": TracedSMTP, "smtps": TracedSMTP_SSL, "lmtp": TracedLMTP}[target.transport]
    if target.port is None and (target.transport == "smtp" or target.host.startswith("|")):
        from smtpdbg.core.pipe import local_class  # SMTP over a unix socket, or a child process's stdin/stdout

        cls = local_class(target.transport)
    family = {4: socket.AF_INET, 6: socket.AF_INET6}.get(options.ip_version or 0, socket.AF_UNSPEC)
    proxy = None
    if options.proxy_header:
        proxy = (options.proxy_header, options.proxy_source or ("192.0.2.1", 40000))
    smtp = cls(
        local_hostname=options.local_hostname,
        timeout=options.timeout,
        source_address=options.source_address,
        transcript=session.transcript,
        debug_to_stderr=False,  # set_debuglevel output is shown in the transcript only
        limits=options.limits,
        tls_context=session.tls_context or tls_context,
        tls_name=options.tls_name,
        verify_name=options.tls_verify_name,
        proxy_header=proxy,
        family=family,
    )
    smtp.tls_cafile = options.ca
    smtp.set_debuglevel(session.debuglevel)
    return smtp


def open_target(ctx, target: Target) -> Reply:
    session = ctx.session
    old = session.smtp
    if old is not None and old.sock is not None:
        old.close_reason = "reconnecting"
        old.close()
    if session.options.insecure:
        ctx.warn("TLS certificate verification is OFF for this session (--insecure)")
    host, port = target.host, target.port or 0
    mx_note = ""
    if target.mx:
        host, mx_note, tls_name = _pick_exchanger(ctx, target)
    mapped = dict(session.options.ports).get(port)
    if mapped and target.port is not None:
        ctx.info(f"port {port} is reached on port {mapped} here (the lesson's sandbox)")
        port = mapped
    smtp = make_smtp(session, target)
    if target.mx and not session.options.tls_name:
        smtp.tls_name = tls_name  # verify the exchanger's name, not its address
    smtp.deadline = ctx.start + ctx.timeout
    session.smtp = smtp
    session.target = target
    session.mx = mx_note
    if ctx.job.aborted:  # aborted before the new object existed: Session.abort() reached the old one
        from smtpdbg.core.errors import CommandAborted

        raise CommandAborted("aborted by the user while connecting")
    return reply_of(smtp.connect(host, port))


def _pick_exchanger(ctx, target: Target) -> tuple[str, str, str]:
    from smtpdbg.core.mx import resolve_exchangers
    from smtpdbg.core.connecting import run_bounded

    deadline = ctx.start + ctx.timeout
    exchangers = run_bounded(
        lambda: resolve_exchangers(target.host, server=ctx.session.options.dns_server, deadline=deadline),
        deadline=deadline, aborted=lambda: ctx.job.aborted, what=f"looking up the mail exchangers of {target.host} (DNS)")
    for number, mx in enumerate(exchangers, 1):
        label = "implicit MX (no MX record): the domain itself" if mx.implicit else f"preference {mx.preference}"
        marker = "→" if number == target.mx else " "
        ctx.info(f"{marker} MX #{number} {mx.host} ({label}): {', '.join(mx.addresses) or 'no address'}")
    if target.mx > len(exchangers):
        raise CommandError(f"{target.host} has {len(exchangers)} exchanger(s); there is no #{target.mx}")
    chosen = exchangers[target.mx - 1]
    if not chosen.addresses:
        raise CommandError(f"{chosen.host} has no address" + _next_mx(target, exchangers))
    if target.mx < len(exchangers):
        ctx.info(f"if this one fails: connect {Target('smtp', target.host, 25, mx=target.mx + 1)}")
    note = f"{chosen.host} ({'implicit' if chosen.implicit else f'preference {chosen.preference}'}) " \
           f"#{target.mx} of {len(exchangers)} for {target.host}, at {chosen.addresses[0]}"
    return chosen.addresses[0], note, chosen.host


def _next_mx(target: Target, exchangers) -> str:
    if target.mx < len(exchangers):
        return f"; try the next: connect {Target('smtp', target.host, 25, mx=target.mx + 1)}"
    return ""


def connect(ctx, parsed: Parsed) -> Reply:
    text = parsed.arg("target")
    if text:
        try:
            target = parse_target(text)
        except TargetError as exc:
            raise CommandError(str(exc)) from None
    elif ctx.session.target is not None:
        target = ctx.session.target
    else:
        raise CommandError("connect needs a TARGET (host[:port], smtps://host:port, lmtp:///path)")
    return open_target(ctx, target)


def reconnect(ctx, parsed: Parsed) -> Reply:
    if ctx.session.target is None:
        raise CommandError("nothing to reconnect to: use connect TARGET")
    return open_target(ctx, ctx.session.target)


def starttls(ctx, parsed: Parsed) -> Reply:
    smtp = smtp_of(ctx)
    return reply_of(smtp.starttls(keyfile=parsed.opt("key"), certfile=parsed.opt("cert"), force=bool(parsed.opt("force"))))


def quit_(ctx, parsed: Parsed) -> Reply:
    return reply_of(smtp_of(ctx).quit())


def close(ctx, parsed: Parsed) -> None:
    smtp = ctx.session.smtp
    if smtp is None or smtp.sock is None:
        ctx.info("not connected")
        return None
    smtp.close()
    return None


def set_debuglevel(ctx, parsed: Parsed) -> None:
    level = int(float(parsed.arg("level")))
    ctx.session.debuglevel = level
    if ctx.session.smtp is not None:
        ctx.session.smtp.set_debuglevel(level)
    ctx.info(f"smtplib debuglevel = {level}")


def timeout(ctx, parsed: Parsed) -> None:
    from dataclasses import replace

    value = parsed.arg("seconds")
    session = ctx.session
    if value is not None:
        seconds = float(value)
        if seconds <= 0:
            raise CommandError("the timeout must be more than 0 seconds")
        session.options = replace(session.options, timeout=seconds)
    ctx.info(f"command timeout: {session.options.timeout:g} s")
