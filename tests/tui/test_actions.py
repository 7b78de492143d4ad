"""App actions: connect dialog, palette, save, copy, timestamps (scripted session unless a real one is needed)."""

from __future__ import annotations

import os
import stat

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.connect import ConnectScreen, build_request
from smtpdbg.tui.widgets.transcript import TranscriptView
from tests.tui.conftest import transcript_text, wait_for
from tests.tui.fakes import FakeSession


def fake_app(tmp_path, **kwargs) -> SmtpdbgApp:
    kwargs.setdefault("startup", ("connect", "ehlo"))
    return SmtpdbgApp(Target("smtp", "mx.example.test", 25), SessionOptions(local_hostname="client.smtpdbg.test"),
                      session_factory=FakeSession, history=History(tmp_path / "history"), latency=False, **kwargs)


def test_build_request_validates_fields(tmp_path):
    base = SessionOptions()
    request = build_request("mail.example.org", "smtps", "12", "me.example", "", False, True, False, base)
    assert request.target == Target("smtps", "mail.example.org", 465)
    assert request.options.insecure and request.options.timeout == 12 and request.options.local_hostname == "me.example"
    assert request.startup == ("connect", "ehlo")
    assert build_request("h:2525", "smtp", "5", "", "", True, True, True, base).startup == ("connect", "ehlo", "starttls", "ehlo")
    for args, field in ((("h:99999", "smtp", "5"), "target"), (("h", "smtp", "x"), "timeout"), (("h", "smtp", "0"), "timeout")):
        with pytest.raises(ValueError, match=field):
            build_request(*args, "", "", True, True, False, base)
    with pytest.raises(ValueError, match="CA file"):
        build_request("h", "smtp", "5", "", str(tmp_path / "missing.pem"), True, True, False, base)


async def test_connect_dialog_opens_a_new_session_over_implicit_tls(sandbox_remote, history):
    app = SmtpdbgApp(sandbox_remote.target(), sandbox_remote.options(), history=history, latency=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) >= 2, what="startup")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnectScreen), what="dialog")
        host, port = sandbox_remote.smtps
        app.screen.query_one("#target").value = f"smtps://{host}:{port}"
        await pilot.click("#connect")
        await wait_for(pilot, lambda: app.state.tls is not None and app.state.does_esmtp, what="smtps session")
        assert app.state.transport == "smtps" and app.state.tls.verified and app.state.tls.implicit
        assert len(app.sessions) == 2
        assert "a new session starts" in transcript_text(app)


async def test_palette_lists_actions_in_group_form(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for expected in ("session: connect…", "session: sandbox", "view: toggle inspector", "view: timestamps absolute",
                         "transcript: save as text…", "app: change theme", "app: screenshot (SVG)", "command: ehlo"):
            assert expected in titles
        assert all(": " in title for title in titles)


async def test_save_transcript_is_private_and_has_no_password(tmp_path):
    app = fake_app(tmp_path, startup=("connect", "ehlo", "starttls", "ehlo"))
    async with app.run_test(size=(120, 40)) as pilot:
        app.submit("auth PLAIN alice", secret="s3cr3t-password")
        await pilot.pause()
        path = tmp_path / "out.txt"
        app.save_transcript(str(path))
        await app.workers.wait_for_complete()
        text = path.read_text()
        assert "AUTH PLAIN ********" in text and "s3cr3t" not in text and "<-  220 mx.example.test" in text
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_copy_exchange_and_timestamps(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(TranscriptView)
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        await pilot.pause()
        view.focus()
        [ehlo] = [i for i in range(view.line_count) if view.line_text(i).startswith("  ▸ ehlo")]
        view.move_cursor(ehlo + 3)
        await pilot.press("c")
        copied = app.clipboard.splitlines()
        assert copied[0].startswith("  ▸ ehlo") and copied[1] == " -> ehlo client.smtpdbg.test"
        assert copied[-1] == "<-  250 SMTPUTF8"
        await pilot.press("t")
        assert view.timestamps == "absolute" and view.line_text(0)[2] == ":"
        await pilot.press("t")
        assert view.timestamps == "delta" and view.line_text(1).startswith("+")


async def test_follow_tail_pauses_when_scrolled_up(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TranscriptView)
        for _ in range(10):
            app.submit("noop")
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y > 0
        view.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert not view.follow
        app.submit("noop")
        await pilot.pause()
        assert view.scroll_y == 0 and view.unseen > 0 and "new" in view.border_subtitle
        view.focus()
        await pilot.press("end")
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y
