"""Command handlers: what each command of the language does to the smtplib session.

Each handler runs on the session thread, receives the parsed command and a
context (the session, the message body, the password if one was asked), and
returns the reply it got (or ``None`` for local commands). Exceptions are
left to the session, which classifies them.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import re
import smtplib
from dataclasses import dataclass
from typing import Callable

from smtpdbg.core.commands import ATTRIBUTES, COMMANDS, MECHANISMS, OAUTH_MECHANISMS, lookup
from smtpdbg.core.errors import CommandError
from smtpdbg.core.events import InfoKind
from smtpdbg.core.parser import ParseError, Parsed, unescape
from smtpdbg.core.secrets import answers_auth, guard_plaintext_auth, scrubbing_replies, sends_auth
from smtpdbg.core.target import Target, TargetError, parse_target


@dataclass(frozen=True, slots=True)
class Reply:
    """The reply a command ended with (and every reply it read)."""

    code: int
    text: str
    replies: tuple[tuple[int, str], ...] = ()
    ok: bool = True


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reply(result, *replies) -> Reply:
    code, text = result
    return Reply(code, _text(text), tuple((c, _text(t)) for c, t in replies) or ((code, _text(text)),))


def needs(session, parsed: Parsed):
    """What a frontend must collect first. No password is asked for a login the server cannot take yet
    (:func:`auth_after_tls`): the handler refuses it with the way forward instead."""
    from smtpdbg.core.session import Needs

    spec = parsed.spec
    body = spec.body and parsed.arg("file") is None
    secret = spec.secret and not parsed.opt("password_env") and not parsed.opt("token_env") and not session.options.password_env
    if secret and auth_after_tls(session.state):
        secret = False
    return Needs(body=body, secret=secret)


AUTH_AFTER_TLS = ("the server offers AUTH only after TLS (its EHLO lists STARTTLS but not AUTH): run `starttls`, "
                  "then `ehlo`, then log in again; nothing was sent and no password was asked")


def auth_after_tls(state) -> bool:
    """Whether the server's EHLO reply says AUTH comes only after TLS: STARTTLS advertised, AUTH not, no TLS yet."""
    return (state.connected and state.tls is None and state.ehlo_resp is not None
            and state.features.has("starttls") and not state.features.has("auth"))


def _smtp(ctx):
    smtp = ctx.session.smtp
    if smtp is None:
        raise smtplib.SMTPServerDisconnected("please run connect() first")
    return smtp


def _live(ctx):
    """The smtplib object of a connection that is still open (a closed one says "not connected", not "no AUTH")."""
    smtp = _smtp(ctx)
    if smtp.sock is None:
        raise smtplib.SMTPServerDisconnected("please run connect() first")
    return smtp


def _read_file(path: str, what: str = "send_message") -> bytes:
    from smtpdbg.core.body import FileBody

    return FileBody(path).read_all(what)


def _message(ctx, parsed: Parsed):
    """The message: typed lines (bytes), or a :class:`~smtpdbg.core.body.FileBody` streamed from disk."""
    path = parsed.arg("file")
    if path:
        from smtpdbg.core.body import FileBody

        max_body = parsed.opt("max_body")
        body = FileBody(path, max_body=int(max_body) if max_body is not None else None)
        _check_size(ctx, parsed, body)
        return body
    if ctx.body is None:
        raise CommandError(f"{parsed.name} needs a message: type its lines ended by a line with a single '.', or use @FILE")
    return ctx.body


def _env_label(name: str) -> str:
    """Name a missing variable, unless what was typed looks like a secret rather than a NAME."""
    if re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
        return f"the environment variable {name}"
    return "the environment variable named after --password-env/--token-env (a NAME such as SMTP_PASSWORD, " \
           "not the secret itself)"


def _password(ctx, parsed: Parsed) -> str:
    env = parsed.opt("password_env") or ctx.session.options.password_env
    if env:
        value = ctx.session.environ.get(env)
        if value is None:
            raise CommandError(f"{_env_label(env)} is not set (it should hold the password)")
        return value
    if ctx.secret is None:
        raise CommandError("a password is needed: it is asked with a masked prompt, or read from --password-env NAME")
    return ctx.secret


