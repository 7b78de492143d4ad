"""The ``listen`` app: the sessions in a list, the selected one's transcript, and the play-the-server prompt.

Each connection gets the debugger's own transcript view
(:class:`smtpdbg.tui.widgets.transcript.TranscriptView`) fed with its core
events. The prompt answers the selected connection's held command (or, when it
holds none, the oldest held one) with the words of :mod:`smtpdbg.listen.play`;
it suggests replies from the catalog, and shows the meaning of the code or
EHLO keyword being typed.
"""

from __future__ import annotations

from typing import Iterable

from textual import on
from textual.binding import Binding
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Static

from smtpdbg.core.catalog.extensions import explain_extension
from smtpdbg.core.catalog.replies import explain_reply
from smtpdbg.core.render import safe_text
from smtpdbg.listen.answers import AnswerError, suggestions
from smtpdbg.listen.mailbox import Mailbox
from smtpdbg.listen.play import play
from smtpdbg.listen.recorder import Connection
from smtpdbg.listen.rules import RuleBook
from smtpdbg.listen.server import ListenConfig, ListenServer
from smtpdbg.listen.sessions import CSS as SESSIONS_CSS
from smtpdbg.listen.sessions import Arrived, Opened, Posted, SessionsApp

CSS = """
#prompt { height: 3; }
#held { height: auto; color: $warning; padding: 0 1; }
#meaning { height: auto; color: $text-muted; padding: 0 1; }
"""


class Waiting(Posted):
    """A command is held (``value``: the :class:`Held`)."""


class Stored(Posted):
    """A message was delivered (``value``: the :class:`Delivered`)."""


class ListenApp(SessionsApp):
    """Run a :class:`ListenServer` and show what arrives; the server starts when the app does."""

    DEFAULT_CSS = SESSIONS_CSS + CSS
    TITLE = "smtpdbg listen"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit"), Binding("ctrl+n", "next_held", "Next held"),
                Binding("ctrl+o", "mailbox", "Mailbox")]

    def __init__(self, config: ListenConfig, rules: RuleBook | None = None, mailbox: Mailbox | None = None) -> None:
        super().__init__()
        self.server = ListenServer(config, rules=rules, mailbox=mailbox, on_connection=self._opened,
                                   on_held=lambda held: self.post_message(Waiting(held)),
                                   on_message=lambda message: self.post_message(Stored(message)))
        self._rules_said = ("", 0)

    # --- server thread ------------------------------------------------------------------------
    def _opened(self, conn: Connection) -> None:
        self.post_message(Opened(conn.number, f"{conn.peer} on {conn.listener}"))
        conn.transcript.subscribe(lambda event: self.post_message(Arrived(conn.number, event)), replay=True)

    # --- UI ------------------------------------------------------------------------------------
    def compose_below(self) -> Iterable[Widget]:
        yield Static("", id="held")
        yield Static("", id="meaning")
        yield Input(placeholder="reply CODE TEXT | default | drop | stall N | advertise KW, ...",
                    id="prompt", suggester=SuggestFromList(suggestions(), case_sensitive=False))

    def on_mount(self) -> None:
        super().on_mount()
        endpoints = self.server.start()
        self.sub_title = ", ".join(f"{k} {v}" for k, v in endpoints.items() if v and k != "ca")
        self.query_one("#held", Static).update("waiting for a client" + (" (playing the server)"
                                                                          if self.server.config.hold else ""))
        self.set_interval(0.5, self._poll_rules)
        self.query_one("#prompt", Input).focus()

    def on_unmount(self) -> None:
        self.server.stop()

    def _poll_rules(self) -> None:
        book = self.server.rules
        if book is None:
            return
        book.poll()
        said = (book.error, book.loads)
        if said != self._rules_said:
            if book.error:
                self.notify(f"rules: {book.error} (the rules before stay in force)", severity="warning")
            elif self._rules_said != ("", 0):
                self.notify(f"rules reloaded: {len(book.rules)} rules")
            self._rules_said = said

    def on_waiting(self, message: Waiting) -> None:
        if self.selected not in self.server.held:
            self.select(message.value.connection)
        self.show_held()

    def on_stored(self, message: Stored) -> None:
        self.notify(message.value.describe(), title="delivered")

    def select(self, number: int) -> None:
        super().select(number)
        self.show_held()

    def show_held(self) -> None:
        held = self.server.held.get(self.selected) or next(iter(self.server.held.values()), None)
        labels = self.query("#held")
        if not labels:  # the app is closing: a session still arriving has nowhere to show
            return
        label = labels.first(Static)
        if held is None:
            label.update("nothing held" if self.server.config.hold else "answering as the rules and a normal "
                                                                           "server would")
            return
        label.update(f"? [{held.connection}] {safe_text(held.command)}   default: "
                     f"{safe_text(' / '.join(held.default))}")

    def action_mailbox(self) -> None:
        from smtpdbg.listen.mailbox_screen import MailboxScreen

        self.push_screen(MailboxScreen(self.server.mailbox.snapshot()))

    def action_next_held(self) -> None:
        if self.server.held:
            later = [n for n in sorted(self.server.held) if n > self.selected]
            self.select((later or sorted(self.server.held))[0])

    @on(Input.Changed, "#prompt")
    def explain(self, event: Input.Changed) -> None:
        words = event.value.split()
        text = ""
        if len(words) >= 2 and words[0] == "reply" and words[1][:3].isdigit():
            info = explain_reply(int(words[1][:3]))
            text = f"{info.code}: {info.meaning}" if info else ""
        elif len(words) >= 2 and words[0] == "advertise":
            info = explain_extension(words[-1].strip(",").upper())
            text = f"{info.keyword}: {info.title}" if info else ""
        self.query_one("#meaning", Static).update(text)

    @on(Input.Submitted, "#prompt")
    def answer(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if not text.startswith("@") and not text.lower().startswith("advertise") and self.selected in self.server.held:
            text = f"@{self.selected} {text}"
        try:
            said = play(self.server, text)
        except AnswerError as error:
            self.notify(str(error), severity="error")
            return
        event.input.value = ""
        self.notify(said)
        self.call_later(self.show_held)


def run_listen_app(config: ListenConfig, rules: RuleBook | None, mailbox: Mailbox) -> int:
    try:
        return ListenApp(config, rules, mailbox).run() or 0
    except OSError as error:
        import sys

        print(f"smtpdbg listen: cannot start: {error}", file=sys.stderr)
        return 1
