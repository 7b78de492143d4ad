"""Command-line entry point: parses arguments and imports the chosen frontend lazily.

``smtpdbg [TARGET]`` opens the Textual app (on the embedded sandbox when no
target is given); ``smtpdbg repl`` the line-mode REPL; ``smtpdbg run SCRIPT``
runs a script; ``smtpdbg sandbox`` runs the sandbox server on its own. Nothing
heavy is imported until a subcommand needs it, so ``--help`` and
``--version`` start instantly and ``run`` never loads a UI toolkit.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from smtpdbg import __version__

SUBCOMMANDS = ("run", "repl", "sandbox", "tui")


@dataclass
class Resolved:
    """A target and session options resolved from the command line (and a sandbox, if started)."""

    target: object
    options: object
    sandbox: object = None

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


def _source_address(text: str):
    host, _, port = text.rpartition(":") if text.count(":") == 1 or text.startswith("[") else (text, "", "0")
    host = host.strip("[]") or text
    try:
        return host, int(port or 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad source address {text!r}: use HOST or HOST:PORT") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def die(message: str) -> SystemExit:
    """Print ``smtpdbg: message`` and return the exit (status 2: bad usage) for the caller to raise."""
    print(f"smtpdbg: {message}", file=sys.stderr)
    return SystemExit(2)


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by the app, the REPL and ``run``."""
    group = parser.add_argument_group("connection")
    group.add_argument("--timeout", type=_positive, default=30.0, metavar="SECONDS",
                       help="wall-clock limit per command (default 30)")
    group.add_argument("--local-hostname", metavar="NAME", help="name for HELO/EHLO (default: this machine's FQDN)")
    group.add_argument("--source-address", type=_source_address, metavar="HOST[:PORT]", help="bind to this local address")
    group.add_argument("--ca", metavar="FILE", help="trust the CAs in this PEM file instead of the system store")
    group.add_argument("--insecure", action="store_true",
                       help="do NOT verify TLS certificates (shown as unverified everywhere)")
    group.add_argument("--password-env", metavar="NAME", help="read AUTH passwords from this environment variable")
    group.add_argument("--log", metavar="FILE", help="append every event to FILE as it happens (crash-safe session log)")


def resolve(args: argparse.Namespace, target_text: str | None) -> Resolved:
    """Parse the target (or start the embedded sandbox) and build session options.

    Raises:
        SystemExit: with a clear message for a bad target or CA file.
    """
    from smtpdbg.core.session import SessionOptions
    from smtpdbg.core.target import Target, TargetError, parse_target

    if args.ca and not os.path.isfile(args.ca):
        raise die(f"--ca {args.ca}: no such file")
    if args.log and not os.path.isdir(os.path.dirname(os.path.abspath(args.log))):
        raise die(f"--log {args.log}: its directory does not exist")
    options = SessionOptions(
        timeout=args.timeout,
        local_hostname=args.local_hostname,
        source_address=args.source_address,
        ca=args.ca,
        insecure=args.insecure,
        password_env=args.password_env,
        log=args.log,
    )
    if target_text:
        try:
            return Resolved(parse_target(target_text), options)
        except TargetError as exc:
            raise die(str(exc)) from None
    from dataclasses import replace

    from smtpdbg.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig())
    sandbox.start()
    host, port = sandbox.endpoints.smtp
    options = replace(options, ca=args.ca or sandbox.endpoints.ca_path)
    return Resolved(Target("smtp", host, port, sandbox=True), options, sandbox)


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smtpdbg run", description="Run a script of smtpdbg commands and print the transcript.")
    parser.add_argument("script", help="script file, or - for stdin")
    parser.add_argument("--target", "-t", metavar="TARGET", help="server to run against (default: the embedded sandbox)")
    parser.add_argument("--keep-going", action="store_true", help="continue after a failed command")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour the transcript")
    parser.add_argument("--timestamps", choices=("absolute", "delta"), help="prefix lines with a time")
    add_connection_options(parser)
    return parser


def main_run(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    from smtpdbg.runner import run_script

    resolved = resolve(args, args.target)
    try:
        return run_script(args.script, resolved.target, resolved.options, color=args.color,
                          timestamps=args.timestamps or "", keep_going=args.keep_going)
    finally:
        resolved.close()


def _app_parser(prog: str = "smtpdbg") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Interactive SMTP protocol debugger. With no TARGET, opens a session on the embedded sandbox.",
        epilog="subcommands: smtpdbg run SCRIPT | smtpdbg repl [TARGET] | smtpdbg sandbox [--json]",
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
    resolved = resolve(args, args.target)
    try:
        if run_app is None:
            print("smtpdbg: the interactive app is not available in this build; use `smtpdbg run` or `smtpdbg sandbox`.",
                  file=sys.stderr)
            return 2
        return run_app(resolved.target, resolved.options)
    finally:
        resolved.close()


def main_repl(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="smtpdbg repl", description="Line-mode SMTP session (prompt-toolkit).")
    parser.add_argument("target", nargs="?", help="server (default: the embedded sandbox)")
    add_connection_options(parser)
    args = parser.parse_args(argv)
    try:
        from smtpdbg.repl.main import run_repl
    except ImportError:
        print("smtpdbg: the REPL is not available in this build", file=sys.stderr)
        return 2
    resolved = resolve(args, args.target)
    try:
        return run_repl(resolved.target, resolved.options)
    finally:
        resolved.close()


def main(argv: list[str] | None = None) -> int:
    """The ``smtpdbg`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
        if command == "run":
            return main_run(rest)
        if command == "repl":
            return main_repl(rest)
        if command == "sandbox":
            from smtpdbg.sandbox.cli import main as sandbox_main

            return sandbox_main(rest)
        return main_app(rest)
    return main_app(argv)
