"""The feature inspector: the session snapshot as panels, redrawn after every command.

Connection, greeting (banner, ``helo_resp``/``ehlo_resp``, ``does_esmtp``),
``esmtp_features`` with each extension's meaning from the catalog, TLS
(version, cipher, certificate, verification; an unverified session is marked
loudly), authentication, the current transaction and which commands fit next.
Everything the server said is shown as plain, escaped text.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from smtpdbg.core.catalog import explain_extension
from smtpdbg.core.render import safe_text
from smtpdbg.core.state import SessionState
from smtpdbg.core.verdict import UNKNOWN_WARNING


PALETTE = {"success": "green", "warning": "yellow", "error": "red", "accent": "cyan"}
"""Colours for verdicts, refreshed from the app's theme before each redraw."""


def _grid() -> Table:
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def _value(value: object, style: str = "") -> Text:
    return Text(safe_text(str(value)), style=style)


def _yes(flag: bool, yes: str = "yes", no: str = "no") -> Text:
    return Text(yes if flag else no, style=f"bold {PALETTE['success']}" if flag else PALETTE["warning"])


def connection_panel(state: SessionState) -> Table:
    table = _grid()
    table.add_row("target", _value(state.target or "(none)", "bold"))
    table.add_row("transport", _value({"smtp": "SMTP", "smtps": "SMTPS (implicit TLS)", "lmtp": "LMTP"}.get(
        state.transport, state.transport or "-") + ("  · sandbox" if state.sandbox else "")))
    table.add_row("connected", _yes(state.connected))
    if state.connected:
        table.add_row("peer", _value(state.peer))
        table.add_row("local", _value(state.local))
    table.add_row("timeout", _value(f"{state.timeout:g} s"))
    table.add_row("local_hostname", _value(state.local_hostname or "(FQDN)"))
    if state.command_encoding != "ascii":
        table.add_row("command_encoding", _value(state.command_encoding))
    return table


def greeting_panel(state: SessionState) -> Table:
    table = _grid()
    if state.banner_code is not None:
        table.add_row("banner", _value(f"{state.banner_code} {state.banner}"))
    table.add_row("helo_resp", _value(state.helo_resp if state.helo_resp is not None else "None"))
    if state.ehlo_resp is not None:
        first, _, rest = state.ehlo_resp.partition("\n")
        count = len(rest.split("\n")) if rest else 0
        table.add_row("ehlo_resp", _value(first + (f"  (+{count} lines)" if count else "")))
    else:
        table.add_row("ehlo_resp", _value("None"))
    table.add_row("does_esmtp", _yes(state.does_esmtp, "True", "False"))
    return table


