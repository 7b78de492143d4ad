"""Command-line entry point: parses arguments and imports the chosen frontend lazily.

``smtpdbg [TARGET]`` opens the Textual app (on the embedded sandbox when no
target is given); ``smtpdbg repl`` the line-mode REPL; ``smtpdbg run SCRIPT``
runs a script; ``smtpdbg learn [ID]`` lists or starts a guided lesson;
``smtpdbg sandbox`` runs the sandbox server on its own. Nothing
heavy is imported until a subcommand needs it, so ``--help`` and
``--version`` start instantly and ``run`` never loads a UI toolkit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from smtpdbg import __version__
from smtpdbg.core import values

SUBCOMMANDS = ("run", "repl", "sandbox", "tui", "diff", "learn", "send")


class Resolved:
    """A target and session options resolved from the command line (and a sandbox, if started)."""

    def __init__(self, target, options, sandbox=None) -> None:
        self.target = target
        self.options = options
        self.sandbox = sandbox

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


_source_address = values.argparse_type(values.source_address)
_proxy_source = values.argparse_type(values.ip_source)
_host_name = values.argparse_type(values.host_name)
_tls_name = values.argparse_type(values.tls_name)
_timeout = values.argparse_type(values.timeout)
_dns = values.argparse_type(values.dns_server)


def die(message: str) -> SystemExit:
    """Print ``smtpdbg: message`` and return the exit (status 2: bad usage) for the caller to raise."""
    print(f"smtpdbg: {message}", file=sys.stderr)
    return SystemExit(2)


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by the app, the REPL and ``run``."""
    group = parser.add_argument_group("connection")
    group.add_argument("--timeout", type=_timeout, default=30.0, metavar="SECONDS",
                       help="wall-clock limit per command (default 30)")
    group.add_argument("--local-hostname", type=_host_name, metavar="NAME", help="name for HELO/EHLO (default: this machine's FQDN)")
    group.add_argument("--source-address", type=_source_address, metavar="HOST[:PORT]", help="bind to this local address")
    group.add_argument("--ca", metavar="FILE", help="trust the CAs in this PEM file instead of the system store")
    group.add_argument("--insecure", action="store_true",
                       help="do NOT verify TLS certificates (shown as unverified everywhere)")
    group.add_argument("--password-env", metavar="NAME", help="read AUTH passwords from this environment variable")
    group.add_argument("--allow-plaintext-auth", action="store_true",
                       help="allow AUTH to send credentials on a connection without TLS (refused otherwise)")
    group.add_argument("--log", metavar="FILE", help="append every event to FILE as it happens (crash-safe session log)")
    family = group.add_mutually_exclusive_group()
    family.add_argument("-4", dest="ip_version", action="store_const", const=4, help="connect over IPv4 only")
    family.add_argument("-6", dest="ip_version", action="store_const", const=6, help="connect over IPv6 only")
    tls = parser.add_argument_group("TLS")
    tls.add_argument("--tls-sni", type=_tls_name, metavar="NAME", help="name to send as SNI (and verify), instead of the host")
    tls.add_argument("--tls-verify-name", type=_tls_name, metavar="NAME", help="name the certificate must match, when it differs from SNI")
    tls.add_argument("--tls-cert", metavar="FILE", help="client certificate (PEM) to present")
    tls.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert (if not in the same file)")
    tls.add_argument("--tls-min", choices=("1.0", "1.1", "1.2", "1.3"), help="lowest TLS version to accept")
    tls.add_argument("--tls-max", choices=("1.0", "1.1", "1.2", "1.3"), help="highest TLS version to offer")
    tls.add_argument("--tls-ciphers", metavar="STRING", help="OpenSSL cipher list (TLS 1.2 and below)")
    tls.add_argument("--tls-keylog", metavar="FILE", help="write TLS secrets to FILE for Wireshark (NSS key log format)")
    proxy = parser.add_argument_group("PROXY protocol")
    proxy.add_argument("--proxy-header", choices=("v1", "v2"), help="send a PROXY protocol header before the greeting")
    proxy.add_argument("--proxy-source", type=_proxy_source, metavar="ADDR:PORT",
                       help="the client address the PROXY header claims (default 192.0.2.1:40000)")
    parser.add_argument("--dns", type=_dns, metavar="SERVER[:PORT]", help="DNS server for mx: targets (default: the system resolver)")


