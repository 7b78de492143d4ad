"""Every scenario of the hostile-server suite, through the app: typed at the prompt, bounded, named, terminal-safe.

The scenario table is the core suite's (tests/hostile/test_hostile_core.py
``CASES``). Each case's commands are typed at the prompt (``data`` goes
through the composer, ``auth`` through the masked password dialog), each must
settle within the timeout plus the suite's slack, and afterwards the app must
still be running and answer a local command. The fault is the core's: the
outcome has the case's category, the row store shows the core's Error event
as its error row and each expected warning as a warning row, and no display
line, row, note or rendered strip holds a raw control byte.
"""

from __future__ import annotations

import re
import time

import pytest

from smtpdbg.core import Error, Info, InfoKind, SessionOptions, Target
from smtpdbg.core.events import CommandEnd, CommandStart, Reply, Unanswered
from smtpdbg.core.render import error_text, safe_text
from smtpdbg.core.wire import Limits
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.model.outcomes import reply_kind, unanswered_text
from smtpdbg.tui.model.rows import explain_failure
from smtpdbg.tui.screens.composer import ComposerScreen
from smtpdbg.tui.screens.password import PasswordScreen
from smtpdbg.tui.widgets.prompt import CommandPrompt
from smtpdbg.tui.widgets.transcript import TranscriptView
from tests.hostile.test_hostile_core import CASES, SLACK, TIMEOUT, Case, _build, pki  # noqa: F401 - pki: a fixture
from tests.servers import FakeServer
from tests.tui.conftest import wait_for

SIZE = (120, 40)
BODY = "Subject: t\n\nhello\n"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 but tab and newline, DEL, C1 (U+0085 included), ESC, bidi controls, the line and paragraph separators."""


async def _type(pilot, app: SmtpdbgApp, command: str) -> float:
    """Enter ``command`` at the prompt, answer its dialog, wait for its outcome; return its seconds after submission."""
    before = len(app.outcomes)
    app.query_one(CommandPrompt).set_text(command)
    await pilot.press("enter")
    if command == "data":
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen) and app.screen.query("#editor"),
                       what="composer")
        app.screen.query_one("#editor").text = BODY
        await pilot.press("ctrl+s")
    elif command.startswith("auth "):
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen), what="password dialog")
        await pilot.press("p", "w", "enter")
    started = time.monotonic()
    await wait_for(pilot, lambda: len(app.outcomes) > before and not app.pending, timeout=TIMEOUT + SLACK + 2,
                   what=command)
    return time.monotonic() - started


async def _settled(pilot, app: SmtpdbgApp) -> None:
    """Every event the session recorded has reached the row store."""
    pump = app._pump
    await wait_for(pilot, lambda: not pump._scheduled and not pump._pending and not app.state.busy, timeout=5,
                   what="events drained")
    await pilot.pause()


def _rows(store, kinds: frozenset[int]) -> list[str]:
    return [store.texts[i] for i in range(len(store)) if store.kinds[i] & R.KIND in kinds]


def _assert_named(store, end: CommandEnd, events) -> None:
    """A failed command's row says it failed, and every fault the core recorded while it ran has its row."""
    [start] = [e for e in events if isinstance(e, CommandStart) and e.command_id == end.command_id]
    during = [e for e in events if start.seq < e.seq < end.seq]
    [row] = [r for r in store.commands if store.texts[r] == safe_text(start.text) and r in store.latency
             and store.walls[r] == start.wall]
    assert store.verdict(row).startswith("✗") and "-1" not in store.verdict(row), store.verdict(row)  # not smtplib's -1
    shown = {(store.kinds[i] & R.KIND, store.texts[i]) for i in range(len(store))}
    carriers = 0
    for event in during:
        if isinstance(event, Error):
            assert (R.ERROR, error_text(event)) in shown, (error_text(event), shown)
        elif isinstance(event, Unanswered):
            assert (R.NO_REPLY, unanswered_text(event)) in shown, (unanswered_text(event), shown)
        elif isinstance(event, Reply) and (event.verdict.failed or event.violation):
            [line] = [r for r, reply in store.replies.items() if reply is event]
            assert store.kinds[line] & R.KIND == reply_kind(event)
            assert not event.violation or store.violations[line] == event.violation
            if not event.unsolicited:  # explained where it came, as `run` does
                head = explain_failure(event.code, event.text, reply=event)[0]
                assert (R.EXPLAIN, head) in shown, (head, shown)
        elif isinstance(event, Info) and event.kind is InfoKind.WARNING:
            assert (R.WARN, safe_text(event.text)) in shown or (R.RULE, safe_text(event.text)) in shown, event
        else:
            continue
        carriers += 1
    assert carriers, f"{start.text}: failed ({end.category}) with nothing in its rows saying why"


def _assert_terminal_safe(view: TranscriptView) -> None:
    store = view.store
    shown = [view.line_text(i) for i in range(view.line_count)]
    shown += [store.plain(i) for i in range(len(store))] + list(store.notes.values())
    shown += [text for row in store.bodies for _, text in store.body_lines(row)]
    shown += [view.render_line(y).text for y in range(view.size.height)]
    for line in shown:
        found = UNSAFE.search(line)
        assert found is None, f"raw {found.group()!r} in a transcript line: {line!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_app_survives_hostile_server(case: Case, pki, history):
    options = SessionOptions(timeout=TIMEOUT, local_hostname="client.test", ca=pki["ca"], limits=case.limits or Limits(),
                             allow_plaintext_auth=True)  # as in the core suite: the AUTH cases test the exchange
    with FakeServer(_build(case, pki)) as server:
        app = SmtpdbgApp(Target("smtp", server.host, server.port), options, history=history, latency=False, startup=())
        async with app.run_test(size=SIZE) as pilot:
            for command in case.commands:
                elapsed = await _type(pilot, app, command)
                assert elapsed < TIMEOUT + SLACK, f"{command} outlived its timeout ({elapsed:.1f} s)"
            await _settled(pilot, app)
            outcomes = app.outcomes
            assert [o.command for o in outcomes] == case.commands
            for command, outcome in zip(case.commands[:-1], outcomes[:-1]):
                if command in case.earlier:
                    assert not outcome.ok and outcome.category == case.earlier[command], outcome
                else:
                    assert outcome.ok, outcome
            last = outcomes[-1]
            if case.category is None:
                assert last.ok, last
            else:
                expected = case.category if isinstance(case.category, tuple) else (case.category,)
                assert last.category in expected, last

            # the fault, named in the rows as the core judged it
            view = app.query_one(TranscriptView)
            events = app.session.transcript.snapshot()
            for failed in [e for e in events if isinstance(e, CommandEnd) and not e.ok]:
                _assert_named(view.store, failed, events)
            warnings = _rows(view.store, frozenset((R.WARN, R.RULE)))
            for expected_warning in case.warnings:
                said = [safe_text(e.text) for e in events if isinstance(e, Info) and e.kind is InfoKind.WARNING
                        and expected_warning in e.text]
                assert said and all(text in warnings for text in said), (expected_warning, warnings)
            _assert_terminal_safe(view)

            # still running and answering
            rows_before = len(view.store)
            await _type(pilot, app, "explain 250")
            assert app.is_running and app.outcomes[-1].ok, app.outcomes[-1]
            await _settled(pilot, app)
            assert len(view.store) > rows_before
            assert app._exception is None
        assert server.errors == []