def features_panel(state: SessionState) -> Table | Text:
    features = state.features.raw
    if not features:
        return Text("none yet: run ehlo" if state.connected else "not connected", style="dim italic")
    table = Table(box=None, padding=(0, 1), expand=True, show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for keyword, params in features.items():
        params = params.strip()  # smtplib keeps AUTH's mechanisms as " PLAIN LOGIN"
        info = explain_extension(keyword.upper(), params)
        meaning = Text()
        if params:
            meaning.append(safe_text(params) + "  ", style=PALETTE["accent"])
        if info is not None:
            short = info.params_meaning if info.params_meaning and len(info.params_meaning) <= 40 else ""
            meaning.append(short or info.title, style="" if short else "dim")
        else:
            meaning.append("unknown extension", style="dim italic")
        table.add_row(safe_text(keyword.upper()), meaning)
    return table


def tls_panel(state: SessionState) -> Table | Text:
    tls = state.tls
    if tls is None:
        if state.insecure:
            return Text("verification OFF (--insecure)", style=f"bold {PALETTE['error']}")
        text = Text("plaintext", style=PALETTE["warning"])
        if state.features.has("starttls"):
            text.append("  ·  STARTTLS offered: run starttls", style="dim")
        return text
    table = _grid()
    table.add_row("protocol", _value(f"{tls.version} {'implicit' if tls.implicit else 'STARTTLS'}", "bold"))
    table.add_row("cipher", _value(tls.cipher + (f" ({tls.bits} bits)" if tls.bits else "")))
    if tls.verified:
        table.add_row("verified", Text("✓ chain and name verified", style=f"bold {PALETTE['success']}"))
    else:
        table.add_row("verified", Text("✗ NOT VERIFIED" + (" (--insecure)" if state.insecure else ""), style=f"bold reverse {PALETTE['error']}"))
    table.add_row("server name", _value(tls.server_name or "-"))
    if tls.name_matches is not None:
        table.add_row("name matches", _yes(tls.name_matches))
    cert = tls.certificate
    if cert is not None:
        table.add_row("subject", _value(cert.subject))
        table.add_row("issuer", _value(cert.issuer))
        table.add_row("SAN", _value(", ".join(cert.san) or "-"))
        table.add_row("valid", _value(f"{cert.not_before} → {cert.not_after}"))
        style = f"bold {PALETTE['error']}" if cert.days_left < 0 else PALETTE["warning"] if cert.days_left < 14 else ""
        table.add_row("days left", _value(cert.days_left, style))
        table.add_row("key", _value(cert.key))
        if len(tls.chain) > 1:
            table.add_row("chain", _value(f"{len(tls.chain)} certificates (Ctrl+P → tls: certificate chain)"))
    return table


def auth_panel(state: SessionState) -> Text:
    if state.authenticated:  # the core's state: an authentication ends with its connection
        text = Text("✓ ", style=f"bold {PALETTE['success']}")
        text.append(safe_text(state.auth_user or "?"), style="bold")
        text.append(f" via {state.auth_mechanism}")
        return text
    mechanisms = state.features.auth_mechanisms
    text = Text("not authenticated", style="dim")
    if mechanisms:
        text.append("\nadvertised: ", style="dim")
        text.append(safe_text(" ".join(mechanisms)))
    return text


_FATE_STYLE = {"accepted": "success", "pending": "success", "temporary failure": "warning",
               "permanent failure": "error", "unknown": "warning", "not sent": "warning"}


def _recipient_rows(table: Table, transaction) -> None:
    for recipient in transaction.recipients:
        style = PALETTE[_FATE_STYLE.get(recipient.fate.value, "warning")]
        if recipient.fate.value == "pending":
            verdict = f"{recipient.rcpt_code} accepted at RCPT"
        else:
            where = f" at {recipient.decided_at}" if recipient.decided_at else ""
            code = f"{recipient.code} {recipient.enhanced or ''}".rstrip() if recipient.code is not None else ""
            verdict = f"{recipient.fate.value}{where}" + (f" ({code})" if code else "")
        table.add_row("RCPT TO", Text.assemble((safe_text(f"<{recipient.address}> "), "bold"),
                                               (safe_text(verdict), style)))


def transaction_panel(state: SessionState) -> Table | Text:
    """The ledger: the open transaction's envelope and each recipient's fate, or how the last one ended."""
    transaction = state.transaction
    if transaction is None:
        last = state.last_transaction
        if last is None:
            text = Text("no transaction", style="dim")
            if state.deliveries:
                text.append(f"\n{state.deliveries} message(s) accepted on this connection", style="dim")
            return text
        table = _grid()
        table.add_row("last", _value(f"transaction {last.index}: {last.status}", "bold"))
        table.add_row("MAIL FROM", _value(f"<{last.mail_from or ''}>", "bold"))
        _recipient_rows(table, last)
        if last.status == "unknown":
            table.add_row("", Text(UNKNOWN_WARNING, style=f"bold {PALETTE['warning']}"))
        return table
    table = _grid()
    sender = f"<{transaction.mail_from or ''}>"
    if not transaction.mail_accepted and transaction.mail_code is not None:
        sender += f" refused {transaction.mail_code}"
    table.add_row("MAIL FROM", _value(sender, "bold"))
    _recipient_rows(table, transaction)
    return table


def next_panel(state: SessionState) -> Text:
    text = Text("stage ", style="dim")
    text.append(state.stage.value, style="bold")
    if state.busy:
        text.append(f"\nrunning: {safe_text(state.running)}", style=PALETTE["warning"])
    text.append("\nnext: ", style="dim")
    valid = state.valid_next
    text.append(" ".join(valid[:6]), style="bold")
    if len(valid) > 6:
        text.append(" " + " ".join(valid[6:]), style="dim")
    return text


SECTIONS = (
    ("next", "Protocol", next_panel),
    ("connection", "Connection", connection_panel),
    ("greeting", "Greeting", greeting_panel),
    ("tls", "TLS", tls_panel),
    ("auth", "Authentication", auth_panel),
    ("transaction", "Transaction", transaction_panel),
    ("features", "ESMTP features", features_panel),
)


class Inspector(VerticalScroll, can_focus=True):
    """Side panel showing the session snapshot (F6 focuses it; arrows and Page keys scroll it)."""

    def compose(self) -> ComposeResult:
        for name, title, _ in SECTIONS:
            section = Static(id=f"inspect-{name}", classes="section")
            section.border_title = title
            yield section

    def update_state(self, state: SessionState) -> None:
        """Redraw every section from ``state``."""
        variables = self.app.theme_variables
        for key in PALETTE:
            PALETTE[key] = variables.get(key, PALETTE[key])
        for name, _, render in SECTIONS:
            section = self.query_one(f"#inspect-{name}", Static)
            section.update(render(state))
        tls = self.query_one("#inspect-tls", Static)
        tls.set_class(state.tls is not None and state.tls.verified, "-verified")
        tls.set_class(state.insecure or (state.tls is not None and not state.tls.verified), "-insecure")
        self.query_one("#inspect-transaction", Static).set_class(state.in_transaction, "-active")

