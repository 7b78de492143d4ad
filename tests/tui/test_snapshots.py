"""SVG snapshots of the key screens, on a scripted session (fixed addresses, certificate and text).

Regenerate after an intended change: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.tui.app import SmtpdbgApp
from tests.tui.fakes import FakeSession

TARGET = Target("smtp", "mx.example.test", 25)


class SnapshotApp(SmtpdbgApp):
    def message_headers(self):
        return {"date": "Mon, 01 Jan 2024 00:00:00 +0000", "message_id": "<snapshot@client.smtpdbg.test>"}

    def on_mount(self) -> None:
        # A blinking cursor would make a snapshot depend on the moment it is taken (keys typed restart the blink).
        self.query_one("#command").cursor_blink = False


def make_app(tmp_path, startup=("connect", "ehlo")) -> SnapshotApp:
    return SnapshotApp(TARGET, SessionOptions(timeout=30, local_hostname="client.smtpdbg.test"), session_factory=FakeSession,
                       history=History(tmp_path / "history"), startup=startup, latency=False)


async def type_command(pilot, command: str, *, password: str = "") -> None:
    """Type a command at the prompt key by key and press Enter, as a user does (and the password, when asked)."""
    from smtpdbg.tui.screens.password import PasswordScreen

    await pilot.press(*command, "enter")
    if password:
        while not (isinstance(pilot.app.screen, PasswordScreen) and pilot.app.screen.query("#password")):
            await pilot.pause(0.01)
        await pilot.press(*password, "enter")
    await pilot.pause()


def typed(*commands, password: str = ""):
    """``run_before`` for snap_compare: the commands typed at the prompt (``auth``/``login`` get ``password``)."""
    async def run_before(pilot):
        for command in commands:
            await type_command(pilot, command, password=password if command.startswith(("auth", "login")) else "")
        await pilot.pause()
    return run_before


@pytest.fixture(autouse=True)
def _no_theme(monkeypatch):
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_first_screen(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=(120, 40))


def test_first_screen_at_80x24(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=(80, 24))


def test_completion_dropdown(snap_compare, tmp_path):
    # the candidates of EHLO's argument come from the session; other menus follow the core's tables as they grow
    assert snap_compare(make_app(tmp_path), terminal_size=(120, 40), run_before=typed("starttls", "ehlo"),
                        press=["e", "h", "l", "o", "space"])


def test_tls_and_auth_in_the_inspector(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=(120, 40),
                        run_before=typed("starttls", "ehlo", "auth PLAIN alice", password="not-shown"))


def test_composer(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=(120, 40),
                        run_before=typed("mail alice@example.test", "rcpt bob@example.test", "data"))


def test_error_reply(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=(120, 40),
                        run_before=typed("mail alice@example.test", "rcpt reject@example.test"))


def test_stage_strip_mid_session(snap_compare, tmp_path):
    """The protocol stages lit up to RCPT (TLS, the second EHLO and AUTH done), with latencies, at 80 columns."""
    assert snap_compare(make_app(tmp_path), terminal_size=(80, 24),
                        run_before=typed("starttls", "ehlo", "auth PLAIN alice", "mail alice@example.test",
                                         "rcpt bob@example.test", password="not-shown"))
