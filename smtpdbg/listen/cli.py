"""``smtpdbg listen``: run the debugging server; the app on a terminal, else print every session.

Without a terminal, or with ``--print``, every connection's transcript is printed
in the text notation, each line marked with its connection (``[3]  -> MAIL
FROM:<a@b>``), until Ctrl-C or SIGTERM. ``--json`` first prints the endpoints as
one JSON line. ``--hold`` plays the server: each client command waits for an
answer typed on stdin (:mod:`smtpdbg.listen.play`) or in the app.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

from smtpdbg.core import values

EPILOG = """\
play the server (--hold), at the prompt:
  reply CODE [TEXT]   send this reply (a bare code takes the catalog's text; | separates lines)
  default             what a normal server would say
  drop                close the connection without a reply
  stall SECONDS       wait, then the default reply
  advertise KW, ...   the EHLO keywords offered from now on
  @N ANSWER           answer connection N (else the oldest held command)
rules: docs/listen.md"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtpdbg listen", description="A debugging SMTP/LMTP server on loopback that shows every session.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=2525, metavar="N",
                        help="SMTP port, STARTTLS offered (default 2525; 0: any free port)")
    parser.add_argument("--smtps", type=_port, default=None, metavar="N",
                        help="also listen for implicit TLS on this port (0: any free port)")
    parser.add_argument("--lmtp", metavar="PATH", help="also speak LMTP on this unix socket")
    parser.add_argument("--unix", metavar="PATH", help="also speak SMTP on this unix socket")
    parser.add_argument("--no-tls", action="store_true", help="offer no STARTTLS (and no --smtps)")
    parser.add_argument("--hostname", default="smtpdbg.listen", help="the name in the banner and EHLO reply")
    parser.add_argument("--advertise", metavar="KW,KW", help="EHLO keywords to offer, comma-separated")
    parser.add_argument("--auth", action="store_true",
                        help="offer AUTH PLAIN and LOGIN and accept any user name and password")
    parser.add_argument("--rules", metavar="FILE", help="answer by the rules in this TOML file (reread on save)")
    parser.add_argument("--hold", action="store_true", help="play the server: every command waits for your answer")
    parser.add_argument("--maildir", metavar="DIR", help="store each delivered message in this Maildir")
    parser.add_argument("--mbox", metavar="FILE", help="append each delivered message to this mbox file")
    parser.add_argument("--print", dest="print_", action="store_true", help="print the sessions instead of the app")
    parser.add_argument("--json", action="store_true", help="print the endpoints as one JSON line first (implies --print)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour the transcript")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run until interrupted; 0 after Ctrl-C/SIGTERM (or the end of stdin with --hold), 1 when it cannot start."""
    args = build_parser().parse_args(argv)
    if not _loopback(args.host):
        print(f"smtpdbg listen: {args.host} is not a loopback address", file=sys.stderr)
        return 2
    from smtpdbg.listen.answers import parse_keywords
    from smtpdbg.listen.mailbox import Mailbox
    from smtpdbg.listen.rules import RuleBook, RuleError
    from smtpdbg.listen.server import ListenConfig, ListenServer

    try:
        rules = RuleBook(args.rules) if args.rules else None
        mailbox = Mailbox(maildir=args.maildir, mbox=args.mbox)
    except (OSError, RuleError, UnicodeDecodeError) as error:
        print(f"smtpdbg listen: {args.rules or 'mailbox'}: {error}", file=sys.stderr)
        return 1
    config = ListenConfig(host=args.host, port=args.port, smtps_port=args.smtps, lmtp=args.lmtp, unix=args.unix,
                          tls=not args.no_tls, hostname=args.hostname, hold=args.hold,
                          auth=args.auth)
    if args.advertise:
        config.keywords = parse_keywords(args.advertise)
    terminal = sys.stdout.isatty() and sys.stdin.isatty()
    if terminal and not (args.print_ or args.json):
        from smtpdbg.listen.app import run_listen_app

        return run_listen_app(config, rules, mailbox)
    from smtpdbg.listen.printer import Printer

    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    printer = Printer(color=color)
    server = ListenServer(config, rules=rules, mailbox=mailbox, on_connection=printer.follow,
                          on_held=printer.held if args.hold else None, on_message=printer.message)
    try:
        endpoints = server.start()
    except OSError as error:
        print(f"smtpdbg listen: cannot start: {error}", file=sys.stderr)
        return 1
    from smtpdbg.sandbox.cli import on_stop_signals

    stop = threading.Event()
    previous = on_stop_signals(stop)
    try:
        if args.json:
            printer.write(json.dumps(endpoints))
        else:
            printer.write("smtpdbg listen: " + ", ".join(f"{k} {v}" for k, v in endpoints.items() if v)
                          + "; Ctrl-C stops it.")
        if args.hold and terminal:  # a terminal (--print): a prompt that completes answers from the catalog
            from smtpdbg.listen.prompt import play_prompt

            threading.Thread(target=play_prompt, args=(server, printer, stop), daemon=True).start()
        elif args.hold:
            from smtpdbg.listen.play import play_lines

            threading.Thread(target=play_lines, args=(server, printer, sys.stdin, stop), daemon=True).start()
        while not stop.wait(0.5):
            printer.rules(rules)
    except KeyboardInterrupt:
        pass
    finally:
        import signal

        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    return 0


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_port = values.argparse_type(values.port)
