"""The composer's wire view is what DATA sends: both come from the core's body encoders, byte for byte."""

from __future__ import annotations

import re

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.render import safe_text
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.composer import ComposerScreen
from smtpdbg.tui.widgets.prompt import CommandPrompt
from tests.servers import Conn, FakeServer, esmtp
from tests.tui.conftest import wait_for
from tests.tui.test_flows import SIZE, _plain, ready, run

# leading dots (one alone on its line: DATA would end there unstuffed), bare LF and CRLF mixed, a bare CR,
# UTF-8 and a byte that is not UTF-8
MESSAGE = (b"Subject: caf\xc3\xa9 \xe2\x80\x94 dots\r\n\r\n.leading dot\nbare LF\r\n..two dots\n.\n"
           b"\xff latin-1 byte\rafter a bare CR\n\xe6\x97\xa5\xe6\x9c\xac\nlast line without an ending")


def recording_server() -> tuple[FakeServer, list[bytes]]:
    """A server that keeps every byte DATA received between its 354 and the final dot line."""
    received: list[bytes] = []

    def data(conn: Conn, line: bytes) -> None:
        conn.send(b"354 go ahead\r\n")
        received.append(conn.read_data())
        conn.send(b"250 2.0.0 queued\r\n")

    return FakeServer(esmtp(DATA=data)), received


def fake_app(server: FakeServer, history) -> SmtpdbgApp:
    return SmtpdbgApp(Target("smtp", server.host, server.port), SessionOptions(timeout=5, local_hostname="client.test"),
                      history=history, latency=False, startup=("connect", "ehlo"))


async def _in_transaction(pilot, app: SmtpdbgApp, sender: str = "a@b.test", recipient: str = "c@d.test") -> None:
    await ready(pilot, app)
    await run(pilot, app, f"mail {sender}")
    await run(pilot, app, f"rcpt {recipient}")


async def _open_composer(pilot, app: SmtpdbgApp, command: str = "data") -> ComposerScreen:
    app.query_one(CommandPrompt).set_text(command)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen) and app.screen.query("#editor"),
                   what="composer")
    return app.screen


async def test_the_wire_view_is_what_the_server_receives(tmp_path, history):
    path = tmp_path / "message.eml"
    path.write_bytes(MESSAGE)
    server, received = recording_server()
    with server:
        app = fake_app(server, history)
        async with app.run_test(size=SIZE) as pilot:
            await _in_transaction(pilot, app)
            composer = await _open_composer(pilot, app)
            await pilot.press("ctrl+o")  # load the message file into the editor
            composer.query_one("#load-path").value = str(path)
            await pilot.press("enter")
            await wait_for(pilot, lambda: "leading dot" in composer.query_one("#editor").text, what="file loaded")
            await pilot.pause()
            wire = composer.wire
            shown = _plain(composer.query_one("#wire-text"))
            summary = _plain(composer.query_one("#wire-summary"))
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.outcomes[-1].command == "data" and not app.pending, what="data sent")
            assert app.outcomes[-1].ok, app.outcomes[-1]
    [raw] = received
    assert wire.payload == raw and wire.terminator == b".\r\n"
    # what the view says is that payload, line for line (the stuffed dot marked)
    lines = wire.payload.split(b"\r\n")[:-1]
    view = [re.sub(r"  # dot-stuffed$", "", line.removeprefix(" -> ").removesuffix("␍␊"))
            for line in shown.rstrip("\n").split("\n")[:-1]]
    assert view == [safe_text(line) for line in lines]
    assert wire.stuffed == 3 and f"{wire.stuffed} dot-stuffed" in summary
    # the evidence: dots doubled, every line ending CRLF, the non-UTF-8 byte and the UTF-8 text kept as they were
    assert b"\r\n..leading dot\r\nbare LF\r\n...two dots\r\n..\r\n" in raw
    assert b"\xff latin-1 byte\r\nafter a bare CR\r\n" in raw and "café — dots".encode() in raw
    assert raw.count(b"\n") == raw.count(b"\r\n") and raw.endswith(b"without an ending\r\n")


async def test_the_body_sent_is_the_core_encoding_of_the_typed_lines(sandbox_remote, history):
    from smtpdbg.core.script import encode_body

    from tests.tui.test_flows import make_app

    app = make_app(sandbox_remote, history)
    async with app.run_test(size=SIZE) as pilot:
        await _in_transaction(pilot, app, "alice@sandbox.smtpdbg.test", "bob@sandbox.smtpdbg.test")
        composer = await _open_composer(pilot, app)
        lines = ["Subject: ünïcode", "", ".dot", "..", "x"]
        composer.query_one("#editor").text = "\n".join(lines) + "\n"
        await pilot.pause()
        body = composer.body
        assert body == encode_body(lines)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: sandbox_remote.messages(), what="message spooled")
    [(_, content)] = sandbox_remote.messages()
    assert content.rstrip(b"\r\n") == body.rstrip(b"\r\n")  # the sandbox un-stuffs what the wire view shows


async def test_bdat_shows_the_bytes_it_sends_unstuffed(history):
    chunks: list[bytes] = []

    def bdat(conn: Conn, line: bytes) -> None:
        size = int(line.split()[1])
        while len(conn.buffer) < size:
            conn.buffer += conn.sock.recv(65536)
        chunks.append(conn.buffer[:size])
        conn.buffer = conn.buffer[size:]
        conn.send(b"250 2.0.0 queued\r\n")

    ehlo = b"250-fake.test\r\n250-CHUNKING\r\n250 8BITMIME\r\n"
    with FakeServer(esmtp(EHLO=ehlo, BDAT=bdat)) as server:
        app = fake_app(server, history)
        async with app.run_test(size=SIZE) as pilot:
            await _in_transaction(pilot, app)
            composer = await _open_composer(pilot, app, "bdat")
            composer.query_one("#editor").text = "Subject: chunked\n\n.not stuffed\n"
            await pilot.pause()
            wire = composer.wire
            shown = _plain(composer.query_one("#wire-text"))
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.outcomes[-1].command == "bdat" and not app.pending, what="bdat sent")
            assert app.outcomes[-1].ok, app.outcomes[-1]
    assert [wire.payload + wire.terminator] == chunks == [b"Subject: chunked\r\n\r\n.not stuffed\r\n"]
    assert " -> .not stuffed␍␊" in shown and "dot-stuffed" not in shown and "end of data" not in shown
