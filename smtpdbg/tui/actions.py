"""Actions of the app that only drive widgets or files: views, copying, saving, the sandbox.

A mixin of :class:`smtpdbg.tui.app.SmtpdbgApp`, kept apart so the app module stays about wiring.
"""

from __future__ import annotations

import os
import time

from textual import work

from smtpdbg.core.parser import quote_path
from smtpdbg.core.target import Target
from smtpdbg.tui.screens.pickers import AskScreen
from smtpdbg.tui.widgets.transcript import TranscriptView


SUFFIXES = {"script": ".smtp", "jsonl": ".jsonl", "python": ".py", "swaks": ".sh", "html": ".html", "text": ".txt"}
"""File name endings offered for each export format."""


class AppActions:
    """View, transcript and sandbox actions (palette entries and keys call them)."""

    def action_set_view(self, name: str, value: str) -> None:
        transcript = self.query_one(TranscriptView)
        if name == "filter":
            transcript.filter = value
        elif name == "timestamps":
            transcript.timestamps = value
        elif name == "latency":
            transcript.show_latency = not transcript.show_latency
        elif name == "bodies":
            transcript.expand_all(value == "expand")
        elif name == "follow":
            transcript.action_follow()

    def action_copy_exchange(self) -> None:
        self.query_one(TranscriptView).action_copy_exchange()

    def action_save_transcript(self) -> None:
        default = os.path.join(os.getcwd(), time.strftime("smtpdbg-%Y%m%d-%H%M%S.txt"))
        self.push_screen(AskScreen("Save the transcript as plain text to", default,
                                   "written with mode 0600; passwords are never in it"),
                         self._save_transcript_to)

    def _save_transcript_to(self, path: str | None) -> None:
        if path == "-":  # not a file named "-": the app's standard output is the screen
            self.notify("the transcript is saved to a file: give its path", severity="warning", markup=False)
        elif path:
            self.save_transcript(path)

    def action_save_as(self, fmt: str) -> None:
        """Ask for a file name, then run ``save FMT FILE`` on the session (the core writes the export)."""
        default = os.path.join(os.getcwd(), time.strftime("smtpdbg-%Y%m%d-%H%M%S") + SUFFIXES.get(fmt, ".txt"))
        self.push_screen(AskScreen(f"Save this session ({fmt}) to", default,
                                   "written with mode 0600; passwords are never in it"),
                         lambda path: self._save_as(fmt, path) if path else None)

    def _save_as(self, fmt: str, path: str) -> None:
        try:
            word = quote_path(path)  # a path with spaces goes in double quotes
        except ValueError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.submit(f"save {fmt} {word}")

    @work(thread=True, exit_on_error=False, group="save")
    def save_transcript(self, path: str) -> None:
        """Write every session's transcript as plain text (file mode 0600)."""
        from smtpdbg.core.render import TextRenderer

        try:
            renderer = TextRenderer(timestamps="absolute", notes=True, timing=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)
            count = 0
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                for session in list(self.sessions):
                    for event in session.transcript.snapshot():
                        for line in renderer.render(event):
                            handle.write(line + "\n")
                            count += 1
                    for line in renderer.flush():  # a reply cut short at the end of a session
                        handle.write(line + "\n")
                        count += 1
        except OSError as error:
            self.call_from_thread(self.notify, f"cannot save {path}: {error.strerror or error}", severity="error",
                                  markup=False)
            return
        self.call_from_thread(self.notify, f"saved {count:,} lines to {path}", title="Transcript saved", markup=False)

    @work(thread=True, exit_on_error=False, group="sandbox")
    def action_sandbox(self) -> None:
        """Start the embedded sandbox (in this process) and open a session on it."""
        from dataclasses import replace

        try:
            from smtpdbg.sandbox import Sandbox, SandboxConfig

            if self.sandbox is None:
                sandbox = Sandbox(SandboxConfig())
                sandbox.start()
                self.sandbox = sandbox
            endpoints = self.sandbox.endpoints
        except Exception as error:  # noqa: BLE001 - reported, the app keeps running
            self.call_from_thread(self.notify, f"cannot start the sandbox: {error}", severity="error", markup=False)
            return
        target = Target("smtp", endpoints.smtp[0], endpoints.smtp[1], sandbox=True)
        options = replace(self.options, ca=endpoints.ca_path, insecure=False, mailbox=self.sandbox)
        self.call_from_thread(self.start_session, target, options, ("connect", "ehlo"))
