"""The app's mailbox view: what the embedded sandbox delivered, as stored."""

from __future__ import annotations

import io
import smtplib

import pytest
from rich.console import Console

from smtpdbg.core import SessionOptions, Target
from smtpdbg.sandbox import Sandbox
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.help import InfoScreen
from smtpdbg.tui.widgets.prompt import CommandPrompt
from tests.tui.conftest import transcript_text, wait_for

MESSAGE = b"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nFrom: alice@example.com\r\nTo: bob@example.com\r\nSubject: Lunch\r\n\r\nNoon?\r\n"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


def app_on(sandbox: Sandbox, history, **options) -> SmtpdbgApp:
    host, port = sandbox.endpoints.smtp
    return SmtpdbgApp(Target("smtp", host, port, sandbox=True),
                      SessionOptions(local_hostname="client.smtpdbg.test", ca=sandbox.endpoints.ca_path, **options),
                      history=history, latency=False, startup=("connect",))


def screen_text(screen: InfoScreen) -> str:
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(screen.content)
    return console.export_text()


async def test_the_mailbox_view_shows_what_was_delivered(sandbox, history):
    sandbox.clear_messages()
    with smtplib.SMTP(*sandbox.endpoints.smtp, local_hostname="mua.example", timeout=5) as smtp:
        smtp.sendmail("bounces@example.com", ["bob@example.com", "carol@example.com"], MESSAGE)
    app = app_on(sandbox, history, mailbox=sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 1 and not app.state.busy, what="connected")
        app.action_mailbox()
        await wait_for(pilot, lambda: isinstance(app.screen, InfoScreen), what="the mailbox view")
        text = screen_text(app.screen)
        assert "1. from <bounces@example.com> to <bob@example.com>, <carol@example.com>  — Lunch" in text
        assert "Return-Path: <bounces@example.com>" in text
        assert "Received: from mua.example ([127.0.0.1])" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, InfoScreen), what="closed")
        app.query_one(CommandPrompt).set_text("mailbox")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "1. from <bounces@example.com>" in transcript_text(app), what="mailbox output")


async def test_the_mailbox_view_says_so_without_the_embedded_sandbox(sandbox, history):
    app = app_on(sandbox, history)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: len(app.outcomes) == 1 and not app.state.busy, what="connected")
        app.action_mailbox()
        await pilot.pause()
        assert not isinstance(app.screen, InfoScreen)
        assert any("not the embedded sandbox" in str(n.message) for n in app._notifications)
