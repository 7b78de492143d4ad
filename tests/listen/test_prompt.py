"""``listen --hold`` at a terminal without the app: the prompt completes answers from the catalog."""

from __future__ import annotations

import io
import smtplib
import threading
import time

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from smtpdbg.core.catalog.replies import REPLY_CODES, explain_reply
from smtpdbg.listen.answers import completions
from smtpdbg.listen.printer import Printer
from smtpdbg.listen.prompt import AnswerCompleter, play_prompt
from tests.listen.conftest import address


def test_a_typed_code_completes_to_catalog_replies_with_their_meanings() -> None:
    found = dict(completions("45"))
    assert {int(text.split()[1]) for text in found} == {code for code in REPLY_CODES if 450 <= code <= 459}
    assert "reply 451 4.7.1 greylisted, try again later" in found
    assert found[f"reply 450 {explain_reply(450).text}"] == explain_reply(450).meaning
    assert all(text.startswith("reply 45") and meaning for text, meaning in found.items())
    assert [text for text, _ in completions("D")] == ["default", "drop"]
    assert all(meaning for _, meaning in completions("d"))
    assert completions("nonsense") == []


def test_the_completer_replaces_the_answer_after_a_connection_number() -> None:
    document = Document("@2 reply 55")
    found = list(AnswerCompleter().get_completions(document, CompleteEvent(completion_requested=True)))
    assert found and all(c.text.startswith("reply 55") and c.start_position == -len("reply 55") for c in found)
    by_text = {c.text: c.display_meta_text for c in found}
    assert by_text[f"reply 550 {explain_reply(550).text}"] == explain_reply(550).meaning


def _wait(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.02)


def test_tab_completes_a_code_at_the_prompt_and_the_client_gets_that_reply(start_listen) -> None:
    server = start_listen(hold=True)
    result: dict = {}

    def client() -> None:
        try:
            with smtplib.SMTP(*address(server), timeout=30) as smtp:
                result["noop"] = smtp.noop()
        except smtplib.SMTPException as exc:
            result["error"] = exc

    thread = threading.Thread(target=client)
    thread.start()
    out = io.StringIO()
    stop = threading.Event()
    with create_pipe_input() as pipe:
        session = PromptSession(completer=AnswerCompleter(), input=pipe, output=DummyOutput())
        player = threading.Thread(target=play_prompt, args=(server, Printer(out), stop), kwargs={"session": session})
        player.start()
        _wait(lambda: server.held)
        pipe.send_text("default\r")
        _wait(lambda: "NOOP" in getattr(server.held.get(1), "command", "").upper())
        buffer = session.default_buffer
        pipe.send_text("42")  # offered while typing: the answers that complete 42, with their meanings
        _wait(lambda: buffer.complete_state is not None and buffer.complete_state.completions)
        assert {c.text: c.display_meta_text for c in buffer.complete_state.completions}[
            f"reply 421 {explain_reply(421).text}"] == explain_reply(421).meaning
        pipe.send_text("\t")  # Tab takes the first
        _wait(lambda: buffer.text != "42")
        assert buffer.text == "reply 421 4.7.0 too many connections"
        pipe.send_text("\r")
        thread.join(30)
        pipe.send_text("\x04")  # Ctrl-D ends the prompt
        player.join(30)
    assert stop.is_set() and not player.is_alive()
    assert result == {"noop": (421, b"4.7.0 too many connections")}, out.getvalue()
    assert "=== [1] reply 421 4.7.0 too many connections" in out.getvalue()


def test_hold_with_print_at_a_terminal_gets_the_prompt_and_ctrl_d_ends_it() -> None:
    import os
    import pty
    import select
    import subprocess
    import sys

    from tests.conftest import repo_env

    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "smtpdbg", "listen", "--port", "0", "--hold", "--print",
                                "--no-tls"], stdin=child, stdout=child, stderr=child, env=repo_env(), close_fds=True)
    os.close(child)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"answer>" not in seen and time.monotonic() < deadline:
            if select.select([main], [], [], 0.5)[0]:
                seen += os.read(main, 4096)
        assert b"answer>" in seen, seen
        os.write(main, b"\x04")
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
