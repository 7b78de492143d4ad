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


def make_app(tmp_path, startup=("connect", "ehlo")) -> SnapshotApp:
    return SnapshotApp(TARGET, SessionOptions(timeout=30, local_hostname="client.smtpdbg.test"), session_factory=FakeSession,
                       history=History(tmp_path / "history"), startup=startup, latency=False)


def submit(*commands):
    async def run_before(pilot):
        for command in commands:
            pilot.app.submit(command)
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
    assert snap_compare(make_app(tmp_path), terminal_size=(120, 40), run_before=submit("starttls", "ehlo"),
                        press=["e", "h", "l", "o", "space"])


def test_tls_and_auth_in_the_inspector(snap_compare, tmp_path):
    app = make_app(tmp_path)

    async def run_before(pilot):
        for command in ("starttls", "ehlo"):
            app.submit(command)
        app.submit("auth PLAIN alice", secret="not-shown")
        await pilot.pause()
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_composer(snap_compare, tmp_path):
    async def run_before(pilot):
        for command in ("mail alice@example.test", "rcpt bob@example.test"):
            pilot.app.submit(command)
        await pilot.pause()
        pilot.app.query_one("CommandPrompt").set_text("data")
        await pilot.press("enter")
        await pilot.pause()
    assert snap_compare(make_app(tmp_path), terminal_size=(120, 40), run_before=run_before)


def test_error_reply(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=(120, 40),
                        run_before=submit("mail alice@example.test", "rcpt reject@example.test"))


def test_stage_strip_mid_session(snap_compare, tmp_path):
    """The protocol stages lit up to RCPT (TLS, the second EHLO and AUTH done), with latencies, at 80 columns."""
    app = make_app(tmp_path)

    async def run_before(pilot):
        for command in ("starttls", "ehlo"):
            app.submit(command)
        app.submit("auth PLAIN alice", secret="not-shown")
        for command in ("mail alice@example.test", "rcpt bob@example.test"):
            app.submit(command)
        await pilot.pause()
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
