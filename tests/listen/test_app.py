"""The listen app with Pilot: sessions appear, the transcript fills, and the server is played from the prompt."""

from __future__ import annotations

import asyncio
import smtplib
import threading

from smtpdbg.listen.app import ListenApp
from smtpdbg.listen.server import ListenConfig
from smtpdbg.tui.widgets.transcript import TranscriptView
from textual.widgets import Input, ListView, Static


async def wait_for(pilot, condition, rounds: int = 400) -> None:
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the condition never held")


async def test_playing_the_server_in_the_app() -> None:
    app = ListenApp(ListenConfig(port=0, hold=True, tls=False))
    result: dict = {}
    async with app.run_test(size=(120, 36)) as pilot:
        host, _, port = app.server.endpoints["smtp"].rpartition(":")

        def client() -> None:
            with smtplib.SMTP(host, int(port), timeout=30) as smtp:
                result["ehlo"] = smtp.ehlo("c.test")
                result["mail"] = smtp.mail("a@x.test")

        thread = threading.Thread(target=client)
        thread.start()
        prompt = app.query_one("#prompt", Input)

        async def answer(text: str, stage: str) -> None:
            await wait_for(pilot, lambda: any(h.stage == stage for h in app.server.held.values()))
            prompt.value = text
            await pilot.press("enter")

        await answer("default", "connect")
        assert "[1]" in str(app.query_one("#held", Static).render())
        prompt.value = "advertise PIPELINING, DSN"
        await pilot.press("enter")
        await answer("default", "helo")
        prompt.value = "reply 451 4.7.1 greylisted"
        await pilot.pause()
        assert "451:" in str(app.query_one("#meaning", Static).render())
        await answer("reply 451 4.7.1 greylisted", "mail")
        await answer("drop", "quit")
        thread.join(30)
        assert result["mail"] == (451, b"4.7.1 greylisted")
        assert result["ehlo"][1].endswith(b"\nPIPELINING\nDSN")
        assert len(app.query_one("#sessions", ListView).children) == 1
        view = app.query_one("#conn-1", TranscriptView)
        await wait_for(pilot, lambda: any("greylisted" in view.store.plain(r) for r in range(len(view.store))))
        texts = [view.store.plain(row) for row in range(len(view.store))]
        assert any(t.lower().startswith(" -> mail from:<a@x.test>") for t in texts), texts
        assert "<** 451 4.7.1 greylisted" in texts, texts


async def test_a_bad_answer_is_explained_and_nothing_is_sent() -> None:
    app = ListenApp(ListenConfig(port=0, hold=True, tls=False))
    async with app.run_test() as pilot:
        prompt = app.query_one("#prompt", Input)
        prompt.value = "reply 999 nope"
        await pilot.press("enter")
        await pilot.pause()
        assert prompt.value == "reply 999 nope"
        assert any("code from 200 to 599" in n.message for n in app._notifications)


async def test_the_mailbox_shows_what_was_delivered() -> None:
    app = ListenApp(ListenConfig(port=0, tls=False))
    async with app.run_test(size=(120, 36)) as pilot:
        host, _, port = app.server.endpoints["smtp"].rpartition(":")

        def client() -> None:
            with smtplib.SMTP(host, int(port), timeout=30) as smtp:
                smtp.sendmail("a@x.test", ["b@y.test"], b"Subject: boxed\r\n\r\nbad \x1b[31m bytes\r\n")

        await asyncio.get_running_loop().run_in_executor(None, client)
        await pilot.press("ctrl+o")
        await pilot.pause()
        content = str(app.screen.query_one("#content", Static).render())
        assert content.startswith("Return-Path: <a@x.test>\nX-Original-To: b@y.test\nSubject: boxed")
        assert "\x1b" not in content and "\\x1b[31m" in content
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]
