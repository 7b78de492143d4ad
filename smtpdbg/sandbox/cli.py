"""``smtpdbg sandbox``: run the sandbox server on its own until Ctrl-C or SIGTERM.

Human mode prints the endpoints, the demo login and token and the CA file,
then one line per received message. ``--json`` is for a parent process: exactly one JSON
object line on stdout, flushed before serving, and nothing more on stdout
(message lines go to stderr). Both modes exit 0 on SIGINT/SIGTERM after
removing the CA file, the LMTP socket and the sandbox directory.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO

from smtpdbg.core import values
from smtpdbg.sandbox.model import DEFAULT_OAUTH_TOKEN, Endpoints, ReceivedMessage, SandboxConfig

if TYPE_CHECKING:
    from smtpdbg.sandbox.server import Sandbox


FAULTS_HELP = """\
recipients that provoke faults (any domain):
  reject@...    RCPT answered 550 5.1.1 (as is every --reject ADDR)
  greylist@...  RCPT answered 451 4.7.1 (as is every --greylist ADDR)
  full@...      RCPT answered 452 4.2.2 (LMTP: accepted, then 452 after the message)
  drop@...      accepted; after the final dot (or BDAT LAST) the connection is
                closed without a reply: the message was received, its outcome
                is unknown to the client
  delay@...     accepted; the reply after the final dot comes only after
                --reply-delay seconds (longer than a short client timeout)
a message with the header "X-Sandbox-Reject: yes" is refused after the final dot (554 5.6.0).
with --dsn:
  bounce@...    accepted; its delivery fails afterwards: a delivery status report goes to the sender
  later@...     accepted; its delivery is delayed: a "delayed" report goes to the sender
with --bare-lf both:
  ...@unpatched.HOSTNAME  the message is read by a server that ends lines at a bare LF (smuggling)
with --dns:       a DNS server on loopback: MX records for example.test, implicit.example.test,
                  nomail.example.test (null MX: its recipients get 556 5.1.10)
with --relay:     recipients outside HOSTNAME and example.test need AUTH (else 554 5.7.1)
with --provider-policy:  senders at spoofed., noptr., listed., nomail.example.test are refused at
                  RCPT (5.7.23, 5.7.25, 5.7.1, 5.7.27); a From: at bank.example.test after DATA (5.7.26)
with --strip-starttls:   one more port, through a middlebox that masks STARTTLS"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``smtpdbg sandbox``."""
    parser = argparse.ArgumentParser(
        prog="smtpdbg sandbox",
        description="Run the smtpdbg sandbox SMTP/SMTPS/LMTP server on loopback.",
        epilog=FAULTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON line with the endpoints on stdout, then log to stderr only",
    )
    parser.add_argument("--port-smtp", type=_port, default=0, metavar="N",
                        help="port of the plain listener (default 0: any free port)")
    parser.add_argument("--port-smtps", type=_port, default=0, metavar="N",
                        help="port of the implicit-TLS listener (default 0: any free port)")
    parser.add_argument("--no-lmtp", action="store_true", help="do not run the LMTP listener")
    parser.add_argument("--require-tls-auth", action="store_true",
                        help="offer AUTH on the plain listener only after STARTTLS")
    parser.add_argument("--reject", action="append", default=[], metavar="ADDR",
                        help="answer RCPT TO this address with 550 5.1.1 (repeatable)")
    parser.add_argument("--greylist", action="append", default=[], metavar="ADDR",
                        help="answer RCPT TO this address with 451 4.7.1 (repeatable)")
    parser.add_argument("--banner-delay", type=_seconds, default=0.0, metavar="SECONDS",
                        help="wait this long before sending the 220 banner")
    parser.add_argument("--reply-delay", type=_seconds, default=10.0, metavar="SECONDS",
                        help="how long a message for delay@... waits for its reply (default 10)")
    parser.add_argument("--advertise", action="append", default=[], metavar="KEYWORD",
                        help="extra EHLO keyword to advertise, e.g. DSN (repeatable)")
    parser.add_argument("--no-chunking", action="store_true",
                        help="do not offer CHUNKING/BINARYMIME (BDAT, RFC 3030)")
    parser.add_argument("--xclient", action="store_true",
                        help="offer and accept Postfix's XCLIENT and XFORWARD")
    parser.add_argument("--proxy-protocol", action="store_true",
                        help="expect a PROXY protocol v1/v2 header first on the SMTP and SMTPS ports")
    parser.add_argument("--oauth-token", type=_token, default=DEFAULT_OAUTH_TOKEN, metavar="TOKEN",
                        help="bearer token for AUTH XOAUTH2/OAUTHBEARER "
                             f"(default {DEFAULT_OAUTH_TOKEN!r}; '' turns OAuth off)")
    parser.add_argument("--client-ca", type=_pem_file, default=None, metavar="FILE",
                        help="ask TLS clients for a certificate and verify it against this CA (PEM)")
    parser.add_argument("--dsn", action="store_true",
                        help="offer DSN (RFC 3461) and put delivery reports (RFC 3464) in the sender's mailbox")
    parser.add_argument("--greylist-delay", type=_seconds, default=None, metavar="SECONDS",
                        help="accept a greylisted recipient when the same client and sender retry this much later")
    parser.add_argument("--max-recipients", type=int, default=0, metavar="N",
                        help="accept N recipients per transaction; more get 452 4.5.3 (default: no limit)")
    parser.add_argument("--max-messages", type=int, default=0, metavar="N",
                        help="accept N messages per connection; the next MAIL gets 421 4.7.0 (default: no limit)")
    parser.add_argument("--bare-lf", choices=("keep", "vulnerable", "reject", "both"), default="keep",
                        help="what a bare LF in a message does: kept as text (default), ends the line "
                             "(vulnerable to SMTP smuggling), refused (550 5.5.2), or both servers")
    parser.add_argument("--dns", action="store_true",
                        help="run a DNS server on loopback with MX records to try `mx:` targets on (--dns of smtpdbg)")
    parser.add_argument("--relay", action="store_true",
                        help="relay to other domains only after AUTH: 554 5.7.1 Relay access denied otherwise")
    parser.add_argument("--provider-policy", action="store_true",
                        help="refuse some sender domains as Gmail, Microsoft and Postfix do (SPF, PTR, DMARC, ...)")
    parser.add_argument("--strip-starttls", action="store_true",
                        help="also listen behind a middlebox that strips STARTTLS from the plain listener")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also show aiosmtpd's own log on stderr")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Turn parsed options into a :class:`SandboxConfig`."""
    return SandboxConfig(
        smtp_port=args.port_smtp,
        smtps_port=args.port_smtps,
        lmtp=not args.no_lmtp,
        auth_require_tls=args.require_tls_auth,
        reject=frozenset(a.lower() for a in args.reject),
        greylist=frozenset(a.lower() for a in args.greylist),
        banner_delay=args.banner_delay,
        reply_delay=args.reply_delay,
        extra_extensions=tuple(args.advertise),
        chunking=not args.no_chunking,
        xclient=args.xclient,
        proxy_protocol=args.proxy_protocol,
        oauth_token=args.oauth_token,
        client_ca=args.client_ca,
        dsn=args.dsn,
        greylist_delay=args.greylist_delay,
        max_recipients=max(0, args.max_recipients),
        max_messages=max(0, args.max_messages),
        bare_lf=args.bare_lf,
        dns=args.dns,
        relay=args.relay,
        provider_policy=args.provider_policy,
        strip_starttls=args.strip_starttls,
    )


