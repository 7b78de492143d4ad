"""smtpdbg listen against real clients: stdlib smtplib, aiosmtplib and the swaks command; the mailbox files."""

from __future__ import annotations

import asyncio
import mailbox
import shutil
import smtplib
import ssl
import subprocess
import threading

import pytest

import smtpdbg

from smtpdbg.core.events import Body, Direction, Reply, Wire
from smtpdbg.core.render import TextRenderer
from tests.listen.conftest import address

MESSAGE = b"Subject: hi\r\n\r\n.dot first\r\nbody\r\n"


def wire(server, number: int = 1) -> list[tuple[str, bytes]]:
    return [(e.direction.value, e.data if e.direction is Direction.RECV else e.data.lower()) for e in server.connections[number - 1].transcript.snapshot()
            if isinstance(e, Wire)]


def test_smtplib_session_is_recorded_byte_for_byte_and_delivered(start_listen, tmp_path) -> None:
    server = start_listen()
    with smtplib.SMTP(*address(server), local_hostname="client.test") as smtp:
        smtp.sendmail("a@x.test", ["b@y.test", "c@y.test"], MESSAGE)
    lines = wire(server)
    assert lines[0] == ("recv", b"220 smtpdbg.listen ESMTP smtpdbg listen\r\n")
    assert ("send", b"ehlo client.test\r\n") in lines
    assert ("recv", b"250 2.0.0 Ok: queued as 1\r\n") in lines
    assert lines[-2:] == [("send", b"quit\r\n"), ("recv", b"221 2.0.0 Bye\r\n")]
    body = next(e for e in server.connections[0].transcript.snapshot() if isinstance(e, Body))
    assert b"".join(body.head) == b"Subject: hi\r\n\r\n..dot first\r\nbody\r\n" and body.stuffed == 1
    (message,) = server.mailbox.snapshot()
    assert message.content == MESSAGE and message.recipients == ("b@y.test", "c@y.test")
    stored = [m.as_bytes() for m in mailbox.Maildir(str(tmp_path / "Maildir"))]
    assert stored == [b"Return-Path: <a@x.test>\nX-Original-To: b@y.test\nX-Original-To: c@y.test\n"
                      b"Subject: hi\n\n.dot first\nbody\n"]  # files in a mail store end lines with LF
    (boxed,) = mailbox.mbox(str(tmp_path / "mbox"))
    assert boxed["Return-Path"] == "<a@x.test>" and boxed.get_all("X-Original-To") == ["b@y.test", "c@y.test"]
    assert boxed.get_from().startswith("a@x.test")


