"""``smtpdbg trace [--log FILE] [--jsonl FILE] -- COMMAND...``: run a program, print its smtplib sessions.

The exit status is the program's (127 when it cannot be started).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TextIO

import smtpdbg
from smtpdbg.core.render import TextRenderer, safe_output
from smtpdbg.trace.child import ENV

SITECUSTOMIZE = '''\
"""Written by smtpdbg trace: trace smtplib in this process, then run the sitecustomize this one hides."""
import importlib, os, sys
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
_me = sys.modules.pop("sitecustomize")
try:
    importlib.import_module("sitecustomize")
except ImportError as error:
    if error.name != "sitecustomize":
        raise
finally:
    sys.modules.setdefault("sitecustomize", _me)  # the import that runs this one expects an entry
try:
    from smtpdbg.trace.child import install
    install()
except Exception as error:  # the program runs untraced rather than not at all
    sys.stderr.write(f"smtpdbg trace: not tracing: {error}\\n")
'''


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtpdbg trace", usage="smtpdbg trace [options] -- COMMAND [ARGS...]",
        description="Run a Python program with smtplib traced and print every SMTP session it opens.")
    parser.add_argument("--log", metavar="FILE", help="write the transcript to FILE instead of stdout")
    parser.add_argument("--jsonl", metavar="FILE", help="also write the events as JSON Lines to FILE")
    parser.add_argument("--print", dest="print_", action="store_true",
                        help="print the sessions (the default when stdout is not a terminal) instead of the app")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour the transcript")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the program to run, after --")
    return parser


class Collector:
    """Reads the streamed lines of every traced process; each (process, session) gets a number from 1."""

    def __init__(self, jsonl: TextIO | None = None) -> None:
        self.jsonl = jsonl
        self.lock = threading.Lock()
        self.labels: dict[tuple[int, int], int] = {}

    def feed(self, client: int, line: bytes) -> None:
        from smtpdbg.trace.stream import decode

        try:
            record = json.loads(line)
            session, event = decode(record)
        except (ValueError, KeyError, TypeError):
            return
        with self.lock:
            new = (client, session) not in self.labels
            label = self.labels.setdefault((client, session), len(self.labels) + 1)
            if self.jsonl is not None:
                record["session"] = label
                self.jsonl.write(json.dumps(record) + "\n")
            self.emit(label, event, new)

    def emit(self, label: int, event, new: bool) -> None:
        """Called (under the lock) for each event of session ``label``; ``new`` for its first."""


class Sink(Collector):
    """Renders streamed events, one renderer per session, each line marked with its session."""

    def __init__(self, out: TextIO, jsonl: TextIO | None, color: bool) -> None:
        super().__init__(jsonl)
        self.out, self.color = out, color
        self.renderers: dict[int, TextRenderer] = {}

    def emit(self, label: int, event, new: bool) -> None:
        renderer = self.renderers.setdefault(label, TextRenderer(color=self.color))
        for text in renderer.render(event):
            self.out.write(safe_output(f"[{label}] {text}", color=self.color) + "\n")
        self.out.flush()


def serve(server: socket.socket, sink: Collector, readers: list[threading.Thread]) -> None:
    """Accept the traced processes' connections (a program may start others) and read each on its own thread."""
    for client in range(1, 1_000_000):
        try:
            conn, _ = server.accept()
        except OSError:
            return

        def read(conn: socket.socket = conn, client: int = client) -> None:
            with conn, conn.makefile("rb") as stream:
                for line in stream:
                    sink.feed(client, line)

        reader = threading.Thread(target=read, daemon=True)
        readers.append(reader)
        reader.start()


def child_env(directory: Path, socket_path: str) -> dict[str, str]:
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    package_root = str(Path(smtpdbg.__file__).resolve().parent.parent)
    env = dict(os.environ)
    paths = [str(directory), package_root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[ENV] = socket_path
    return env


class Tracer:
    """A traced run: the socket the program streams its sessions to, and the program itself."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.readers: list[threading.Thread] = []
        self.directory = tempfile.TemporaryDirectory(prefix="smtpdbg-trace-")
        path = os.path.join(self.directory.name, "events.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen()
        self.env = child_env(Path(self.directory.name), path)
        threading.Thread(target=serve, args=(self.server, collector, self.readers), daemon=True).start()

    def run(self, command: list[str], **popen) -> subprocess.Popen:
        """Start the program (``popen``: Popen's stdin/stdout/stderr).

        Raises:
            OSError: it cannot be started.
        """
        return subprocess.Popen(command, env=self.env, **popen)

    def finish(self) -> None:
        """After the program ended: read what it streamed to the end, remove the socket."""
        self.server.close()
        for reader in list(self.readers):
            reader.join(5)
        self.directory.cleanup()


def exit_status(returncode: int) -> int:
    """The program's status as a shell gives it: 128 + N when signal N ended it."""
    return 128 - returncode if returncode < 0 else returncode


def stop_program(proc: subprocess.Popen, grace: float = 5.0) -> int:
    """Stop a program still running (SIGTERM, then SIGKILL after ``grace`` seconds); its exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return exit_status(proc.returncode)


def _private(path: str):
    """A text file opened for writing, created or tightened to mode 0600 and emptied."""
    from smtpdbg.core.files import open_private

    return os.fdopen(open_private(path, os.O_WRONLY, truncate=True), "w", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("smtpdbg trace: give the program to run after --, e.g. smtpdbg trace -- python app.py", file=sys.stderr)
        return 2
    if sys.stdout.isatty() and sys.stdin.isatty() and not (args.print_ or args.log or args.jsonl):
        from smtpdbg.trace.app import TraceApp

        return TraceApp(command).run() or 0
    try:  # what a traced program sends (its password masked, its addresses not) is for its owner's eyes only
        out = _private(args.log) if args.log else sys.stdout
        jsonl = _private(args.jsonl) if args.jsonl else None
    except OSError as error:
        print(f"smtpdbg trace: cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    color = args.color == "always" or (args.color == "auto" and out.isatty() and "NO_COLOR" not in os.environ)
    tracer = Tracer(Sink(out, jsonl, color))
    try:
        proc = tracer.run(command)
    except OSError as error:
        print(f"smtpdbg trace: cannot run {command[0]}: {error}", file=sys.stderr)
        tracer.finish()
        return 127
    # SIGTERM to the tracer (a CI job, a test harness stopping it) goes on to the program: nothing is left running.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signal.SIGTERM))
    try:
        while True:
            try:
                status = exit_status(proc.wait())
                break
            except KeyboardInterrupt:  # the terminal sent SIGINT to the program too: wait for it to end
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            stop_program(proc)
        tracer.finish()
    for stream in (out, jsonl):
        if stream is not None and stream is not sys.stdout:
            stream.close()
    return status
