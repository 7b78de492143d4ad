"""The proxy's screen: the connections, the selected one's two legs, and the intercept keys.

Every line is rendered by the core's :class:`~smtpdbg.core.render.TextRenderer`
(already escaped), marked with its leg, a reply's lines with the core's verdict on it; the intercept prompt takes the same
commands as line mode (:mod:`smtpdbg.proxy.intercept`), and ``save FORMAT FILE``
exports the selected connection (:mod:`smtpdbg.proxy.export`).
"""

from __future__ import annotations

import os

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Footer, Header, Input, Label, ListItem, ListView, RichLog, Static

from smtpdbg.core.render import TextRenderer, safe_text
from smtpdbg.proxy.intercept import USAGE
from smtpdbg.proxy.relay import CLIENT, LEG_LABELS, SERVER, LegEvent
from smtpdbg.proxy.server import Proxy


class Arrived(Message):
    """An event from the proxy's thread."""

    def __init__(self, item: LegEvent) -> None:
        super().__init__()
        self.item = item


class ProxyApp(App):
    """``smtpdbg proxy`` with a terminal."""

    TITLE = "smtpdbg proxy"
    AUTO_FOCUS = "#transcript"
    CSS = """
    #side { width: 34; border-right: solid $panel-lighten-2; }
    #connections { height: 1fr; }
    #inspector { height: auto; max-height: 50%; }
    #held { height: auto; max-height: 6; background: $warning 20%; }
    #held.empty { display: none; }
    ToastRack { dock: top; align: right top; margin: 2 0 0 0; max-height: 50%; }
    """
    """Notices (toasts) stack at the top right, under the heading, never over the held line or the prompt."""
    BINDINGS = [
        Binding("s", "step", "Step", tooltip="Hold the next command or reply"),
        Binding("f", "decide('forward')", "Forward"),
        Binding("e", "prefill('edit')", "Edit"),
        Binding("a", "prefill('answer')", "Answer"),
        Binding("x", "decide('drop')", "Drop"),
        Binding("i", "prefill('intercept')", "Intercept"),
        Binding("w", "prefill('save')", "Save", tooltip="save FORMAT FILE: the selected connection (jsonl, text, html)"),
        Binding("escape", "focus_list", "Connections", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, proxy: Proxy, heading: str = "") -> None:
        super().__init__()
        self.proxy = proxy
        self.interceptor = proxy.config.interceptor
        self.heading = heading
        self.lines: dict[int, list[str]] = {}
        self._renderers: dict[tuple[int, str], TextRenderer] = {}
        self.shown: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.heading, id="heading")
        with Horizontal():
            with Vertical(id="side"):
                yield ListView(id="connections")
                yield Static("", id="inspector")
            yield RichLog(id="transcript", wrap=True, markup=False, highlight=False)
        yield Static("", id="held", classes="empty")
        yield Input(placeholder=USAGE + " | save jsonl|text|html FILE", id="command", select_on_focus=False)
        yield Footer()

    def on_mount(self) -> None:
        self.proxy.subscribe(lambda item: self.post_message(Arrived(item)))

    # -- events from the proxy ---------------------------------------------------------------------------------
    def on_arrived(self, message: Arrived) -> None:
        try:
            self._arrived(message.item)
        except NoMatches:  # the app is closing: its widgets are gone, the proxy goes on until it stops
            pass

    def _arrived(self, item) -> None:
        number = item.connection
        renderer = self._renderers.setdefault((number, item.leg), TextRenderer())
        new = [f"[{LEG_LABELS[item.leg]}] {line}" for line in renderer.render(item.event)]
        if number not in self.lines:
            self.lines[number] = []
            self.query_one("#connections", ListView).append(
                ListItem(Label(f"#{number} {safe_text(getattr(item.event, 'peer', '') or '')}"), name=str(number)))
            if self.shown is None:
                self.show(number)
        self.lines[number].extend(new)
        if number == self.shown:
            log = self.query_one("#transcript", RichLog)
            for line in new:
                log.write(Text(line))
        if number == self.shown:
            self._update_inspector()
        self._update_held()

    def _update_inspector(self) -> None:
        connection = next((c for c in self.proxy.connections if c.number == self.shown), None)
        if connection is None:
            return
        parts = []
        for leg in (CLIENT, SERVER):
            tls = (connection.tls_text[leg] or "on") if connection.tls[leg] else "off"
            keywords = ", ".join(connection.capabilities[leg]) or "(no EHLO yet)"
            parts.append(f"{LEG_LABELS[leg]}\n  TLS: {tls}\n  EHLO: {keywords}")
        if connection.closed:
            parts.append("closed")
        self.query_one("#inspector", Static).update(Text("\n".join(parts)))

    def show(self, number: int) -> None:
        self.shown = number
        log = self.query_one("#transcript", RichLog)
        log.clear()
        for line in self.lines.get(number, []):
            log.write(Text(line))
        self._update_inspector()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if event.item is not None and event.item.name:
            self.show(int(event.item.name))

    def _update_held(self) -> None:
        held = self.interceptor.oldest() if self.interceptor else None
        widgets = self.query("#held")
        if not widgets:  # the app is closing
            return
        widget = widgets.first(Static)
        widget.set_class(held is None, "empty")
        widget.update(Text("") if held is None else Text(
            f"held {held.kind} on connection #{held.connection}: {safe_text(held.data)}\n"
            "f forward · e edit · a answer · x drop"))

    # -- intercept keys ----------------------------------------------------------------------------------------
    def run_command(self, line: str) -> None:
        try:
            said = self.save(line) if line.split(None, 1)[0].lower() == "save" else self.interceptor.command(line)
        except (ValueError, OSError) as exc:
            self.notify(str(exc), severity="warning")
            return
        self.notify(said)
        self.call_later(self._update_held)

    def save(self, line: str) -> str:
        """``save FORMAT FILE``: the selected connection, both legs, through the core's exporters (mode 0600)."""
        from smtpdbg.proxy.export import FORMATS, save

        words = line.split(None, 2)
        connection = next((c for c in self.proxy.connections if c.number == self.shown), None)
        if len(words) < 3 or words[1].lower() not in FORMATS:
            raise ValueError(f"save FORMAT FILE, FORMAT one of {', '.join(FORMATS)}")
        if connection is None:
            raise ValueError("no connection to save yet")
        path = os.path.expanduser(words[2].strip())
        save(connection, words[1].lower(), path)
        return f"connection #{connection.number} saved as {safe_text(path)}"

    def action_step(self) -> None:
        self.run_command("step")

    def action_decide(self, action: str) -> None:
        self.run_command(action)

    def action_prefill(self, verb: str) -> None:
        field = self.query_one("#command", Input)
        held = self.interceptor.oldest()
        field.value = f"{verb} " + (safe_text(held.data).split("\\r\\n")[0] if held is not None and verb == "edit"
                                    else "")
        field.focus()
        field.cursor_position = len(field.value)

    def action_focus_list(self) -> None:
        connections = self.query_one("#connections", ListView)
        (connections if connections.children else self.query_one("#transcript", RichLog)).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if text:
            self.run_command(text)
        self.action_focus_list()
