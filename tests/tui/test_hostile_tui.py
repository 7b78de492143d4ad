"""The app facing hostile servers: it shows what happened in plain words, stays responsive, never renders raw escapes."""

from __future__ import annotations

from smtpdbg.core import SessionOptions, Target
from smtpdbg.tui.app import SmtpdbgApp
from tests.servers import FakeServer, esmtp
from tests.tui.conftest import transcript_text, wait_for
from tests.tui.test_flows import SIZE, ready, run

TLS_EHLO = b"250-fake.test\r\n250 STARTTLS\r\n"


def app_for(server: FakeServer, history, timeout: float = 3.0) -> SmtpdbgApp:
    return SmtpdbgApp(Target("smtp", server.host, server.port), SessionOptions(timeout=timeout, local_hostname="client.test"),
                      history=history, latency=False, startup=("connect", "ehlo"))


def screen_text(app: SmtpdbgApp) -> str:
    return app.export_screenshot()


async def test_escape_sequences_in_replies_are_shown_escaped(history):
    evil = b"250 \x1b[2J\x1b]0;owned\x07 \xe2\x80\xae reversed \xff\r\n"
    with FakeServer(esmtp(NOOP=evil)) as server:
        app = app_for(server, history)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await run(pilot, app, "noop")
            text = transcript_text(app)
            assert "\\x1b[2J" in text and "\\x1b]0;owned\\x07" in text and "\\u202e" in text and "\\xff" in text
            assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text


async def test_an_oversized_line_is_reported_and_the_app_goes_on(history):
    huge = lambda conn, line: conn.send(b"250 " + b"z" * 100_000 + b"\r\n")  # noqa: E731
    with FakeServer(esmtp(NOOP=huge)) as server:
        app = app_for(server, history)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await ready(pilot, app)
            await run(pilot, app, "noop")
            assert app.outcomes[-1].category == "line-too-long"
            assert "reply line of 100,006 bytes; limit 8,192" in transcript_text(app)
            await run(pilot, app, "reconnect")
            assert app.outcomes[-1].ok and app.state.connected


async def test_a_silent_server_times_out_without_freezing(history):
    with FakeServer(esmtp(NOOP=lambda conn, line: conn.hang())) as server:
        app = app_for(server, history, timeout=1.0)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            app.submit("noop")
            await wait_for(pilot, lambda: app.state.busy, what="busy")
            await pilot.press("h", "e", "l", "p")  # the prompt still takes keys while the command runs
            await wait_for(pilot, lambda: not app.state.busy and len(app.outcomes) == 3, timeout=5, what="timeout")
            assert app.outcomes[-1].category == "timeout"
            assert "timed out" in transcript_text(app)


async def test_protocol_violations_are_flagged(history):
    with FakeServer(esmtp(NOOP=b"250 ok\r\n421 4.4.2 bye for now\r\n", EHLO=b"250-fake\n250 SIZE 10\r\n")) as server:
        app = app_for(server, history)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await run(pilot, app, "noop")
            await pilot.pause(0.2)
            await run(pilot, app, "rset")
            text = transcript_text(app)
            assert "bare LF" in text and "unsolicited reply 421" in text


async def test_starttls_injection_is_refused_in_the_app(history):
    inject = b"220 go ahead\r\n250-injected after the 220\r\n"
    with FakeServer(esmtp(EHLO=TLS_EHLO, STARTTLS=inject)) as server:
        app = app_for(server, history)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await run(pilot, app, "starttls")
            assert app.outcomes[-1].category == "starttls-injection"
            assert "STARTTLS command injection" in transcript_text(app)
            assert not app.state.connected


async def test_markup_in_a_reply_is_shown_literally_and_never_crashes_a_notification(history):
    # Textual renders a notification's message as markup unless told not to: a server could style it, or end the app
    evil = b"550 5.7.1 [bold red]HACKED[/] [link=http://evil.example]click[/link] [/] [\r\n"
    with FakeServer(esmtp(MAIL=evil)) as server:
        app = app_for(server, history)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await ready(pilot, app)
            await run(pilot, app, "mail a@example.org")
            await pilot.pause(0.2)  # the toasts render
            assert app.is_running and app.outcomes[-1].code == 550
            [toast] = [n for n in app._notifications if "HACKED" in n.message]
            assert "[bold red]HACKED[/] [link=http://evil.example]click[/link]" in toast.message and not toast.markup
            await run(pilot, app, "rset")  # and the app goes on
            assert app.outcomes[-1].ok


async def test_a_refused_starttls_is_explained_and_notified_once(history):
    with FakeServer(esmtp(EHLO=TLS_EHLO, STARTTLS=b"454 4.7.0 TLS not available due to temporary reason\r\n")) as server:
        app = app_for(server, history)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await ready(pilot, app)
            await run(pilot, app, "starttls")
            await pilot.pause(0.1)
            assert app.outcomes[-1].code == 454
            text = transcript_text(app)
            assert text.count("↳ 454 4.7.0 to STARTTLS → temporary failure") == 1 and text.count("↳ next:") == 1
            assert len([n for n in app._notifications if "454" in n.message]) == 1