def _check_tls_files(args: argparse.Namespace) -> None:
    """A CA file, client certificate or key that TLS could not use fails now, not at STARTTLS."""
    import ssl

    from smtpdbg.core.tls import load_client_cert

    if args.tls_key and not args.tls_cert:
        raise die("--tls-key needs --tls-cert: the key belongs to a client certificate")
    if args.ca:
        try:
            ssl.create_default_context(cafile=args.ca)
        except (OSError, ValueError) as exc:
            raise die(f"--ca {args.ca}: not a PEM file of CA certificates "
                      f"({getattr(exc, 'reason', None) or getattr(exc, 'strerror', None) or exc})") from None
    if args.tls_cert:
        try:
            load_client_cert(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), args.tls_cert, args.tls_key)
        except ValueError as exc:
            raise die(f"--tls-cert {args.tls_cert}: {exc}") from None
        except OSError as exc:
            files = args.tls_cert + (f" / --tls-key {args.tls_key}" if args.tls_key else "")
            raise die(f"--tls-cert {files}: not a usable certificate and key "
                      f"({getattr(exc, 'reason', None) or exc.strerror or exc})") from None


def resolve(args: argparse.Namespace, target_text: str | None, *, start_sandbox: bool = True) -> Resolved:
    """Parse the target (or start the embedded sandbox) and build session options.

    Raises:
        SystemExit: with a clear message for a bad target or CA file.
    """
    from smtpdbg.core.session import SessionOptions
    from smtpdbg.core.target import Target

    for flag, path in (("--ca", args.ca), ("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path and not os.path.isfile(path):
            raise die(f"{flag} {path}: no such file")
    if args.proxy_source and not args.proxy_header:
        raise die("--proxy-source needs --proxy-header v1|v2")
    if args.log and not os.path.isdir(os.path.dirname(os.path.abspath(args.log))):
        raise die(f"--log {args.log}: its directory does not exist")
    for flag, path in (("--log", args.log), ("--tls-keylog", args.tls_keylog)):
        if path:
            from smtpdbg.core.files import check_private

            try:
                check_private(path)  # created or tightened to 0600; another user's file is refused
            except OSError as exc:
                raise die(f"{flag} {path}: {exc.strerror or exc}") from None
    if args.tls_min and args.tls_max and float(args.tls_min) > float(args.tls_max):
        raise die(f"--tls-min {args.tls_min} is above --tls-max {args.tls_max}: no TLS version is left")
    _check_tls_files(args)
    if args.tls_ciphers:
        import ssl

        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(args.tls_ciphers)
        except ssl.SSLError:
            raise die(f"--tls-ciphers {args.tls_ciphers!r}: OpenSSL knows no cipher in that list") from None
    options = SessionOptions(
        timeout=args.timeout,
        local_hostname=args.local_hostname,
        source_address=args.source_address,
        ca=args.ca,
        insecure=args.insecure,
        password_env=args.password_env,
        allow_plaintext_auth=args.allow_plaintext_auth,
        log=args.log,
        ip_version=args.ip_version,
        tls_name=args.tls_sni,
        tls_verify_name=args.tls_verify_name,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_min=args.tls_min,
        tls_max=args.tls_max,
        tls_ciphers=args.tls_ciphers,
        tls_keylog=args.tls_keylog,
        proxy_header=args.proxy_header,
        proxy_source=args.proxy_source,
        dns_server=args.dns,
    )
    if target_text:
        try:
            return Resolved(values.target(target_text), options)
        except ValueError as exc:
            raise die(str(exc)) from None
    if not start_sandbox:
        return Resolved(None, options)
    from dataclasses import replace

    from smtpdbg.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig())
    sandbox.start()
    host, port = sandbox.endpoints.smtp
    options = replace(options, ca=args.ca or sandbox.endpoints.ca_path)
    return Resolved(Target("smtp", host, port, sandbox=True), options, sandbox)


def _run_parser() -> argparse.ArgumentParser:
    from smtpdbg.core.results import EXIT_MEANINGS

    statuses = "\n".join(f"  {status:<4} {meaning}" for status, meaning in EXIT_MEANINGS)
    parser = argparse.ArgumentParser(
        prog="smtpdbg run", description="Run a script of smtpdbg commands and print the transcript.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"exit status (the first problem decides it):\n{statuses}\n\n"
               "`smtpdbg repl` with stdin not a terminal is the same interpreter, going on after failures "
               "(as --keep-going),\nwith the same statuses.")
    parser.add_argument("script", help="script file, or - for stdin")
    parser.add_argument("--target", "-t", metavar="TARGET", help="server to run against (default: the embedded sandbox)")
    parser.add_argument("--keep-going", action="store_true", help="continue after a failed command")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour the transcript")
    parser.add_argument("--timestamps", choices=("absolute", "delta"), help="prefix lines with a time")
    steps = parser.add_argument_group("stepping")
    steps.add_argument("--step", action="store_true",
                       help="stop before each command: Enter runs it, s skips, c continues, q quits")
    steps.add_argument("--break-on", action="append", metavar="4xx|5xx|error",
                       help="stop after a command that got a 4xx/5xx reply or failed (repeatable, or comma-separated)")
    output = parser.add_argument_group("exports")
    output.add_argument("--export", action="append", metavar="FORMAT",
                        help="write the session as script, text, jsonl, python, swaks or html (with --output; repeatable)")
    output.add_argument("--output", "-o", action="append", metavar="FILE", help="file for the matching --export (mode 0600)")
    output.add_argument("--compare", metavar="A.jsonl",
                        help="compare this run with an earlier JSONL export; exit 13 when they differ")
    add_connection_options(parser)
    return parser


def main_run(argv: list[str]) -> int:
    parser = _run_parser()
    args = parser.parse_args(argv)
    from smtpdbg.core.export import FORMATS
    from smtpdbg.runner import run_script
    from smtpdbg.stepper import parse_break_on

    exports, outputs = args.export or [], args.output or []
    if len(exports) != len(outputs):
        parser.error("each --export FORMAT needs its own --output FILE")
    for fmt in exports:
        if fmt not in FORMATS:
            parser.error(f"--export {fmt}: use one of {', '.join(FORMATS)}")
    try:
        break_on = parse_break_on(args.break_on)
    except ValueError as exc:
        parser.error(str(exc))
    _interrupt_once()
    resolved = resolve(args, args.target)
    try:
        return run_script(args.script, resolved.target, resolved.options, color=args.color,
                          timestamps=args.timestamps or "", keep_going=args.keep_going, step=args.step,
                          break_on=break_on, exports=list(zip(exports, outputs)), compare=args.compare)
    finally:
        resolved.close()


def main_diff(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="smtpdbg diff", description="Show where two runs differ (JSONL exports): codes, extensions, certificate, "
                                         "recipients; timings that changed a lot are listed too.",
        epilog="exit status: 0 no differences, 1 differences, 2 a file cannot be read")
    parser.add_argument("a", metavar="A.jsonl")
    parser.add_argument("b", metavar="B.jsonl")
    args = parser.parse_args(argv)
    from smtpdbg.core.diff import diff_files, report
    from smtpdbg.core.render import safe_output

    try:
        result = diff_files(args.a, args.b)
    except (OSError, ValueError) as exc:
        print(safe_output(f"smtpdbg diff: {getattr(exc, 'strerror', None) or exc}"), file=sys.stderr)
        return 2
    for line in report(result, args.a, args.b):
        print(safe_output(line))
    return 0 if result.same else 1


def _app_parser(prog: str = "smtpdbg") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Interactive SMTP protocol debugger. With no TARGET, opens a session on the embedded sandbox.",
        epilog="subcommands: smtpdbg send [TO...] [SERVER] | smtpdbg run SCRIPT | smtpdbg repl [TARGET] | smtpdbg learn [--repl] [ID] | "
               "smtpdbg diff A.jsonl B.jsonl | smtpdbg sandbox [--json]",
    )
    parser.add_argument("target", nargs="?", help="host[:port], smtp://, smtps://, lmtp://host:port or /unix/socket")
    parser.add_argument("--version", action="version", version=f"smtpdbg {__version__}")
    add_connection_options(parser)
    return parser