# -- connection -----------------------------------------------------------------------------
def _make_smtp(session, target: Target):
    import socket

    from smtpdbg.core.tls import build_context
    from smtpdbg.core.traced import TracedLMTP, TracedSMTP, TracedSMTP_SSL

    options = session.options

    def tls_context():
        """Built on first use (STARTTLS or SMTPS): loading the trust store costs ~17 ms."""
        if session._tls_context is None:
            try:
                session._tls_context = build_context(
                    ca=options.ca, insecure=options.insecure, cert=options.tls_cert, key=options.tls_key,
                    min_version=options.tls_min, max_version=options.tls_max, ciphers=options.tls_ciphers,
                    keylog=options.tls_keylog)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot set up TLS: {getattr(exc, 'strerror', None) or exc}") from None
        return session._tls_context

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
        tls_context=session._tls_context or tls_context,
        tls_name=options.tls_name,
        verify_name=options.tls_verify_name,
        proxy_header=proxy,
        family=family,
    )
    smtp.tls_cafile = options.ca
    smtp.set_debuglevel(session.debuglevel)
    return smtp


def _open(ctx, target: Target) -> Reply:
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
    smtp = _make_smtp(session, target)
    if target.mx and not session.options.tls_name:
        smtp.tls_name = tls_name  # verify the exchanger's name, not its address
    smtp.deadline = ctx.start + ctx.timeout
    session.smtp = smtp
    session.target = target
    session.mx = mx_note
    if ctx.job.aborted:  # aborted before the new object existed: Session.abort() reached the old one
        from smtpdbg.core.errors import CommandAborted

        raise CommandAborted("aborted by the user while connecting")
    return _reply(smtp.connect(host, port))


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
    return _open(ctx, target)


def reconnect(ctx, parsed: Parsed) -> Reply:
    if ctx.session.target is None:
        raise CommandError("nothing to reconnect to: use connect TARGET")
    return _open(ctx, ctx.session.target)


def starttls(ctx, parsed: Parsed) -> Reply:
    smtp = _smtp(ctx)
    return _reply(smtp.starttls(keyfile=parsed.opt("key"), certfile=parsed.opt("cert"), force=bool(parsed.opt("force"))))


def quit_(ctx, parsed: Parsed) -> Reply:
    return _reply(_smtp(ctx).quit())


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


# -- greeting ---------------------------------------------------------------------------------
def ehlo(ctx, parsed: Parsed) -> Reply:
    return _reply(_smtp(ctx).ehlo(parsed.arg("name") or ""))


def helo(ctx, parsed: Parsed) -> Reply:
    return _reply(_smtp(ctx).helo(parsed.arg("name") or ""))


def ehlo_or_helo_if_needed(ctx, parsed: Parsed) -> Reply | None:
    smtp = _smtp(ctx)
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
    return _reply((code, text))


def has_extn(ctx, parsed: Parsed) -> None:
    smtp = ctx.session.smtp
    name = parsed.arg("name")
    found = bool(smtp and smtp.has_extn(name))
    params = smtp.esmtp_features.get(name.lower(), "") if found else ""
    ctx.info(f"has_extn({name!r}) = {found}" + (f"  (parameters: {params})" if params else ""))


# -- authentication -----------------------------------------------------------------------
def run_auth(smtp, call: Callable):
    """Run an smtplib AUTH call; a failure on our side cancels the exchange and quotes no secret.

    smtplib encodes AUTH responses as ASCII; its ``UnicodeEncodeError`` names the
    offending character and its position in the response (a piece of the
    password). An undecodable challenge raises ``binascii.Error``. Either way,
    if the server was waiting for a response (after a 334), the exchange is
    cancelled with ``*`` (RFC 4954 §4): otherwise the next command would be taken
    for the response.
    """
    try:
        return call()
    except UnicodeEncodeError:
        error: Exception = CommandError(
            "the user name, password or token holds non-ASCII characters, which smtplib cannot send "
            "(it encodes AUTH responses as ASCII); nothing of the secret is shown here")
    except (binascii.Error, ValueError) as exc:
        error = exc
    finally:
        smtp.password = ""
    if smtp.sock is not None and smtp._masker.active and smtp.last_reply and smtp.last_reply[0] == 334:
        smtp.putcmd("*")
        smtp.getreply()
    raise error


