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
import shutil
import sys

from smtpdbg import __version__
from smtpdbg.core import values

SUBCOMMANDS = ("run", "repl", "sandbox", "tui", "diff", "learn", "send", "web", "listen", "trace", "proxy")


from smtpdbg.cli_options import Resolved, add_connection_options, apply_profile, die, resolve  # noqa: E402,F401 - used below and by others


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
    parser.add_argument("--target", "-t", metavar="TARGET", help="server to run against (default: the embedded sandbox); the forms `smtpdbg --help` lists")
    parser.add_argument("--keep-going", action="store_true", help="continue after a failed command")
    parser.add_argument("--drop", action="store_true",
                        help="when the run stops (a failure, or the script ends without quit), close the connection "
                             "without QUIT (by default QUIT is sent while the connection is usable, as swaks does)")
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
    output.add_argument("--output", "-o", action="append", metavar="FILE", help="file for the matching --export (mode 0600); - is standard output "
                        "(the transcript then goes to standard error)")
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
    if len(exports) > len(outputs):
        parser.error("each --export FORMAT needs its own --output FILE (- for standard output)")
    if len(outputs) > len(exports):
        parser.error("each --output FILE names where an --export FORMAT goes: give the format too "
                     "(e.g. --export jsonl --output -)")
    for fmt in exports:
        if fmt not in FORMATS:
            parser.error(f"--export {fmt}: use one of {', '.join(FORMATS)}")
    try:
        break_on = parse_break_on(args.break_on)
    except ValueError as exc:
        parser.error(str(exc))
    interrupt_once()
    resolved = resolve(args, args.target)
    try:
        return run_script(args.script, resolved.target, resolved.options, color=args.color,
                          timestamps=args.timestamps or "", keep_going=args.keep_going, step=args.step,
                          drop=args.drop, break_on=break_on, exports=list(zip(exports, outputs)), compare=args.compare)
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


def target_forms() -> str:
    """The TARGET forms, one a line, for ``--help``."""
    from smtpdbg.core.target import TARGET_FORMS

    return "TARGET forms (the app's connect, `run --target` and `repl` take the same):\n" + "\n".join(
        f"  {example:<30} {meaning}" for example, meaning in TARGET_FORMS)


def _app_parser(prog: str = "smtpdbg") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Interactive SMTP protocol debugger. With no TARGET, opens a session on the embedded sandbox.",
        epilog=f"{target_forms()}\n\n"
               "subcommands: smtpdbg send [TO...] [SERVER] | smtpdbg run SCRIPT | smtpdbg repl [TARGET] |\n"
               "  smtpdbg learn [--repl] [ID] | smtpdbg diff A.jsonl B.jsonl | smtpdbg sandbox [--json] | "
               "smtpdbg web [--lesson ID] |\n"
               "  smtpdbg listen [--rules FILE] | smtpdbg proxy --listen ADDR --upstream TARGET | "
               "smtpdbg trace -- COMMAND",
    )
    parser.add_argument("target", nargs="?", help="where to connect (forms below)")
    parser.add_argument("--version", action="version", version=f"smtpdbg {__version__}")
    add_connection_options(parser)
    return parser


def main_app(argv: list[str]) -> int:
    args = _app_parser().parse_args(argv)
    if not _terminal():
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
        profile = getattr(args, "applied_profile", None)
        startup = profile.startup(resolved.target.transport) if profile is not None and resolved.target else None
        return run_app(resolved.target, resolved.options, embedded=resolved.target is None, startup=startup)
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
        interrupt_once()
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
    parser.add_argument("--timeout", type=values.argparse_type(values.timeout), default=30.0, metavar="SECONDS", help="per command (default 30)")
    parser.add_argument("--local-hostname", metavar="NAME", help="name for a bare HELO/EHLO")
    args = parser.parse_args(argv)
    from smtpdbg.core.lessons import LessonError, find_lesson, lesson_options, lesson_target, load_lessons

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
    if not args.repl and not _terminal():
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
    options = lesson_options(SessionOptions(timeout=args.timeout, local_hostname=args.local_hostname, mailbox=sandbox),
                             endpoints)
    try:
        if args.repl:
            from smtpdbg.repl.lesson import run_lesson

            if not sys.stdin.isatty():
                interrupt_once()
            return run_lesson(lesson_target(lesson, endpoints), options, lesson, color=args.color,
                              password=endpoints.password)
        from smtpdbg.tui.app import run_app

        return run_app(lesson_target(lesson, endpoints), options, lesson=lesson)
    finally:
        sandbox.stop()


def _terminal() -> bool:
    """The app can draw: stdin and stdout are a terminal, or a Textual driver is named (`smtpdbg web`'s sessions)."""
    import os

    return bool(os.environ.get("TEXTUAL_DRIVER")) or (sys.stdin.isatty() and sys.stdout.isatty())


_PROCESS = False
"""This is the console script's own process (signal handlers may be installed), not a caller in Python."""


def main(argv: list[str] | None = None) -> int:
    """The ``smtpdbg`` console script: never a traceback (see :func:`smtpdbg.core.crash.guarded`)."""
    from smtpdbg.core.crash import guarded

    global _PROCESS
    process = argv is None
    _PROCESS = _PROCESS or process
    return guarded(_main, list(sys.argv[1:] if argv is None else argv), process=process)


def interrupt_once() -> None:
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
        if command == "web":
            from smtpdbg.web import main as main_web

            return main_web(rest)
        if command in ("listen", "trace", "proxy"):
            from importlib import import_module

            return import_module(f"smtpdbg.{command}.cli").main(rest)
        if command == "sandbox":
            from smtpdbg.sandbox.cli import main as sandbox_main

            return sandbox_main(rest)
        return main_app(rest)
    return main_app(argv)