def main_app(argv: list[str]) -> int:
    args = _app_parser().parse_args(argv)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("smtpdbg: the interactive app needs a terminal (stdin and stdout are not both a TTY).\n"
              "Use `smtpdbg run SCRIPT` for scripts or `smtpdbg repl` for a line-mode session.", file=sys.stderr)
        return 2
    try:
        from smtpdbg.tui.app import run_app
    except ImportError:
        run_app = None
    # The embedded sandbox starts inside the app, after the first frame.
    resolved = resolve(args, args.target, start_sandbox=False)
    try:
        if run_app is None:
            print("smtpdbg: the interactive app is not available in this build; use `smtpdbg run` or `smtpdbg sandbox`.",
                  file=sys.stderr)
            return 2
        return run_app(resolved.target, resolved.options, embedded=resolved.target is None)
    finally:
        resolved.close()


def main_repl(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="smtpdbg repl", description="Line-mode SMTP session (prompt-toolkit).")
    parser.add_argument("target", nargs="?", help="server (default: the embedded sandbox)")
    parser.add_argument("--vi", action="store_true", help="vi editing mode (default: emacs)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the transcript (auto honours NO_COLOR)")
    parser.add_argument("--history", metavar="FILE", help="history file (default: $SMTPDBG_HISTORY or ~/.local/state/smtpdbg/history)")
    parser.add_argument("--no-history", action="store_true", help="keep no history file")
    parser.add_argument("--explain", action="store_true",
                        help="after each reply, a dim line saying what it means (also: set explain on|off)")
    add_connection_options(parser)
    args = parser.parse_args(argv)
    try:
        from smtpdbg.repl.main import run_repl
    except ImportError:
        print("smtpdbg: the REPL is not available in this build", file=sys.stderr)
        return 2
    if not sys.stdin.isatty():
        _interrupt_once()
    resolved = resolve(args, args.target)
    try:
        return run_repl(resolved.target, resolved.options, vi=args.vi, color=args.color,
                        history=False if args.no_history else args.history, explain=args.explain)
    finally:
        resolved.close()