def login(ctx, parsed: Parsed) -> Reply:
    smtp = _live(ctx)
    if auth_after_tls(ctx.session.state):
        raise CommandError(AUTH_AFTER_TLS)
    password = _password(ctx, parsed)
    guard_plaintext_auth(ctx, smtp, "the password (login: AUTH CRAM-MD5, PLAIN or LOGIN)")
    result = run_auth(smtp, lambda: smtp.login(parsed.arg("user"), password,
                                               initial_response_ok=not parsed.opt("no_initial_response")))
    return _reply(result)


def auth(ctx, parsed: Parsed) -> Reply:
    smtp = _live(ctx)
    if auth_after_tls(ctx.session.state):
        raise CommandError(AUTH_AFTER_TLS)
    mechanism = parsed.arg("mechanism").upper()
    if mechanism not in MECHANISMS:
        raise CommandError(f"smtpdbg speaks AUTH {', '.join(MECHANISMS)}; for {mechanism} use raw")
    if mechanism in OAUTH_MECHANISMS:
        from smtpdbg.core.extensions import oauth

        env = parsed.opt("token_env")
        if env:
            token = ctx.session.environ.get(env)
            if token is None:
                raise CommandError(f"{_env_label(env)} is not set (it should hold the bearer token)")
        else:
            token = _password(ctx, parsed)
        guard_plaintext_auth(ctx, smtp, f"the bearer token (AUTH {mechanism})")
        return oauth(ctx, parsed, mechanism, token)
    password = _password(ctx, parsed)
    # CRAM-MD5 sends no password, but its response lets an eavesdropper guess it offline: refused alike.
    guard_plaintext_auth(ctx, smtp, f"the password (AUTH {mechanism})")
    smtp.user = parsed.arg("user")
    smtp.password = password
    authobject = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
    result = run_auth(smtp, lambda: smtp.auth(mechanism, authobject,
                                              initial_response_ok=not parsed.opt("no_initial_response")))
    return _reply(result)


# -- envelope ---------------------------------------------------------------------------------
def _envelope(ctx, parsed: Parsed, verb: str, keyword: str, method) -> Reply:
    smtp = _smtp(ctx)
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
        return _reply(smtp.getreply())
    quoted = smtplib.quoteaddr(address)
    typed = address.strip()
    if quoted != (typed if typed.startswith("<") and typed.endswith(">") else f"<{typed}>"):
        ctx.warn(f"smtplib's quoteaddr() sends {quoted} for {address!r}; use --verbatim to send it as typed")
    if params and not smtp.does_esmtp:
        ctx.warn(f"smtplib drops {verb.upper()} parameters when the server did not answer EHLO (does_esmtp is False): "
                 f"{' '.join(params)} not sent; use --verbatim to send them anyway")
    return _reply(method(address, params))


def mail(ctx, parsed: Parsed) -> Reply:
    return _envelope(ctx, parsed, "mail", "FROM", _smtp(ctx).mail)


def rcpt(ctx, parsed: Parsed) -> Reply:
    return _envelope(ctx, parsed, "rcpt", "TO", _smtp(ctx).rcpt)


def _check_size(ctx, parsed: Parsed, body) -> None:
    """A file over the server's announced SIZE (RFC 1870 §4) is refused before anything is sent."""
    smtp = ctx.session.smtp
    if smtp is None or body.size is None or parsed.opt("over_size") or parsed.name not in ("data", "bdat"):
        return
    limit = (smtp.esmtp_features.get("size") or "").strip()
    if limit.isdigit() and int(limit) and body.size > int(limit):
        body.close()
        raise CommandError(f"{parsed.arg('file')} is {body.size:,} bytes and the server announced SIZE {int(limit):,} "
                           "(RFC 1870): it would refuse it; add --over-size to send it anyway")


def data(ctx, parsed: Parsed) -> Reply:
    smtp = _smtp(ctx)
    message = _message(ctx, parsed)
    if smtp.tracker.in_data:  # 354 already received (after a pipelined DATA): send the body only
        from smtpdbg.core.body import FileBody
        from smtpdbg.core.wire import prepare_body

        if isinstance(message, FileBody):
            smtp.send_body_stream(message)
        else:
            smtp.send_body(prepare_body(message))
        return _reply(smtp.read_final_replies(), *smtp.data_replies)
    result = smtp.data(message)
    return _reply(result, *smtp.data_replies)


