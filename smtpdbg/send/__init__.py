"""``smtpdbg send``: one message (or a stop at a stage) from the command line, swaks-style.

The flags (:mod:`smtpdbg.send.args`, swaks's own spellings accepted, and
``--from-swaks 'swaks ...'``) make a :class:`~smtpdbg.send.plan.Plan`; its
commands run on one core :class:`~smtpdbg.core.session.Session` through the
core's script interpreter (:mod:`smtpdbg.core.interp`), as a script would;
the transcript is printed as ``smtpdbg run`` prints it
(:mod:`smtpdbg.send.output`), then the result for each recipient from the
core's ledger. Nothing else is imported: no UI toolkit, no sandbox, no
exports; the ``email`` package only when a message is built.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    from smtpdbg import cli
    from smtpdbg.send.args import SwaksError, build_parser, expand_header_flags, from_swaks

    parser = build_parser(cli.add_connection_options)
    args = parser.parse_intermixed_args(expand_header_flags(argv))
    if args.from_swaks:
        try:
            converted = from_swaks(args.from_swaks)
        except SwaksError as exc:
            print(f"smtpdbg send: --from-swaks: {exc}", file=sys.stderr)
            return 1 if args.exit_codes != "smtpdbg" else 2
        rest = [word for word in argv if word != "--from-swaks" and word != args.from_swaks
                and not word.startswith("--from-swaks=")]
        codes = args.exit_codes or "swaks"
        args = parser.parse_intermixed_args(expand_header_flags(converted + rest))
        args.exit_codes = args.exit_codes or codes
    from smtpdbg.send.plan import PlanError

    cli.apply_profile(args, send=True)  # reads the config file only with --profile
    try:
        plan, options = make_plan(args, cli)
    except PlanError as exc:
        print(f"smtpdbg send: {exc}", file=sys.stderr)
        return 1 if args.exit_codes == "swaks" else 2
    cli.interrupt_once()
    try:
        return _run(plan, options, args)
    finally:
        plan.cleanup()


def _words(args) -> None:
    """Sort the positional words: addresses are recipients; |CMD, /PATH, or the server."""
    from smtpdbg.send.plan import PlanError

    for word in args.words:
        if word.startswith("|"):
            if args.pipe:
                raise PlanError(f"{word!r}: a command is given twice")
            args.pipe = word[1:].strip()
        elif word.startswith("/"):
            args.socket = word
        elif "@" in word and not word.startswith("["):
            args.to.append(word)
        else:
            if args.server:
                raise PlanError(f"{word!r}: the server is already {args.server!r} (an address needs an @)")
            args.server = word


_PROTOCOL = {  # helo verb, tls, auth, transport
    "SMTP": ("helo", None, False, None), "ESMTP": ("ehlo", None, False, None),
    "ESMTPA": ("ehlo", None, True, None), "ESMTPS": ("ehlo", "starttls", False, None),
    "ESMTPSA": ("ehlo", "starttls", True, None), "SMTPS": ("ehlo", "implicit", False, None),
    "SSMTP": ("ehlo", "implicit", False, None), "SSMTPA": ("ehlo", "implicit", True, None),
    "LMTP": ("ehlo", None, False, "lmtp"), "LMTPA": ("ehlo", None, True, "lmtp"),
}


def make_plan(args, cli):
    """The :class:`~smtpdbg.send.plan.Plan` and session options for parsed ``send`` arguments."""
    from dataclasses import replace

    from smtpdbg.core import values
    from smtpdbg.core.target import Target
    from smtpdbg.send.message import MessageError, Tokens, build, default_sender, literal_data, recipients
    from smtpdbg.send.plan import Plan, PlanError

    _words(args)
    helo, tls, auth, transport = _PROTOCOL.get(args.protocol or "ESMTP")
    tls = args.tls or tls
    if auth and args.auth is None:
        args.auth = ""
    to = recipients(args.to)
    if sum(bool(x) for x in (args.pipe, args.socket, args.server)) > 1:
        raise PlanError("give one of a server, --socket PATH and --pipe CMD")
    local = bool(args.pipe or args.socket)
    if args.pipe:
        target = Target(transport or "smtp", "|" + args.pipe, None)
    elif args.socket:
        target = Target(transport or "smtp", args.socket, None)
    elif args.server:
        try:
            target = values.target(args.server, transport=transport or "smtp")
        except ValueError as exc:
            raise PlanError(f"--server {args.server}: {exc}") from None
        port = args.port or (target.port if ":" in args.server.rsplit("]", 1)[-1] else None)
        if tls is None and port == 465 or target.transport == "smtps":
            tls = "implicit"
        default = {"implicit": 465, None: None}.get(tls, None) or {"lmtp": 24}.get(target.transport, 25)
        target = Target("smtps" if tls == "implicit" else target.transport, target.host, port or default,
                        mx=target.mx)
    elif to:
        domain = to[0].rsplit("@", 1)[-1].strip("<>")
        target = Target("smtps" if tls == "implicit" else "smtp", domain, args.port or (465 if tls == "implicit" else 25),
                        mx=1)
    else:
        raise PlanError("nothing to send to: give a recipient (-t ADDR), a server (-s HOST), --socket or --pipe")
    if args.auth is not None and not args.auth_user:
        raise PlanError("--auth needs --auth-user USER (the password comes from --password-env NAME, "
                        "$SMTPDBG_PASSWORD or a prompt)")
    if args.auth is not None and tls is None and not local:
        tls = "optional"  # credentials go under TLS when the server offers it
    stop = args.drop_after or args.quit_after
    if not to and (stop is None or stop in ("rcpt", "data")):
        raise PlanError("a recipient is needed (-t ADDR, or an address among the words), unless --quit-after stops "
                        "before RCPT")
    resolved = cli.resolve(args, None, start_sandbox=False)
    options = resolved.options
    if args.auth is not None and not options.password_env and "SMTPDBG_PASSWORD" in os.environ:
        options = replace(options, password_env="SMTPDBG_PASSWORD")
    sender = args.sender if args.sender is not None else default_sender()
    plan = Plan(target, tls=tls if tls != "implicit" else "", helo=helo, auth=args.auth.upper() if args.auth else args.auth,
                user=args.auth_user or "", sender=sender or "<>", to=to, quit_after=args.quit_after,
                drop_after=args.drop_after, pipelining=args.pipelining, bdat=args.bdat)
    if stop in (None, "data"):
        tokens = Tokens(sender, to, args.local_hostname)
        try:
            if args.data is not None and args.data.startswith("@"):
                if not os.path.isfile(args.data[1:]):
                    why = "not a regular file (a message file is streamed from disk)" if os.path.exists(args.data[1:]) \
                        else "no such file"
                    raise PlanError(f"--data {args.data}: {why}")
                plan.data_file = args.data[1:]
            elif args.data is not None:
                plan.message = literal_data(args.data, tokens)
            else:
                plan.message = build(sender, to, headers=args.header, add_headers=args.add_header, body=args.body,
                                     attachments=args.attach or [], tokens=tokens)
        except MessageError as exc:
            raise PlanError(str(exc)) from None
    return plan, options


def _run(plan, options, args) -> int:
    import getpass

    from smtpdbg.core.console import GuardedOutput, use_color
    from smtpdbg.core.interp import Interpreter
    from smtpdbg.core.render import failure_reason
    from smtpdbg.core.retention import ScriptTranscript
    from smtpdbg.core.session import Session
    from smtpdbg.send.codes import swaks_status
    from smtpdbg.send.output import Printer

    output = GuardedOutput(sys.stdout)
    silent = 3 if args.hide_all and args.silent < 3 else args.silent
    printer = Printer(output, color=use_color(args.color, sys.stdout), silent=silent, hide_send=args.hide_send,
                      hide_receive=args.hide_receive, hide_info=args.hide_informational,
                      suppress_data=args.suppress_data, hex_view=args.hex)
    interactive = sys.stdin.isatty()

    def ask(label: str) -> str | None:
        try:
            return getpass.getpass(f"password for {plan.user!r}: ")
        except EOFError:
            return None

    session = Session(plan.target, options, transcript=ScriptTranscript())
    plan.bind(session)
    session.subscribe(printer)
    keeper = None
    if args.tls_get_peer_cert:
        from smtpdbg.send.peercert import PeerCertKeeper

        keeper = PeerCertKeeper()
        session.subscribe(keeper)
    interpreter = Interpreter(session, environ={}, keep_going=True, ask_secret=ask if interactive else None,
                              on_outcome=plan.on_outcome, output=output)
    try:
        result = interpreter.run(plan.commands())
    finally:
        session.shutdown()
    state = session.state
    transaction = state.transaction or state.last_transaction
    if transaction is not None:
        for line in transaction.lines():
            printer.line(f"=== {line}")
    if keeper is not None:
        printer.line(f"=== {keeper.save(args.tls_get_peer_cert)}")
    first = result.failures[0] if result.failures else None
    for where, outcome, stage in result.failures:
        printer.line(f"*** FAILED at {stage}: {where.label}: {failure_reason(outcome)}", always=True)
    output.flush()
    if args.exit_codes == "swaks":
        accepted = sum(1 for r in transaction.recipients if r.accepted) if transaction else 0
        return swaks_status(first[2] if first else "", first[1] if first else None, accepted=accepted,
                            body_sent=bool(transaction and transaction.body_sent), interrupted=result.interrupted)
    return result.exit_code
