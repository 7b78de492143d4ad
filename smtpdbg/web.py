"""``smtpdbg web``: the app in a browser, served with ``textual-serve`` (a classroom with browsers, no terminals).

Each browser tab that opens the page gets its own ``smtpdbg`` process (and so
its own embedded sandbox): ``smtpdbg web`` serves the app, ``smtpdbg web
--lesson ID`` a guided lesson (as ``smtpdbg learn ID``). The server listens on
the loopback address unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys

DEFAULT_PORT = 8000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtpdbg web",
        description="Serve the app (or a lesson) to web browsers with textual-serve: every browser tab gets its own "
                    "session on its own embedded sandbox.",
        epilog="Open the printed address in a browser. Ctrl+C stops the server (and every session it serves).")
    parser.add_argument("--lesson", metavar="ID", help="serve this guided lesson (see `smtpdbg learn`)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--public-url", metavar="URL",
                        help="the address browsers use to reach this server (default http://HOST:PORT)")
    parser.add_argument("--title", help="the page's title (default: smtpdbg, or the lesson's title)")
    return parser


def app_command(lesson: str | None) -> list[str]:
    """The command each browser session runs: this Python's smtpdbg, the app or the lesson."""
    return [sys.executable, "-m", "smtpdbg", *(["learn", lesson] if lesson else [])]


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: use 1..65535")
    title = args.title or "smtpdbg"
    if args.lesson:
        from smtpdbg.core.lessons import LessonError, find_lesson

        try:
            title = args.title or f"smtpdbg: {find_lesson(args.lesson).title}"
        except LessonError as exc:
            print(f"smtpdbg web: {exc}", file=sys.stderr)
            return 2
    if not is_loopback(args.host):
        print(f"smtpdbg web: listening on {args.host}: anyone who can reach it gets an smtpdbg session on this "
              "machine (each with its own sandbox)", file=sys.stderr)
    try:
        from textual_serve.server import Server
    except ImportError:
        print("smtpdbg web: needs the textual-serve package (pip install textual-serve)", file=sys.stderr)
        return 2
    public_url = args.public_url
    if public_url is None and args.host.strip("[]") in ("0.0.0.0", "::"):  # every address: browsers need a name
        public_url = f"http://{socket.getfqdn()}:{args.port}"
        print(f"smtpdbg web: browsers will use {public_url} (--public-url URL to change it)", file=sys.stderr)
    server = Server(shlex.join(app_command(args.lesson)), host=args.host, port=args.port, title=title,
                    public_url=public_url)
    try:
        server.serve()
    except OSError as exc:
        print(f"smtpdbg web: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
