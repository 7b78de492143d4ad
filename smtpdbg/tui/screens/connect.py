"""The connect dialog: where to connect and how, for a new session.

Target, transport (SMTP with optional STARTTLS, implicit TLS, LMTP), timeout,
local hostname, CA file and certificate verification. It validates with the
core's target parser and dismisses with a :class:`ConnectRequest`; the app
replaces its session with a new one built from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from smtpdbg.core import values
from smtpdbg.core.session import SessionOptions
from smtpdbg.core.target import SCHEMES, Target
from smtpdbg.tui.screens.connect_profiles import fill, profile_widgets, read_profiles, with_profile

TRANSPORTS = (("smtp", "SMTP"), ("smtps", "SMTPS (implicit TLS)"), ("lmtp", "LMTP"))


@dataclass(frozen=True)
class ConnectRequest:
    """What the dialog asked for."""

    target: Target
    options: SessionOptions
    ehlo: bool = True
    """Send EHLO after the greeting."""
    starttls: bool = False
    """Then STARTTLS and EHLO again (SMTP only)."""

    @property
    def startup(self) -> tuple[str, ...]:
        """The commands to run on the new session."""
        commands = ["connect"]
        if self.ehlo or self.starttls:
            commands.append("ehlo")
        if self.starttls and self.target.transport == "smtp":
            commands += ["starttls", "ehlo"]
        return tuple(commands)


def _field(name: str, check, text: str):
    """``check(text)``, its error prefixed with the field's name (the checks the command line uses)."""
    try:
        return check(text)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def build_request(target_text: str, transport: str, timeout_text: str, local_hostname: str, ca: str, verify: bool,
                  ehlo: bool, starttls: bool, base: SessionOptions, *, sandbox: Target | None = None) -> ConnectRequest:
    """Validate the dialog's fields.

    Raises:
        ValueError: with a message naming the field.
    """
    text = target_text.strip()
    target = _field("target", values.target, text if "://" in text or text.startswith("/") else f"{transport}://{text}")
    if sandbox is not None and (target.host, target.port) == (sandbox.host, sandbox.port):
        target = replace(target, sandbox=True)
    timeout = _field("timeout", values.timeout, timeout_text)
    name = _field("local hostname", values.host_name, local_hostname.strip()) if local_hostname.strip() else None
    ca = ca.strip()
    if ca and not os.path.isfile(ca):
        raise ValueError(f"CA file: {ca}: no such file")
    options = replace(base, timeout=timeout, local_hostname=name, ca=ca or None,
                      insecure=not verify)
    return ConnectRequest(target, options, ehlo, starttls)


class ConnectScreen(ModalScreen[ConnectRequest | None]):
    """Ask where to connect."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, target: Target | None, options: SessionOptions, *, sandbox: Target | None = None) -> None:
        super().__init__()
        self.target = target
        self.options = options
        self.sandbox = sandbox
        """The sandbox's target, if one runs (its CA stays trusted)."""
        self.profiles, self.profiles_error = read_profiles()
        self.profile = None
        """The profile picked in the list, if any (its password source is read on connect)."""

    def compose(self) -> ComposeResult:
        target = self.target
        text = "" if target is None else (target.host if target.unix else f"{target.host}:{target.port}")
        transport = target.transport if target is not None else "smtp"
        with Vertical(id="connect-box", classes="dialog"):
            yield Label("[b]Connect[/b]: a new session replaces the current one")
            with Grid(id="connect-grid"):
                yield from profile_widgets(self.profiles, self.profiles_error)
                yield Label("target")
                yield Input(text, placeholder="host[:port], smtps://host:465, /path/to/lmtp.sock", id="target", compact=True)
                yield Label("transport")
                with RadioSet(id="transport", compact=True):
                    for value, label in TRANSPORTS:
                        yield RadioButton(label, value=value == transport, id=f"transport-{value}", compact=True)
                yield Label("after connect")
                with Horizontal(id="connect-after"):
                    yield Checkbox("EHLO", True, id="ehlo", compact=True)
                    yield Checkbox("STARTTLS", False, id="starttls", compact=True)
                yield Label("timeout (s)")
                yield Input(f"{self.options.timeout:g}", id="timeout", compact=True, type="number")
                yield Label("local hostname")
                yield Input(self.options.local_hostname or "", placeholder="(this machine's FQDN)", id="local-hostname",
                            compact=True)
                yield Label("CA file")
                yield Input(self.options.ca or "", placeholder="(system store)", id="ca", compact=True)
                yield Label("verify TLS")
                with Horizontal(id="connect-verify"):
                    yield Checkbox("verify", not self.options.insecure, id="verify", compact=True)
                    yield Static("", id="verify-note")
            yield Static("", id="connect-error", classes="dialog-warning", markup=False)  # quotes what was typed
            with Horizontal(classes="dialog-buttons"):
                yield Button("Connect", id="connect", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#connect-error").display = False  # until a field is wrong
        self.query_one("#target", Input).focus()
        self._verify_note(not self.options.insecure)

    @on(Checkbox.Changed, "#verify")
    def _verify_changed(self, event: Checkbox.Changed) -> None:
        self._verify_note(event.value)

    @on(Select.Changed, "#profile")
    def _profile_picked(self, event: Select.Changed) -> None:
        self.profile = self.profiles.get(event.value) if isinstance(event.value, str) else None
        if self.profile is not None:
            fill(self, self.profile)

    def _verify_note(self, verify: bool) -> None:
        note = self.query_one("#verify-note", Static)
        note.update("certificates are checked" if verify else "[b]OFF[/b]: shown as UNVERIFIED everywhere")
        note.set_class(not verify, "-warning")

    def _transport(self) -> str:
        pressed = self.query_one("#transport", RadioSet).pressed_button
        return pressed.id.removeprefix("transport-") if pressed is not None and pressed.id else "smtp"

    def _request(self) -> ConnectRequest | None:
        value = lambda name: self.query_one(f"#{name}", Input).value  # noqa: E731
        try:
            return with_profile(build_request(
                value("target"), self._transport(), value("timeout"), value("local-hostname"), value("ca"),
                self.query_one("#verify", Checkbox).value, self.query_one("#ehlo", Checkbox).value,
                self.query_one("#starttls", Checkbox).value, self.options, sandbox=self.sandbox), self.profile)
        except ValueError as error:
            message = self.query_one("#connect-error", Static)
            message.update(str(error))
            message.display = True
            return None

    @on(Input.Submitted)
    @on(Button.Pressed, "#connect")
    def _connect(self, event) -> None:
        event.stop()
        request = self._request()
        if request is not None:
            self.dismiss(request)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["ConnectRequest", "ConnectScreen", "SCHEMES", "build_request"]