def endpoints_json(ep: Endpoints) -> str:
    """The one-line JSON description of the endpoints that ``--json`` prints."""
    info = {
        "smtp": f"{ep.smtp[0]}:{ep.smtp[1]}",
        "smtps": f"{ep.smtps[0]}:{ep.smtps[1]}",
        "lmtp": ep.lmtp,
        "user": ep.user,
        "password": ep.password,
        "ca": ep.ca_path,
        "oauth_token": ep.oauth_token,
    }
    for key, value in _lesson_helpers(ep):  # only when asked for (--dns, --strip-starttls)
        info[key] = value
    return json.dumps(info)


HELPER_LABELS = {"dns": "DNS (UDP)", "stripped": "SMTP, stripped"}


def _lesson_helpers(ep: Endpoints) -> list[tuple[str, str]]:
    helpers = [("dns", ep.dns)] if ep.dns else []
    return helpers + ([("stripped", f"{ep.stripped[0]}:{ep.stripped[1]}")] if ep.stripped else [])


def describe_endpoints(ep: Endpoints) -> str:
    """The human-readable start-up text."""
    lmtp = ep.lmtp or "(off)"
    oauth = f"{ep.oauth_token}  (AUTH XOAUTH2, OAUTHBEARER)" if ep.oauth_token else "(off)"
    return "\n".join([
        f"smtpdbg sandbox ({ep.hostname}) is running; Ctrl-C stops it.",
        f"  SMTP + STARTTLS  {ep.smtp[0]}:{ep.smtp[1]}",
        f"  SMTPS            {ep.smtps[0]}:{ep.smtps[1]}",
        f"  LMTP             {lmtp}",
        f"  login            {ep.user} / {ep.password}  (AUTH PLAIN, LOGIN, CRAM-MD5)",
        f"  OAuth token      {oauth}",
        f"  CA certificate   {ep.ca_path}",
        *(f"  {HELPER_LABELS[key]:<16} {value}" for key, value in _lesson_helpers(ep)),
    ])


def describe_message(message: ReceivedMessage) -> str:
    """One log line for a received message: listener, sender, recipients, size."""
    sender = message.mail_from or "<>"
    return (f"[{message.listener}] from {sender} to {', '.join(message.rcpt_tos)} "
            f"({len(message.content)} bytes)")


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until SIGINT or SIGTERM.

    Returns:
        0 after a signal, 1 if the sandbox could not start, 2 on bad options.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help and usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    from smtpdbg.sandbox.server import Sandbox  # aiosmtpd only after parsing

    log_stream: TextIO = sys.stderr if args.json else sys.stdout
    if args.verbose:
        _show_mail_log()

    def on_message(message: ReceivedMessage) -> None:
        print(describe_message(message), file=log_stream, flush=True)

    sandbox = Sandbox(config_from_args(args), on_message=on_message)
    try:
        endpoints = sandbox.start()
    except OSError as error:
        print(f"smtpdbg sandbox: cannot start: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    # The handlers come before the endpoints are printed: a parent that reads them may send SIGTERM at once.
    previous = on_stop_signals(stop)
    try:
        if args.json:
            print(endpoints_json(endpoints), flush=True)
        else:
            print(describe_endpoints(endpoints), flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sandbox.stop()
    return 0


def on_stop_signals(stop: threading.Event) -> dict:
    """Make SIGTERM and SIGINT (Ctrl-C) set ``stop``; returns the handlers they replaced."""

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
    return previous


def _show_mail_log() -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.getLogger("mail.log").addHandler(handler)
    logging.getLogger("mail.log").setLevel(logging.INFO)


_port = values.argparse_type(values.port)
_seconds = values.argparse_type(values.seconds, high=3600)
_token = values.argparse_type(values.token)


def _pem_file(text: str) -> str:
    from pathlib import Path

    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    return text
