"""Help (F1) and read-only detail screens (the TLS certificate chain).

The command list is generated from the core's command table, so it never
drifts from what the parser accepts.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from smtpdbg.core.commands import COMMANDS
from smtpdbg.core.render import safe_text
from smtpdbg.core.state import TlsInfo

KEYS = (
    ("Tab / Shift+Tab", "complete the word; again to cycle through the candidates"),
    ("Up / Down", "choose in the dropdown; otherwise walk the history"),
    ("Right / End", "accept the grey ghost suggestion"),
    ("Enter", "run the command (or take the chosen candidate)"),
    ("Ctrl+R", "search the command history"),
    ("Esc", "close the dropdown; abort the running command"),
    ("Ctrl+F  /  F3, Shift+F3", "search the transcript; next / previous match"),
    ("F2", "show or hide the inspector"),
    ("F4", "in a lesson: put the suggested command in the prompt"),
    ("F6", "move focus: prompt → transcript → inspector (when shown)"),
    ("Ctrl+O", "connect dialog (a new session)"),
    ("Ctrl+P", "every action of the app, searchable (lesson: pick a lesson… for guided lessons)"),
    ("Ctrl+Q", "quit"),
)
TRANSCRIPT_KEYS = (
    ("Up/Down, PgUp/PgDn, Home", "move; scrolling up pauses follow-tail"),
    ("End", "follow the tail again"),
    ("Enter / double click", "expand or collapse a DATA body"),
    ("(cursor on a line)", "the panel below says what it means: reply and enhanced code, extension, command; "
                           "smtpdbg's own notes and errors, whole"),
    ("a", "meanings: a dim line under each reply saying what it means"),
    ("c / y", "copy the whole exchange / the line under the cursor"),
    ("f / t", "filter (all, client, server, errors) / timestamps (off, absolute, delta)"),
    ("/ , n , N", "search, next, previous"),
    ("mouse drag, Ctrl+C", "select text and copy it"),
)


def help_renderable() -> RenderableType:
    keys = Table(box=None, show_header=False, padding=(0, 2))
    keys.add_column(style="bold", no_wrap=True)
    keys.add_column()
    for key, meaning in KEYS:
        keys.add_row(key, meaning)
    transcript = Table(box=None, show_header=False, padding=(0, 2))
    transcript.add_column(style="bold", no_wrap=True)
    transcript.add_column()
    for key, meaning in TRANSCRIPT_KEYS:
        transcript.add_row(key, meaning)
    commands = Table(box=None, show_header=False, padding=(0, 2))
    commands.add_column(style="bold", no_wrap=True)
    commands.add_column()
    group = None
    for spec in COMMANDS:
        if spec.group != group:
            group = spec.group
            commands.add_row(Text(group, style="underline"), "")
        commands.add_row(spec.usage, Text(spec.summary + (f"  ({spec.call})" if spec.call else ""), style=""))
    return Group(
        Text("Keys", style="bold reverse"), keys, Text(""),
        Text("In the transcript (F6 to focus it)", style="bold reverse"), transcript, Text(""),
        Text("Commands (named after smtplib.SMTP methods; `? NAME` or `explain TOPIC` in the prompt)", style="bold reverse"),
        commands,
    )


def chain_renderable(tls: TlsInfo | None) -> RenderableType:
    if tls is None:
        return Text("Not using TLS: run starttls (or connect to smtps://).", style="italic")
    matches = {True: " (the certificate matches it)", False: " (the certificate does NOT match it)"}.get(tls.name_matches, "")
    parts: list[RenderableType] = [
        Text(f"{tls.version} · {tls.cipher} · " + ("✓ verified" if tls.verified else "✗ NOT VERIFIED"), style="bold"),
        Text(safe_text(f"server name {tls.server_name or '-'}{matches}")),
        Text(f"{len(tls.chain)} certificate(s) presented, the server's own first", style="dim"),
    ]
    for number, cert in enumerate(tls.chain):
        table = Table(box=None, show_header=False, padding=(0, 2), title=f"certificate {number}", title_justify="left")
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in (("subject", cert.subject), ("issuer", cert.issuer), ("SAN", ", ".join(cert.san) or "-"),
                             ("not before", cert.not_before), ("not after", cert.not_after),
                             ("days left", str(cert.days_left)), ("serial", cert.serial), ("key", cert.key),
                             ("SHA-256", cert.fingerprint_sha256)):
            table.add_row(label, Text(safe_text(value)))
        parts.append(table)
    return Group(*parts)


class InfoScreen(ModalScreen[None]):
    """A scrollable read-only page; Esc closes it."""

    BINDINGS = [Binding("escape,q,f1", "close", "Close")]

    def __init__(self, title: str, content: RenderableType) -> None:
        super().__init__()
        self.title_text = title
        self.content = content

    def compose(self) -> ComposeResult:
        scroll = VerticalScroll(Static(self.content), id="info-box", classes="dialog")
        scroll.border_title = self.title_text
        yield scroll
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#info-box").focus()

    def action_close(self) -> None:
        self.dismiss(None)
