"""Polish a new user found (issue 16 §7): the footer at 80×24, the TLS stage on SMTPS, auth after a disconnect, F6."""

from __future__ import annotations

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.model.stages import EHLO, GREETED, TLS
from smtpdbg.tui.widgets.inspector import Inspector
from smtpdbg.tui.widgets.stages import StageStrip
from smtpdbg.tui.widgets.status import StatusBar
from smtpdbg.tui.widgets.transcript import TranscriptView
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeSession


def fake_app(tmp_path, **kwargs) -> SmtpdbgApp:
    kwargs.setdefault("startup", ("connect", "ehlo"))
    return SmtpdbgApp(Target("smtp", "mx.example.test", 25), SessionOptions(local_hostname="client.smtpdbg.test"),
                      session_factory=FakeSession, history=History(tmp_path / "history"), **kwargs)


def footer_keys(app) -> list:
    return [key for key in app.query("FooterKey") if key.display]


@pytest.mark.parametrize("focus", ["prompt", "transcript", "inspector"])
async def test_the_footer_fits_80x24_whatever_has_focus(tmp_path, focus):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        if focus == "inspector":
            await pilot.press("f2")
        for _ in range({"prompt": 0, "transcript": 1, "inspector": 2}[focus]):
            await pilot.press("f6")
        await pilot.pause()
        await pilot.pause()
        keys = footer_keys(app)
        regions = sorted((key.region for key in keys), key=lambda r: r.x)
        assert regions and all(r.right <= 80 and r.width > 0 for r in regions)
        assert all(a.right <= b.x for a, b in zip(regions, regions[1:]))  # no key runs under the next one
        for key in keys:  # each key drawn whole: its key and its description
            assert key.region.width >= len(key.key_display) + 1 + len(key.description)
        actions = [key.action for key in keys]
        assert "help" in actions and "quit" in actions and any(key.has_class("-command-palette") for key in keys)


async def test_f6_cycles_through_the_inspector_once_it_is_shown(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:  # narrow: the inspector starts hidden
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        assert not app.query_one(Inspector).display
        seen = []
        for _ in range(2):
            await pilot.press("f6")
            seen.append(type(app.focused).__name__)
        assert seen == ["TranscriptView", "CommandInput"]
        await pilot.press("f2")
        seen = []
        for _ in range(3):
            await pilot.press("f6")
            seen.append(type(app.focused).__name__)
        assert seen == ["TranscriptView", "Inspector", "CommandInput"]


async def test_the_tls_stage_lights_for_an_smtps_target_from_the_greeting(sandbox_remote):
    app = SmtpdbgApp(sandbox_remote.target("smtps"), sandbox_remote.options(), startup=("connect",))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.connected and len(app.outcomes) == 1, what="connect")
        strip = app.query_one(StageStrip)
        await wait_for(pilot, lambda: strip.track.state.connected, what="the strip to follow")
        statuses = [s.status for s in strip.track.segments()]
        assert (statuses[GREETED], statuses[EHLO], statuses[TLS]) == ("current", "todo", "done")
        line = strip.render()
        at = line.plain.index("TLS")
        styles = [span.style for span in line.spans if span.start <= at < span.end]
        assert styles == [strip.get_component_rich_style("stages--done", partial=True)]


async def test_the_status_bar_drops_the_login_when_the_connection_ends(sandbox_remote):
    app = SmtpdbgApp(sandbox_remote.target("smtp"), sandbox_remote.options(), startup=("connect", "ehlo"))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.does_esmtp, what="ehlo")
        app.submit("auth PLAIN alice", secret="wonderland")
        await wait_for(pilot, lambda: app.state.authenticated, what="auth")
        status = app.query_one(StatusBar)
        await wait_for(pilot, lambda: "auth alice" in str(status.render()), what="auth on the status bar")
        app.submit("quit")
        await wait_for(pilot, lambda: not app.state.connected, what="disconnect")
        await pilot.pause()
        assert not app.state.authenticated and app.state.auth_user is None  # the core's state says so
        assert "auth alice" not in str(status.render())
