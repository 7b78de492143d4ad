"""Polish a new user found (issue 16 §7): the footer at 80×24, the TLS stage on SMTPS, auth after a disconnect, F6."""

from __future__ import annotations

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.model import rows as R
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


async def test_long_lines_wrap_at_the_panes_width_and_rewrap_when_it_changes(tmp_path):
    app = fake_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:  # the inspector takes its columns
        await wait_for(pilot, lambda: len(app.outcomes) == 2, what="startup")
        view = app.query_one(TranscriptView)
        long = "an explanation that goes on " + " ".join(f"word{n}" for n in range(60)) + " THE END"
        view.add_note(long)
        await pilot.pause()
        width = view.scrollable_content_region.width
        assert view.wrap_width() <= width < 120 - 40 and view.max_scroll_x == 0  # nothing scrolls sideways
        first = view.index_of(len(view.store) - 1)
        pieces = [view.line_text(i) for i in range(first, view.line_count)]
        assert len(pieces) > 2 and all(len(piece) <= view.wrap_width() for piece in pieces[1:])  # the first: whole
        indent, room = view._indent(), view.wrap_width()
        starts = view._starts(len(view.store) - 1, -1)
        assert pieces[0][:starts[1]] + "".join(p[indent:] for p in pieces[1:]) == pieces[0]  # every character, once
        assert all(piece.endswith(" ") for piece in [pieces[0][:starts[1]], *pieces[1:-1]])  # broken between words
        rows = [view.render_line(y).text for y in range(view.scrollable_content_region.height)]
        assert any(row.rstrip().endswith("THE END") for row in rows)  # the end is on screen, not cut
        await pilot.press("f2")  # the inspector hides: the pane widens, the line takes fewer display lines
        await pilot.pause()
        await pilot.pause()
        assert view.wrap_width() > width
        assert view.line_count - view.index_of(len(view.store) - 1) < len(pieces)


async def test_wrapping_a_huge_transcript_touches_only_its_long_lines(tmp_path):
    app = fake_app(tmp_path, startup=())
    async with app.run_test(size=(200, 30)) as pilot:
        view = app.query_one(TranscriptView)
        count = 200_000
        view.append_lines(bytes([R.SEND]) * count, [f"RCPT TO:<user{n}@example.org>" for n in range(count)], [0.0] * count)
        assert view._view_rows is None  # every line fits: no mapping at all
        view.append_lines(bytes([R.SEND]), ["x" * 500], [0.0])
        assert view.line_count == len(view.store) + len(view._starts(len(view.store) - 1, -1)) - 1 > len(view.store) + 2
        assert view.row_at(view.line_count - 1) == (len(view.store) - 1, -1) and view.part_at(view.line_count - 1) > 0
        view.append_lines(bytes([R.SEND]) * 3, ["a", "b", "c"], [0.0] * 3)
        assert view.line_text(view.line_count - 1).endswith("c") and view.part_at(view.line_count - 1) == 0
        await pilot.pause()