def sendmail(ctx, parsed: Parsed) -> Reply:
    smtp = _smtp(ctx)
    message = _message(ctx, parsed)
    recipients = [a.strip() for a in parsed.arg("to_addrs").split(",") if a.strip()]
    if not recipients:  # smtplib would send MAIL, then report that "every recipient" was refused
        raise CommandError("sendmail needs at least one recipient (TO[,TO...])")
    refused = smtp.sendmail(parsed.arg("from_addr"), recipients, message,
                            parsed.opt("mail_option") or (), parsed.opt("rcpt_option") or ())
    for address, (code, text) in refused.items():
        ctx.warn(f"recipient refused: {address}: {code} {_text(text)}")
    return _reply(smtp.data_replies[-1] if smtp.data_replies else smtp.last_reply, *smtp.data_replies)


def send_message(ctx, parsed: Parsed) -> Reply:
    smtp = _smtp(ctx)
    raw = _read_file(parsed.arg("file"))
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not parsed.opt("to") and not _header_recipients(message):  # smtplib would send MAIL first
        raise CommandError(f"{parsed.arg('file')} has no To, Cc or Bcc recipient: name one with --to ADDRESS")
    refused = smtp.send_message(message, parsed.opt("from"), parsed.opt("to") or None,
                                parsed.opt("mail_option") or (), parsed.opt("rcpt_option") or ())
    for address, (code, text) in refused.items():
        ctx.warn(f"recipient refused: {address}: {code} {_text(text)}")
    return _reply(smtp.data_replies[-1] if smtp.data_replies else smtp.last_reply, *smtp.data_replies)


def _header_recipients(message) -> list[str]:
    """The addresses ``smtplib.send_message()`` would take from the headers (Resent-* when present)."""
    import email.utils

    resent = message.get_all("Resent-Date")
    prefix = "Resent-" if resent is not None and len(resent) == 1 else ""
    fields = [f for name in ("To", "Bcc", "Cc") for f in message.get_all(prefix + name, [])]
    return [address for _, address in email.utils.getaddresses([str(f) for f in fields]) if address]


def rset(ctx, parsed: Parsed) -> Reply:
    return _reply(_smtp(ctx).rset())


def noop(ctx, parsed: Parsed) -> Reply:
    return _reply(_smtp(ctx).noop())


# -- queries ------------------------------------------------------------------------------------
def verify(ctx, parsed: Parsed) -> Reply:
    return _reply(_smtp(ctx).verify(parsed.arg("address")))


def expn(ctx, parsed: Parsed) -> Reply:
    return _reply(_smtp(ctx).expn(parsed.arg("address")))


def help_(ctx, parsed: Parsed) -> Reply:
    smtp = _smtp(ctx)
    smtp.help(parsed.arg("topic") or "")
    return _reply(smtp.last_reply)


# -- raw ----------------------------------------------------------------------------------------
def _guard_line(ctx, smtp, data: bytes, how: str) -> None:
    """Refuse an AUTH line, or an answer to a 334, typed by hand on a connection without TLS (see guard_plaintext_auth)."""
    if smtp.sock is None:
        return  # sending fails with "not connected"
    if sends_auth(data):
        guard_plaintext_auth(ctx, smtp, f"an AUTH command typed with {how}")
    elif answers_auth(smtp, data):
        guard_plaintext_auth(ctx, smtp, f"an AUTH response typed with {how}", continuation=True)


def docmd(ctx, parsed: Parsed) -> Reply:
    smtp = _smtp(ctx)
    verb, args = parsed.arg("verb"), parsed.arg("args") or ""
    _guard_line(ctx, smtp, f"{verb} {args}".encode("utf-8", "replace"), "docmd")
    return _reply(smtp.docmd(verb, args))


