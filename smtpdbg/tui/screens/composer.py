"""The DATA composer: write a message and see exactly what goes on the wire.

Opened by ``data`` (and ``sendmail`` without @FILE). The text area starts with
a header template filled from the transaction (From, To, Subject, Date,
Message-ID); beside it, the wire form updates as you type: CRLF line endings,
dot-stuffed lines (RFC 5321 §4.5.2) marked, and the final ``.`` line (``bdat``
sends the bytes as they are). The message and its wire form come from the
core's encoders, so the view is what is sent. Ctrl+S sends the message as
``body=``; Esc cancels and nothing is sent.
"""

from __future__ import annotations

from email.utils import formatdate, make_msgid
from typing import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static, TextArea

from smtpdbg.core.render import human_size, safe_text
from smtpdbg.core.state import SessionState
from smtpdbg.core.script import encode_body
from smtpdbg.core.wire import PreparedBody, prepare_body

PREVIEW_LINES = 400
"""Lines of the wire form shown (the rest is counted)."""


def message_template(state: SessionState, *, date: str | None = None, message_id: str | None = None,
                     sender: str | None = None, recipients: list[str] | None = None) -> str:
    """A small RFC 5322 message addressed from the current envelope (or ``sendmail``'s own ``sender``/``recipients``)."""
    sender = sender or state.mail_from or (state.auth_user if state.auth_user and "@" in state.auth_user else "") \
        or "alice@sandbox.smtpdbg.test"
    recipients = recipients or [r.address for r in state.recipients if r.accepted] or ["bob@sandbox.smtpdbg.test"]
    domain = state.local_hostname or "smtpdbg.invalid"
    return (
        f"From: <{sender}>\n"
        f"To: {', '.join(f'<{r}>' for r in recipients)}\n"
        f"Subject: Test message from smtpdbg\n"
        f"Date: {date or formatdate(localtime=True)}\n"
        f"Message-ID: {message_id or make_msgid(domain=domain)}\n"
        "\n"
        "Hello,\n"
        "\n"
        "this message was sent by hand with smtpdbg.\n"
    )


def composed(lines: Sequence[str], *, chunked: bool = False) -> tuple[bytes, PreparedBody]:
    """The message the session is given for the editor's ``lines``, and its wire form.

    Both come from the core: the message is what :func:`~smtpdbg.core.script.encode_body` makes of typed lines (as
    in the REPL and scripts), and the wire form is what :func:`~smtpdbg.core.wire.prepare_body` makes of that
    message, which is what DATA sends (``chunked``: BDAT sends the message's bytes as they are, no dot-stuffing,
    no final dot). The empty line the cursor sits on after the last line break is not a line of the message.
    """
    lines = list(lines)
    if lines and lines[-1] == "":
        lines.pop()
    body = encode_body(lines)
    return body, PreparedBody(body, b"", 0) if chunked else prepare_body(body)


def wire_preview(prepared: PreparedBody) -> tuple[Text, str]:
    """The wire form (dot-stuffed lines marked) and a one-line summary of it."""
    lines = prepared.payload.split(b"\r\n")[:-1] if prepared.payload else []
    shown = Text(no_wrap=True)
    for line in lines[:PREVIEW_LINES]:
        shown.append(" -> ", "dim")
        if prepared.stuffed and line.startswith(b".."):
            shown.append(".", "bold reverse")
            shown.append(safe_text(line[1:]))
            shown.append("  # dot-stuffed", "dim italic")
        else:
            shown.append(safe_text(line))
        shown.append("␍␊\n", "dim")
    if len(lines) > PREVIEW_LINES:
        shown.append(f"    [... {len(lines) - PREVIEW_LINES:,} more lines ...]\n", "dim")
    if prepared.terminator:
        shown.append(" -> ", "dim")
        shown.append(".", "bold")
        shown.append("␍␊  # end of data", "dim italic")
    else:
        shown.append("    # in BDAT chunks: no dot-stuffing, no final dot", "dim italic")
    summary = f"{len(lines):,} lines · {human_size(prepared.size)} on the wire"
    if prepared.stuffed:
        summary += f" · {prepared.stuffed:,} dot-stuffed"
    return shown, summary


