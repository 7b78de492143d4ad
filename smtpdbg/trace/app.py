"""The ``trace`` app: the program's sessions in a list, the selected one's transcript, and the program's output."""

from __future__ import annotations

import subprocess
import threading
from typing import Iterable

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Log

from smtpdbg.core.render import safe_text
from smtpdbg.listen.sessions import CSS, Arrived, Opened, Posted, SessionsApp
from smtpdbg.trace.cli import Collector, Tracer, exit_status, stop_program


class Output(Posted):
    """A line the program wrote (``value``)."""


class Ended(Posted):
    """The program exited (``value``: its status)."""


class Feed(Collector):
    """Hands every streamed event to the app."""

    def __init__(self, app: "TraceApp") -> None:
        super().__init__()
        self.app = app

    def emit(self, label: int, event, new: bool) -> None:
        if new:
            self.app.post_message(Opened(label, getattr(event, "peer", "") or f"session {label}"))
        self.app.post_message(Arrived(label, event))


class TraceApp(SessionsApp):
    """Runs ``command`` traced when it starts; the program's exit status is the app's."""

    DEFAULT_CSS = CSS + "#output { height: 10; border: round $panel-lighten-2; }"
    TITLE = "smtpdbg trace"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit")]

    def __init__(self, command: list[str]) -> None:
        super().__init__()
        self.command = command
        self.status: int | None = None
        self.proc: subprocess.Popen | None = None
        self._quitting = False

    def compose_below(self) -> Iterable[Widget]:
        yield Log(id="output", max_lines=10_000)

    def on_mount(self) -> None:
        super().on_mount()
        self.sub_title = " ".join(self.command)
        self.query_one("#output", Log).border_title = "program output"
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        tracer = Tracer(Feed(self))
        try:
            proc = tracer.run(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        except OSError as error:
            self.post_message(Output(f"cannot run {self.command[0]}: {error}"))
            tracer.finish()
            self.post_message(Ended(127))
            return
        self.proc = proc
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                self.post_message(Output(line.decode("utf-8", "replace")))
            status = exit_status(proc.wait())
        finally:
            tracer.finish()
        self.post_message(Ended(status))

    def on_output(self, message: Output) -> None:
        for log in self.query("#output"):  # none while the app closes
            log.write_line(safe_text(message.value))

    def on_ended(self, message: Ended) -> None:
        self.status = message.value
        if self._quitting:
            self.exit(self.status)
            return
        for log in self.query("#output"):
            log.write_line(f"=== the program exited with status {self.status}")
        self.notify(f"the program exited with status {self.status}; ctrl+q quits")

    def action_quit(self) -> None:
        """Quit; a program still running is stopped first (SIGTERM, then SIGKILL after 5 s), off the UI thread:
        the app exits with its status once the reader has seen it end (and removed the temporary files)."""
        proc = self.proc
        if self.status is None and proc is not None and proc.poll() is None:
            if not self._quitting:
                self._quitting = True
                self.notify("stopping the program…")
                threading.Thread(target=stop_program, args=(proc,), daemon=True).start()
            return
        self.exit(self.status if self.status is not None else 0)