def main_learn(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="smtpdbg learn", description="Guided lessons on the embedded sandbox. Without ID, lists them.",
        epilog="Lessons are TOML files (docs/lessons.md); add your own directory with $SMTPDBG_LESSONS.")
    parser.add_argument("lesson", nargs="?", metavar="ID", help="the lesson to start")
    parser.add_argument("--repl", action="store_true", help="run it in the line-mode REPL instead of the app")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour (REPL)")
    parser.add_argument("--timeout", type=_timeout, default=30.0, metavar="SECONDS", help="per command (default 30)")
    parser.add_argument("--local-hostname", metavar="NAME", help="name for a bare HELO/EHLO")
    args = parser.parse_args(argv)
    from smtpdbg.core.lessons import LessonError, find_lesson, lesson_target, load_lessons

    try:
        lessons = load_lessons() if args.lesson is None else [find_lesson(args.lesson)]
    except LessonError as exc:
        raise die(str(exc)) from None
    if args.lesson is None:
        print("Guided lessons on the embedded sandbox. `smtpdbg learn ID` starts one in the app,\n"
              "`smtpdbg learn --repl ID` in line mode.\n")
        room = max(40, shutil.get_terminal_size((80, 24)).columns - 25)
        from smtpdbg.core.render import safe_output

        for lesson in lessons:  # lesson files may come from anywhere ($SMTPDBG_LESSONS): their text is escaped
            summary = " ".join(lesson.summary.split()).split(". ", 1)[0].rstrip(".")
            print(safe_output(f"  {lesson.id:<22} {lesson.title}"))
            if summary:
                print(safe_output(f"  {'':<22} {summary if len(summary) <= room else summary[:room - 1] + '…'}"))
        return 0
    [lesson] = lessons
    if not args.repl and not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("smtpdbg: the interactive app needs a terminal; `smtpdbg learn --repl ID` runs the lesson in line mode "
              "(and reads commands from a pipe).", file=sys.stderr)
        return 2
    from smtpdbg.core.session import SessionOptions
    from smtpdbg.sandbox import Sandbox, SandboxConfig

    try:
        sandbox = Sandbox(SandboxConfig(**lesson.sandbox))
    except (TypeError, ValueError) as exc:
        raise die(f"lesson {lesson.id}: its [sandbox] settings are not usable: {exc}") from None
    endpoints = sandbox.start()
    options = SessionOptions(timeout=args.timeout, local_hostname=args.local_hostname, ca=endpoints.ca_path)
    try:
        if args.repl:
            from smtpdbg.repl.lesson import run_lesson

            if not sys.stdin.isatty():
                _interrupt_once()
            return run_lesson(lesson_target(lesson, endpoints), options, lesson, color=args.color,
                              password=endpoints.password)
        from smtpdbg.tui.app import run_app

        return run_app(lesson_target(lesson, endpoints), options, lesson=lesson)
    finally:
        sandbox.stop()


_PROCESS = False
"""This is the console script's own process (signal handlers may be installed), not a caller in Python."""


def main(argv: list[str] | None = None) -> int:
    """The ``smtpdbg`` console script: never a traceback (see :func:`smtpdbg.core.crash.guarded`)."""
    from smtpdbg.core.crash import guarded

    global _PROCESS
    process = argv is None
    _PROCESS = _PROCESS or process
    return guarded(_main, list(sys.argv[1:] if argv is None else argv), process=process)


def _interrupt_once() -> None:
    """In the console script's process: a second Ctrl-C quits at once (no traceback from the clean-up)."""
    if _PROCESS:
        from smtpdbg.core.crash import interrupt_once

        interrupt_once()


def _main(argv: list[str]) -> int:
    if argv == ["--version"]:  # answered before any parser is built: scripts call it often
        print(f"smtpdbg {__version__}")
        return 0
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
        if command == "run":
            return main_run(rest)
        if command == "repl":
            return main_repl(rest)
        if command == "diff":
            return main_diff(rest)
        if command == "learn":
            return main_learn(rest)
        if command == "send":
            from smtpdbg.send import main as main_send

            return main_send(rest)
        if command == "sandbox":
            from smtpdbg.sandbox.cli import main as sandbox_main

            return sandbox_main(rest)
        return main_app(rest)
    return main_app(argv)