def raw(ctx, parsed: Parsed) -> Reply | None:
    smtp = _smtp(ctx)
    try:
        payload = unescape(parsed.arg("data"))
    except ParseError as exc:
        raise CommandError(str(exc)) from None
    if not parsed.opt("no_crlf"):
        payload += b"\r\n"
    _guard_line(ctx, smtp, smtp._send_partial + payload, "raw")
    count = int(parsed.opt("replies", 1))
    smtp.send(payload)
    replies = [smtp.getreply() for _ in range(count)]
    if not replies:
        return None
    return _reply(replies[-1], *replies)


def pipeline(ctx, parsed: Parsed) -> Reply:
    smtp = _smtp(ctx)
    commands = [c.strip() for c in parsed.arg("commands").split(";") if c.strip()]
    if not commands:
        raise CommandError("pipeline needs commands separated by ';', e.g. MAIL FROM:<a@b>; RCPT TO:<c@d>; DATA")
    lines = [c.encode(smtp.command_encoding) + b"\r\n" for c in commands]
    _guard_line(ctx, smtp, b"".join(lines), "pipeline")
    if not smtp.has_extn("pipelining"):
        ctx.warn("the server did not advertise PIPELINING (RFC 2920): sending the group anyway")
    smtp.send_pipelined(lines)
    replies = []
    for command in commands:
        replies.append(smtp.getreply())
    for command, (code, text) in zip(commands, replies):
        ctx.info(f"pipelined {command.split(' ', 1)[0].upper()} → {code} {_text(text).splitlines()[0] if text else ''}")
    return _reply(replies[-1], *replies)


def drain(ctx, parsed: Parsed) -> Reply | None:
    smtp = _smtp(ctx)
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
    return _reply(replies[-1], *replies)


# -- tool -----------------------------------------------------------------------------------------
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
    if fmt not in FORMATS:
        raise CommandError(f"save knows {', '.join(FORMATS)}, not {fmt!r}")
    path = os.path.expanduser(parsed.arg("file"))
    recording = Recording.from_session(ctx.session)
    try:
        text = export(fmt, recording, path)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    commands = len(recording.dialogue.commands)
    ctx.info(f"saved {fmt} of {commands} command(s) to {path} ({len(text.encode()):,} bytes, owner-only)")


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
    if value:
        session.options = replace(session.options, allow_plaintext_auth=value == "allow")
        session.plaintext_auth_once = "granted" if value == "once" else ""
    once = getattr(session, "plaintext_auth_once", "")
    current = "allow" if session.options.allow_plaintext_auth else "once" if once == "granted" else "deny"
    if current == "deny":
        ctx.info("plaintext-auth deny: AUTH credentials are sent only inside TLS (the embedded sandbox excepted)")
    else:
        ctx.warn(f"plaintext-auth {current}: AUTH credentials may be sent without TLS "
                 f"{'for the rest of this session' if current == 'allow' else 'for the next AUTH exchange'}; "
                 "anyone on the path can read them")


def abort(ctx, parsed: Parsed) -> None:
    ctx.info("abort: no command is running", InfoKind.INFO)


def _extensions():
    from smtpdbg.core import extensions

    return extensions


HANDLERS: dict[str, Callable] = {
    "connect": connect, "reconnect": reconnect, "starttls": starttls, "quit": quit_, "close": close,
    "abort": abort, "set_debuglevel": set_debuglevel, "timeout": timeout,
    "ehlo": ehlo, "helo": helo, "ehlo_or_helo_if_needed": ehlo_or_helo_if_needed, "has_extn": has_extn,
    "login": login, "auth": auth,
    "mail": mail, "rcpt": rcpt, "data": data, "sendmail": sendmail, "send_message": send_message,
    "rset": rset, "noop": noop, "verify": verify, "expn": expn, "help": help_,
    "docmd": docmd, "raw": raw, "pipeline": pipeline, "drain": drain,
    "bdat": lambda ctx, parsed: _extensions().bdat(ctx, parsed),
    "xclient": lambda ctx, parsed: _extensions().xclient(ctx, parsed),
    "xforward": lambda ctx, parsed: _extensions().xforward(ctx, parsed),
    "show": show, "explain": explain, "?": commands_help, "save": save, "set": set_,
}
HANDLERS = {name: scrubbing_replies(handler) for name, handler in HANDLERS.items()}  # a server quoting a secret
