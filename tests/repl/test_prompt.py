"""End-to-end REPL tests: a real PromptSession fed through a pipe, talking to the sandbox.

Completion runs asynchronously in prompt-toolkit, so each test waits for the
completion state (or the transcript) before sending the next key.
"""

from __future__ import annotations

import asyncio
import contextlib
import io

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from smtpdbg.core.history import History
from smtpdbg.repl.main import Repl

ENTER = "\r"
TAB = "\t"
CTRL_D = "\x04"
CTRL_R = "\x12"
CTRL_U = "\x15"


class Driver:
    """Runs a Repl on a pipe and waits on explicit conditions."""

    def __init__(self, repl: Repl, pipe, out: io.StringIO) -> None:
        self.repl, self.pipe, self.out = repl, pipe, out
        self.task: asyncio.Task | None = None

    async def wait(self, condition, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if self.task is not None and self.task.done():
                self.task.result()
                raise AssertionError("the REPL ended early:\n" + self.out.getvalue())
            if loop.time() > deadline:
                raise AssertionError("timed out; transcript:\n" + self.out.getvalue())
            await asyncio.sleep(0.01)

    async def wait_for(self, text: str) -> None:
        await self.wait(lambda: text in self.out.getvalue())

    def buffer(self):
        return self.repl.prompt.app.current_buffer

    async def wait_prompt(self) -> None:
        await self.wait(lambda: self.repl.prompt.app.is_running and not self.repl.session.state.busy)

    async def command(self, text: str, expect: str) -> None:
        await self.wait_prompt()
        self.pipe.send_text(text + ENTER)
        await self.wait_for(expect)


@pytest.fixture
async def driver(make_session, tmp_path):
    session = make_session()
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(session, history=History(tmp_path / "history"), input=pipe, output=DummyOutput(), stream=out)
        drv = Driver(repl, pipe, out)
        drv.task = asyncio.create_task(repl.run())
        await drv.wait_for("<-  220 ")
        yield drv
        if not drv.task.done():
            await drv.wait_prompt()
            pipe.send_text(CTRL_D)
            await asyncio.wait_for(drv.task, 10)


async def test_connects_on_start_and_tab_completes_a_command(driver):
    await driver.wait_prompt()
    driver.pipe.send_text("eh")
    await driver.wait(lambda: driver.buffer().complete_state is not None and driver.buffer().complete_state.completions)
    assert [c.text for c in driver.buffer().complete_state.completions][:2] == ["ehlo", "ehlo_or_helo_if_needed"]
    driver.pipe.send_text(TAB)
    await driver.wait(lambda: driver.buffer().text == "ehlo")
    driver.pipe.send_text(ENTER)
    await driver.wait_for("<-  250 HELP")
    assert " -> ehlo client.smtpdbg.test" in driver.out.getvalue()


async def test_argument_completion_follows_the_session_state(driver):
    await driver.command("ehlo", "250 HELP")
    await driver.wait_prompt()
    driver.pipe.send_text("auth ")
    await driver.wait(lambda: driver.buffer().complete_state is not None and driver.buffer().complete_state.completions)
    offered = {c.text: c.display_meta_text for c in driver.buffer().complete_state.completions}
    assert offered["PLAIN"] == "advertised"
    driver.pipe.send_text(CTRL_U)
    await driver.wait(lambda: driver.buffer().text == "")


async def test_password_is_asked_masked_and_never_kept(driver, tmp_path, sandbox):
    await driver.command("ehlo", "250 HELP")
    await driver.wait_prompt()
    driver.pipe.send_text("auth LOGIN alice" + ENTER)
    await driver.wait(lambda: driver.repl.aux.app.is_running)
    assert driver.repl.aux.is_password  # the prompt shows asterisks
    driver.pipe.send_text("wonderland" + ENTER)
    await driver.wait_for("235 2.7.0")
    # the intro names the sandbox's public demo login; the password typed must be nowhere after it
    intro, demo, transcript = driver.out.getvalue().partition("demo login alice / wonderland")
    assert demo and "=== connecting" in transcript
    assert "wonderland" not in transcript and "d29uZGVybGFuZA==" not in transcript
    assert "LOGIN password <hidden>" in transcript
    history = (tmp_path / "history").read_text()
    assert "auth LOGIN alice" in history and "wonderland" not in history
    assert "wonderland" not in list(driver.repl.aux.history.get_strings())


async def test_message_lines_after_a_password_are_shown_as_typed(driver, sandbox):
    # prompt-toolkit keeps is_password from one prompt to the next on the same session
    await driver.command("ehlo", "250 HELP")
    await driver.wait_prompt()
    driver.pipe.send_text("auth PLAIN alice" + ENTER)
    await driver.wait(lambda: driver.repl.aux.app.is_running)
    driver.pipe.send_text("wonderland" + ENTER)
    await driver.wait_for("235 2.7.0")
    for line, reply in (("mail alice@example.org", "2.1.0"), ("rcpt bob@example.org", "2.1.5")):
        await driver.command(line, reply)
    await driver.wait_prompt()
    driver.pipe.send_text("data" + ENTER)
    await driver.wait(lambda: driver.repl.aux.app.is_running)
    assert not driver.repl.aux.is_password  # the data> line shows what is typed
    for line in ("Subject: seen", "."):
        await driver.wait(lambda: driver.repl.aux.app.is_running)
        driver.pipe.send_text(line + ENTER)
        await asyncio.sleep(0.02)
    await driver.wait_for("message accepted")


@contextlib.asynccontextmanager
async def repl_on_fake(behaviour, history: History | None = None, **settings):
    """A REPL on a session with a scripted fake server (not the sandbox: no exemption from the consent rules);
    the test drives it, then it is left with Ctrl-D, which must exit 0."""
    from smtpdbg.core import SessionOptions, Session, Target
    from tests.servers import FakeServer

    environ = settings.pop("environ", None)
    with FakeServer(behaviour) as server:
        session = Session(Target("smtp", server.host, server.port), SessionOptions(timeout=10, **settings),
                          environ=environ)
        try:
            with create_pipe_input() as pipe:
                repl = Repl(session, history=history or History(persist=False), input=pipe, output=DummyOutput(),
                            stream=io.StringIO())
                drv = Driver(repl, pipe, repl.stream)
                drv.server = server
                drv.task = asyncio.create_task(repl.run())
                yield drv
                await drv.wait_prompt()
                pipe.send_text(CTRL_D)
                assert await asyncio.wait_for(drv.task, 10) == 0
        finally:
            session.shutdown()


async def test_a_silent_server_gets_a_hint_that_ctrl_c_aborts(tmp_path, monkeypatch):
    from smtpdbg.repl import main
    from tests.servers import esmtp

    monkeypatch.setattr(main, "QUIET_HINT", 0.2)
    async with repl_on_fake(esmtp(NOOP=lambda conn, line: conn.hang(30))) as drv:
        await drv.command("noop", "=== noop: waiting for the server")
        assert "Ctrl-C aborts" in drv.out.getvalue()
        drv.repl._interrupt()  # what Ctrl-C runs
        await drv.wait_for("aborted by the user")


async def test_data_reads_lines_until_a_lone_dot(driver, sandbox):
    for line, reply in (("ehlo", "250 HELP"), ("mail alice@example.org", "2.1.0"), ("rcpt bob@example.org", "2.1.5")):
        await driver.command(line, reply)
    await driver.wait_prompt()
    driver.pipe.send_text("data" + ENTER)
    for line in ("Subject: typed", "", ".starts with a dot", "."):
        await driver.wait(lambda: driver.repl.aux.app.is_running)
        driver.pipe.send_text(line + ENTER)
        await asyncio.sleep(0.02)
    await driver.wait_for("message accepted")
    assert sandbox.messages[-1].content == b"Subject: typed\r\n\r\n.starts with a dot\r\n"
    assert " -> ..starts with a dot" in driver.out.getvalue()


async def test_ctrl_r_finds_an_earlier_command(driver):
    await driver.command("noop", "<-  250")
    await driver.command("rset", "-> rset")
    await driver.wait_prompt()
    prompt = driver.repl.prompt
    driver.pipe.send_text(CTRL_R)
    await driver.wait(lambda: prompt.app.layout.is_searching)
    driver.pipe.send_text("no")
    await driver.wait(lambda: prompt.app.current_buffer.text == "no")  # the search field has it
    driver.pipe.send_text(ENTER)  # ends the search and keeps the match at the prompt, to edit or run
    await driver.wait(lambda: not prompt.app.layout.is_searching)
    assert prompt.default_buffer.text == "noop" and driver.out.getvalue().count(" -> noop") == 1
    driver.pipe.send_text(ENTER)
    await driver.wait(lambda: driver.out.getvalue().count(" -> noop") == 2)


async def test_save_script_from_the_repl_and_ctrl_d_says_quit(driver, tmp_path):
    await driver.command("ehlo", "250 HELP")
    path = tmp_path / "session.smtp"
    await driver.command(f"save script {path}", "saved script")
    assert "ehlo\nexpect 250\n" in path.read_text()
    await driver.wait_prompt()
    driver.pipe.send_text(CTRL_D)
    assert await asyncio.wait_for(driver.task, 10) == 0
    assert " -> quit" in driver.out.getvalue() and "221" in driver.out.getvalue()


async def test_vi_mode_accepts_commands(make_session, tmp_path):
    session = make_session()
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(session, history=History(persist=False), vi=True, input=pipe, output=DummyOutput(), stream=out)
        drv = Driver(repl, pipe, out)
        drv.task = asyncio.create_task(repl.run())
        await drv.wait_for("<-  220 ")
        assert repl.prompt.app.editing_mode.value == "VI"
        await drv.command("noop", "<-  250")
        await drv.wait_prompt()
        pipe.send_text("exit" + ENTER)
        assert await asyncio.wait_for(drv.task, 10) == 0


async def test_a_lesson_in_the_interactive_repl(make_session, tmp_path, sandbox):
    from smtpdbg.core.lessons import find_lesson
    from smtpdbg.repl.lesson import LessonCoach
    from smtpdbg.repl.toolbar import toolbar

    lesson = find_lesson("first-conversation")
    coach = LessonCoach(lesson)
    session = make_session()
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(session, history=History(persist=False), input=pipe, output=DummyOutput(), stream=out,
                    explain=True, lesson=coach)
        drv = Driver(repl, pipe, out)
        drv.task = asyncio.create_task(repl.run())
        await drv.wait_for("--- step 1 of 5: Say who you are")
        assert "=== lesson: The first conversation" in out.getvalue()
        bar = "".join(text for _, text in toolbar("", session.state, coach.toolbar()))
        assert "lesson first-conversation 1/5" in bar and "try: helo client.example" in bar
        await drv.command("rset", "!!! lesson: not yet: this step wants helo, not rset")
        await drv.command("helo client.example", "=== lesson: ✓ Say who you are")
        assert "   ↳ 250 to HELO → ok" in out.getvalue()  # --explain is on in lessons
        await drv.command("set explain off", "explain off")
        await drv.command("mail alice@sandbox.smtpdbg.test", "--- step 3 of 5")
        await drv.command("rcpt bob@sandbox.smtpdbg.test", "--- step 4 of 5")
        await drv.wait_prompt()
        pipe.send_text("data" + ENTER)
        suggested = lesson.steps[3].body.splitlines() + ["."]
        for line in suggested:  # each data> line comes pre-filled: Enter takes it
            await drv.wait(lambda: repl.aux.app.is_running and repl.aux.app.current_buffer.text == line)
            pipe.send_text(ENTER)
            await asyncio.sleep(0.02)
        await drv.wait_for("=== lesson: ✓ Send the message")
        assert sandbox.messages[-1].content == lesson.steps[3].body.replace("\n", "\r\n").encode()
        assert "↳ 250 2.0.0" not in out.getvalue().split("explain off")[1]
        await drv.command("quit", "lesson complete")
        assert coach.progress.done
        await drv.wait_prompt()
        pipe.send_text(CTRL_D)
        assert await asyncio.wait_for(drv.task, 10) == 0


async def test_no_password_is_asked_for_a_cleartext_login_without_consent(tmp_path):
    """Issue 13 §1: the consent check comes first; the password is asked only once sending it is allowed."""
    from tests.servers import esmtp

    ehlo = b"250-plain.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"
    async with repl_on_fake(esmtp(EHLO=ehlo, AUTH=b"235 2.7.0 ok\r\n")) as drv:
        out, repl = drv.out, drv.repl
        await drv.command("ehlo", "250 AUTH PLAIN LOGIN")
        for command in ("login alice", "auth PLAIN alice"):
            asked = out.getvalue().count("password for")
            refusals = out.getvalue().count("*** refused: the password")
            await drv.command(command, "")
            await drv.wait(lambda: out.getvalue().count("*** refused: the password") > refusals)
            shown = out.getvalue()
            assert "run `starttls` first" in shown and "set plaintext-auth allow" in shown
            assert shown.count("password for") == asked and not repl.aux.app.is_running
        await drv.command("set plaintext-auth once", "plaintext-auth once")
        await drv.wait_prompt()
        drv.pipe.send_text("auth PLAIN alice" + ENTER)  # allowed now: the password is asked
        await drv.wait(lambda: repl.aux.app.is_running)
        assert repl.aux.is_password
        drv.pipe.send_text("wonderland" + ENTER)
        await drv.wait_for("235 2.7.0")
    wire = b"".join(bytes(conn.received) for conn in drv.server.connections)
    assert wire.upper().count(b"AUTH") == 1 and b"wonderland" not in wire


async def test_no_password_is_asked_for_a_login_after_the_connection_is_gone():
    """The session's needs say the login cannot be sent: no prompt, the command says "not connected" at once."""
    from tests.servers import esmtp

    async with repl_on_fake(esmtp(EHLO=lambda conn, line: conn.close())) as drv:
        await drv.command("ehlo", "not connected now")
        await drv.command("login alice", "not connected: use `connect` first (or `reconnect`)")
        assert "password for" not in drv.out.getvalue() and not drv.repl.aux.app.is_running


async def test_the_session_password_typed_on_a_line_is_masked_in_the_history_and_transcript(tmp_path):
    import base64

    from tests.servers import esmtp

    password = "s3cret-wonderland"
    encoded = base64.b64encode(password.encode()).decode()
    async with repl_on_fake(esmtp(), History(tmp_path / "history"), password_env="PW", environ={"PW": password}) as drv:
        await drv.command("ehlo", "250 8BITMIME")
        await drv.command(f"docmd {encoded}", " -> ********")
        await drv.command(f"docmd NOOP {password}", " -> NOOP ********")
    history = (tmp_path / "history").read_text()
    assert "docmd ********" in history and "docmd NOOP ********" in history
    for text in (history, drv.out.getvalue(), "\n".join(drv.repl.prompt.history.get_strings())):
        assert password not in text and encoded not in text


async def test_leaving_inside_message_text_closes_without_quit(driver, sandbox):
    for command, reply in (("ehlo", "250 HELP"), ("mail a@example.org", "2.1.0"), ("rcpt b@example.org", "2.1.5"),
                           ("raw DATA", "354")):
        await driver.command(command, reply)
    await driver.wait_prompt()
    driver.pipe.send_text(CTRL_D)
    assert await asyncio.wait_for(driver.task, 10) == 0
    out = driver.out.getvalue().split("354", 1)[1]
    assert " -> quit" not in out and "closed without QUIT" in out and "timed out" not in out
    assert sandbox.messages == []