class WireText(Static):
    """The wire form; when it grows, the line being edited may have moved out of view."""

    def on_resize(self) -> None:
        if isinstance(self.screen, ComposerScreen):
            self.screen.follow_cursor()


class ComposerScreen(ModalScreen[bytes | None]):
    """Compose the DATA body; dismisses with the body bytes, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("ctrl+o", "load", "Load file"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, command: str, template: str) -> None:
        super().__init__()
        self.command = command
        """The command being completed (``data`` or ``sendmail ...``)."""
        self.template = template

    def compose(self) -> ComposeResult:
        with Vertical(id="composer"):
            yield Label(f"[b]{self.command.split(' ', 1)[0]}[/b]: headers, a blank line, then the body", id="composer-title")
            with Horizontal(id="composer-panes"):
                editor = TextArea(self.template, id="editor", soft_wrap=False, show_line_numbers=False)
                editor.border_title = "Message"
                yield editor
                wire = VerticalScroll(WireText(id="wire-text"), id="wire")
                wire.border_title = "On the wire"
                yield wire
            with Horizontal(id="composer-bar"):
                yield Static("", id="wire-summary")
                yield Button("Send", id="send", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            with Horizontal(id="composer-load", classes="-hidden"):
                yield Label("file:")
                yield Input(placeholder="path of a message file, Enter loads it", id="load-path", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self._refresh_wire()
        editor = self.query_one("#editor", TextArea)
        editor.focus()
        editor.move_cursor((editor.document.line_count - 1, 0))
        self._resize(self.size.width)

    def on_resize(self, event) -> None:
        self._resize(event.size.width)

    def _resize(self, width: int) -> None:
        self.query_one("#composer-panes").set_class(width < 110, "-stacked")

    @on(TextArea.Changed, "#editor")
    def _changed(self) -> None:
        self._refresh_wire()
        self.follow_cursor()  # and again when the wire form has grown (WireText.on_resize)

    @on(TextArea.SelectionChanged, "#editor")
    def follow_cursor(self) -> None:
        """Keep the wire form of the line being edited in view (each line of the message is one line on the wire)."""
        row = self.query_one("#editor", TextArea).cursor_location[0]
        wire = self.query_one("#wire", VerticalScroll)
        height = wire.scrollable_content_region.height
        if row < wire.scroll_y:
            wire.scroll_to(y=row, animate=False, immediate=True)
        elif height and row >= wire.scroll_y + height:
            wire.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def _refresh_wire(self) -> None:
        preview, summary = wire_preview(self.wire)
        self.query_one("#wire-text", Static).update(preview)
        self.query_one("#wire-summary", Static).update(summary)

    @property
    def body(self) -> bytes:
        """The message handed to the session (``body=``)."""
        return self._composed()[0]

    @property
    def wire(self) -> PreparedBody:
        """What the command puts on the wire for :attr:`body` (DATA: dot-stuffed; BDAT: as it is), shown beside the
        editor."""
        return self._composed()[1]

    def _composed(self) -> tuple[bytes, PreparedBody]:
        chunked = self.command.split(" ", 1)[0].lower() == "bdat"
        return composed(self.query_one("#editor", TextArea).document.lines, chunked=chunked)

    def action_send(self) -> None:
        self.dismiss(self.body)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_load(self) -> None:
        bar = self.query_one("#composer-load")
        bar.remove_class("-hidden")
        self.query_one("#load-path", Input).focus()

    @on(Input.Submitted, "#load-path")
    def _load(self, event: Input.Submitted) -> None:
        path = event.value.strip().removeprefix("@")
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            self.notify(f"cannot read {path}: {error.strerror or error}", severity="error", markup=False)
            return
        editor = self.query_one("#editor", TextArea)
        editor.load_text(data.decode("utf-8", "surrogateescape").replace("\r\n", "\n"))
        self.query_one("#composer-load").add_class("-hidden")
        editor.focus()

    @on(Button.Pressed, "#send")
    def _send(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()
