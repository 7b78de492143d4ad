"""SVG snapshots of what the core decided about a message: per-recipient fates in the transcript, the strip and the
inspector, and an unknown outcome. Scripted server (tests/tui/fakes.py), the core's tracker; typed at the prompt.

Regenerate after an intended change: ``pytest tests/tui/test_snapshots_outcomes.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.composer import ComposerScreen
from tests.tui.fakes import FakeSession


class SnapshotApp(SmtpdbgApp):
    def message_headers(self):
        return {"date": "Mon, 01 Jan 2024 00:00:00 +0000", "message_id": "<snapshot@client.smtpdbg.test>"}


def make_app(tmp_path, transport: str) -> SnapshotApp:
    return SnapshotApp(Target(transport, "mx.example.test", 24 if transport == "lmtp" else 25),
                       SessionOptions(timeout=30, local_hostname="client.smtpdbg.test"), session_factory=FakeSession,
                       history=History(tmp_path / "history"), startup=("connect", "ehlo"), latency=False)


def typed(*commands: str, header: str = ""):
    """``run_before``: each command typed at the prompt; ``data`` sends the composer's message (with ``header``)."""
    async def run_before(pilot):
        for command in commands:
            await pilot.press(*command, "enter")
            await pilot.pause()
            if command == "data":
                while not isinstance(pilot.app.screen, ComposerScreen):
                    await pilot.pause(0.01)
                if header:
                    editor = pilot.app.screen.query_one("#editor")
                    editor.text = header + "\n" + editor.text
                await pilot.press("ctrl+s")
                await pilot.pause()
        await pilot.pause()
        pilot.app.clear_notifications()  # the toasts would hide the stage strip
        pilot.app.query_one("CommandPrompt").input.cursor_blink = False  # the same cursor in every run
        await pilot.pause()
    return run_before


@pytest.fixture(autouse=True)
def _no_theme(monkeypatch):
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_lmtp_message_with_a_recipient_deferred(snap_compare, tmp_path):
    """bob and carol accepted, full deferred at the end of data: ⇒ lines, DATA 2/3 ✓, the last transaction's ledger."""
    assert snap_compare(make_app(tmp_path, "lmtp"), terminal_size=(120, 40), run_before=typed(
        "mail alice@example.test", "rcpt bob@example.test", "rcpt carol@example.test", "rcpt full@example.test",
        "data"))


def test_unknown_outcome(snap_compare, tmp_path):
    """The connection lost after the final dot: no reply, the outcome unknown, a retry may deliver a duplicate."""
    assert snap_compare(make_app(tmp_path, "smtp"), terminal_size=(120, 40), run_before=typed(
        "mail alice@example.test", "rcpt bob@example.test", "data", header="X-Fake-Drop: yes"))