def test_replies_are_judged_and_render_in_the_text_notation(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'rcpt'\nreply = '550 5.1.1 no such user'\n")
    with smtplib.SMTP(*address(server)) as smtp:
        smtp.ehlo("c")
        smtp.mail("a@x.test")
        assert smtp.rcpt("b@y.test")[0] == 550
    events = server.connections[0].transcript.snapshot()
    refused = next(e for e in events if isinstance(e, Reply) and e.code == 550)
    assert refused.command == "RCPT" and refused.verdict.failed and refused.enhanced == "5.1.1"
    renderer = TextRenderer()
    text = [line for event in events for line in renderer.render(event)]
    assert "<** 550 5.1.1 no such user" in text and " -> rcpt to:<b@y.test>" in [t.lower() for t in text]
    assert "=== rule 1: reply 550 5.1.1 no such user" in text


def test_starttls_with_aiosmtplib_verifies_the_listen_ca(start_listen) -> None:
    aiosmtplib = pytest.importorskip("aiosmtplib")
    server = start_listen()
    host, port = address(server)
    context = ssl.create_default_context(cafile=server.endpoints["ca"])

    async def send() -> None:
        await aiosmtplib.send(MESSAGE, sender="a@x.test", recipients=["b@y.test"], hostname=host, port=port,
                              start_tls=True, tls_context=context)

    asyncio.run(send())
    events = server.connections[0].transcript.snapshot()
    assert any(isinstance(e, Wire) and e.tls and e.direction is Direction.SEND and e.data.startswith(b"DATA")
               for e in events)
    assert server.mailbox.snapshot()[0].content == MESSAGE


def test_implicit_tls_and_lmtp_on_a_unix_socket(start_listen, tmp_path) -> None:
    socket_path = str(tmp_path / "lmtp.sock")
    server = start_listen("[[rule]]\nstage = 'message'\naddress = 'full@*'\nreply = '452 4.2.2 mailbox full'\n",
                          smtps_port=0, lmtp=socket_path)
    host, _, port = server.endpoints["smtps"].rpartition(":")
    context = ssl.create_default_context(cafile=server.endpoints["ca"])
    with smtplib.SMTP_SSL(host, int(port), context=context) as smtp:
        smtp.sendmail("a@x.test", ["b@y.test"], MESSAGE)
    # smtpdbg's LMTP reads one reply per recipient after the message (stdlib's reads one); the last decides
    with smtpdbg.LMTP(socket_path) as lmtp, pytest.raises(smtplib.SMTPDataError) as refused:
        lmtp.sendmail("a@x.test", ["ok@y.test", "full@y.test"], MESSAGE)
    assert refused.value.smtp_code == 452
    replies = [e for e in server.connections[1].transcript.snapshot() if isinstance(e, Reply)]
    assert [(r.code, r.text) for r in replies if r.command == "<end of data>"] == [
        (250, "2.0.0 <ok@y.test> Ok: queued as 2"), (452, "4.2.2 mailbox full")]
    assert [m.recipients for m in server.mailbox.snapshot()] == [("b@y.test",), ("ok@y.test",)]
    assert [c.listener for c in server.connections] == ["smtps", "lmtp"]


def test_auth_secrets_are_masked(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'other'\nreply = '235 2.7.0 ok'\n")
    with smtplib.SMTP(*address(server)) as smtp:
        smtp.ehlo("c")
        smtp.esmtp_features["auth"] = "PLAIN"
        smtp.login("user", "s3cret-pw")
    assert not any(b"s3cret" in data or b"czNjcmV0" in data for _, data in wire(server))
    assert ("send", b"auth plain ********\r\n") in wire(server)  # the core's mask, as everywhere


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
def test_swaks_delivers_through_starttls(start_listen) -> None:
    server = start_listen()
    host, port = address(server)
    done = subprocess.run(["swaks", "-s", host, "-p", str(port), "-f", "a@x.test", "-t", "b@y.test", "--tls"],
                          capture_output=True, timeout=60)
    assert done.returncode == 0
    assert server.mailbox.snapshot()[0].sender == "a@x.test"
    assert any(data == b"starttls\r\n" for _, data in wire(server))


def test_smtp_on_a_unix_socket(start_listen, tmp_path) -> None:
    import socket

    path = str(tmp_path / "smtp.sock")
    server = start_listen(unix=path, tls=False)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        stream = sock.makefile("rwb")
        assert stream.readline() == b"220 smtpdbg.listen ESMTP smtpdbg listen\r\n"
        stream.write(b"LHLO c\r\nQUIT\r\n")
        stream.flush()
        assert stream.readline() == b"500 5.5.1 LHLO is not SMTP\r\n"
        assert stream.readline() == b"221 2.0.0 Bye\r\n"
    assert server.connections[0].listener == "unix" and server.connections[0].peer == "local"


def test_a_mailbox_that_cannot_be_written_is_refused_at_start(tmp_path) -> None:
    from smtpdbg.listen.mailbox import Mailbox

    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        Mailbox(maildir=str(tmp_path / "file"))
    with pytest.raises(IsADirectoryError):
        Mailbox(mbox=str(tmp_path))


def test_hostile_client_bytes_are_escaped_in_the_printed_transcript(start_listen) -> None:
    import io
    import socket

    from smtpdbg.listen.printer import Printer

    out = io.StringIO()
    printer = Printer(out)
    server = start_listen(on_connection=printer.follow)
    with socket.create_connection(address(server)) as sock:
        stream = sock.makefile("rwb")
        stream.readline()
        stream.write(b"NOOP \x1b[2J\x07\r\nQUIT\r\n")
        stream.flush()
        stream.readline(), stream.readline()
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert "[1]  -> NOOP \\x1b[2J\\x07" in out.getvalue()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_accepts_any_login_and_masks_it(start_listen, mechanism) -> None:
    server = start_listen(auth=True)
    with smtplib.SMTP(*address(server)) as smtp:
        smtp.ehlo("c")
        smtp.esmtp_features["auth"] = mechanism  # smtplib picks from what it was offered
        assert smtp.login("alice", "s3cret-pw")[0] == 235
    events = server.connections[0].transcript.snapshot()
    sent = [e for e in events if isinstance(e, Wire) and e.direction is Direction.SEND]
    assert not any(b"s3cret" in e.data or b"czNjcmV0" in e.data or "s3cret" in e.note for e in sent)
    assert any("user='alice'" in e.note for e in sent)


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
def test_swaks_logs_in_and_an_unoffered_auth_is_refused(start_listen) -> None:
    host, port = address(start_listen(auth=True))
    command = ["swaks", "-s", host, "-p", str(port), "-f", "a@x.test", "-t", "b@y.test", "-au", "alice", "-ap", "pw"]
    assert subprocess.run([*command, "-a", "LOGIN"], capture_output=True, timeout=60).returncode == 0
    host, port = address(start_listen())
    command[2:5] = [host, "-p", str(port)]
    assert subprocess.run(command, capture_output=True, timeout=60).returncode == 28  # swaks: AUTH failed


def test_a_bare_code_takes_the_catalogs_text_with_the_servers_name(start_listen) -> None:
    from smtpdbg.listen.play import play

    server = start_listen(hold=True)
    result = {}

    def client() -> None:
        with smtplib.SMTP(*address(server), timeout=30) as smtp:
            result["noop"] = smtp.noop()

    thread = threading.Thread(target=client)
    thread.start()
    for answer in ("default", "reply 421"):
        while not server.held:
            thread.join(0.02)
        assert play(server, answer).startswith("[1] ")
    thread.join(30)  # no QUIT to answer: the server closed the connection after its 421 (RFC 5321 §3.8)
    assert result["noop"] == (421, b"smtpdbg.listen Service not available, closing transmission channel")
    assert not server.held


@pytest.mark.parametrize("in_message", [False, True])
def test_an_endless_line_closes_the_connection_cleanly(start_listen, in_message) -> None:
    import socket

    server = start_listen()
    with socket.create_connection(address(server)) as sock:
        stream = sock.makefile("rwb")
        stream.readline()
        if in_message:
            stream.write(b"HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n")
            stream.flush()
            for _ in range(4):
                stream.readline()
        try:
            stream.write(b"x" * 100_000 + b"\r\n")
            stream.flush()
        except OSError:
            pass  # the server may close while the line is still being sent
        while stream.readline():
            pass
    conn = server.connections[0]
    for _ in range(200):
        if conn.closed:
            break
        threading.Event().wait(0.02)
    assert conn.closed
    text = [e.text for e in conn.transcript.snapshot() if type(e).__name__ == "Info"]
    assert any("longer than 64 KiB" in t for t in text), text


def test_advertising_auth_by_hand_replaces_the_offer_instead_of_repeating_it(start_listen) -> None:
    from smtpdbg.listen.play import play

    server = start_listen(auth=True)
    said = play(server, "advertise PIPELINING, AUTH PLAIN")
    assert said.startswith("EHLO will offer: PIPELINING, AUTH PLAIN")
    with smtplib.SMTP(*address(server), timeout=30) as smtp:
        code, text = smtp.ehlo("c")
    lines = text.decode().splitlines()
    assert code == 250 and [line for line in lines if line.startswith("AUTH")] == ["AUTH PLAIN"], lines
