"""``smtpdbg proxy``: real clients (smtplib, swaks, aiosmtplib) through the proxy to the sandbox."""

from __future__ import annotations

import json
import shutil
import smtplib
import ssl
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from tests.conftest import repo_env

from smtpdbg.core.events import Direction, Wire
from smtpdbg.proxy.cli import build_parser, configure
from smtpdbg.proxy.relay import CLIENT, SERVER
from smtpdbg.core.events import InfoKind
from smtpdbg.proxy.server import Proxy
from tests.smtplib_wire import shown, smtplib_line

TIMEOUT = 10
MAIL_A = shown("mail", "a@example.org")
"""smtplib's MAIL line for a@example.org as this Python spells it (3.13: ``mail from:``)."""
RCPT_PREFIX = smtplib_line("rcpt", "x@y").split(b"<")[0]


def _message() -> bytes:
    message = EmailMessage()
    message["From"] = "a@example.org"
    message["To"] = "b@example.org"
    message["Subject"] = "through the proxy"
    message.set_content("line one\n.leading dot\nline three\n")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


@pytest.fixture
def start_proxy(endpoints, tmp_path: Path):
    proxies: list[Proxy] = []

    def start(*extra: str, upstream: str | None = None) -> tuple[Proxy, str]:
        host, port = endpoints.smtp
        argv = ["--listen", "127.0.0.1:0", "--upstream", upstream or f"{host}:{port}", "--ca", endpoints.ca_path,
                "--ca-out", str(tmp_path / "proxy-ca.pem"), *extra]
        config, lhost, lport, ca_out = configure(build_parser().parse_args(argv), tmp_path)
        proxy = Proxy(config, lhost, lport)
        proxy.start()
        proxies.append(proxy)
        return proxy, ca_out

    yield start
    for proxy in proxies:
        proxy.stop()


def _lines(proxy: Proxy, leg: str, number: int = 1) -> list[Wire]:
    connection = proxy.connections[number - 1]
    return [item.event for item in connection.events if item.leg == leg and isinstance(item.event, Wire)]


def _wait_closed(proxy: Proxy) -> None:
    import time

    deadline = time.monotonic() + TIMEOUT
    while not all(c.closed for c in proxy.connections) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(c.closed for c in proxy.connections)


def test_smtplib_starttls_on_both_legs_delivers_byte_for_byte(start_proxy, sandbox, endpoints) -> None:
    proxy, ca_out = start_proxy()
    body = _message()
    with smtplib.SMTP(*proxy.address, timeout=TIMEOUT, local_hostname="client.test") as client:
        client.starttls(context=ssl.create_default_context(cafile=ca_out))
        client.login(endpoints.user, endpoints.password)
        client.sendmail("a@example.org", ["b@example.org"], body)
    _wait_closed(proxy)
    [received] = sandbox.messages
    assert received.content == body and received.tls and received.auth_user == endpoints.user
    client_leg, server_leg = _lines(proxy, CLIENT), _lines(proxy, SERVER)
    # Both legs carry the same bytes (the proxy changes nothing in pass mode), TLS after STARTTLS on each.
    assert [(w.direction, w.data) for w in client_leg] == [(w.direction, w.data) for w in server_leg]
    sent = [w.data for w in client_leg if w.direction is Direction.SEND]
    assert sent[:2] == [b"ehlo client.test\r\n", b"STARTTLS\r\n"]
    assert sent[-2:] == [b".\r\n", b"QUIT\r\n"]
    assert b"..leading dot\r\n" in sent
    starttls = next(i for i, w in enumerate(client_leg) if w.data == b"STARTTLS\r\n")
    for leg in (client_leg, server_leg):
        assert not any(w.tls for w in leg[: starttls + 2]) and all(w.tls for w in leg[starttls + 2 :])
    # The password never appears in what was recorded.
    recorded = b"".join(w.data for w in client_leg + server_leg) + "".join(w.note for w in client_leg).encode()
    assert endpoints.password.encode() not in recorded
    assert any(w.redacted for w in client_leg)
    connection = proxy.connections[0]
    assert all(connection.tls_text[leg].startswith("TLS") for leg in (CLIENT, SERVER))
    assert "AUTH" in " ".join(connection.capabilities[SERVER]) and "STARTTLS" not in connection.capabilities[CLIENT]


def test_swaks_through_the_proxy(start_proxy, sandbox) -> None:
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed")
    proxy, ca_out = start_proxy()
    host, port = proxy.address
    result = subprocess.run(
        ["swaks", "--server", f"{host}:{port}", "--from", "a@example.org", "--to", "b@example.org",
         "--helo", "swaks.test", "--tls", "--tls-verify", "--tls-ca-path", ca_out, "--body", "hello from swaks"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    [received] = sandbox.messages
    assert received.tls and b"hello from swaks" in received.content
    _wait_closed(proxy)
    assert [w.data for w in _lines(proxy, CLIENT)] == [w.data for w in _lines(proxy, SERVER)]


async def test_aiosmtplib_through_the_proxy(start_proxy, sandbox) -> None:
    aiosmtplib = pytest.importorskip("aiosmtplib")
    proxy, ca_out = start_proxy()
    host, port = proxy.address
    body = _message()
    await aiosmtplib.send(body, sender="a@example.org", recipients=["b@example.org"], hostname=host, port=port,
                          start_tls=True, tls_context=ssl.create_default_context(cafile=ca_out), timeout=TIMEOUT)
    [received] = sandbox.messages
    assert received.content == body and received.tls


def test_strip_mode_hides_starttls_from_the_client(start_proxy, sandbox) -> None:
    proxy, _ = start_proxy("--mode", "strip")
    with smtplib.SMTP(*proxy.address, timeout=TIMEOUT) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
        client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nplain\r\n")
    [received] = sandbox.messages
    assert not received.tls
    _wait_closed(proxy)
    assert any(b"STARTTLS" in w.data for w in _lines(proxy, SERVER) if w.direction is Direction.RECV)
    assert not any(b"STARTTLS" in w.data for w in _lines(proxy, CLIENT))


def test_terminate_mode_tls_to_the_client_plain_upstream(start_proxy, sandbox, endpoints) -> None:
    proxy, ca_out = start_proxy("--mode", "terminate")
    with smtplib.SMTP(*proxy.address, timeout=TIMEOUT) as client:
        client.starttls(context=ssl.create_default_context(cafile=ca_out))
        client.ehlo()
        assert not client.has_extn("starttls")  # inside TLS nothing offers it again (RFC 3207 §4.2)
        client.login(endpoints.user, endpoints.password)
        client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nterminated\r\n")
    [received] = sandbox.messages
    assert not received.tls and received.auth_user == endpoints.user
    warnings = [item.event.text for item in proxy.connections[0].events
                if item.leg == SERVER and getattr(item.event, "kind", None) is InfoKind.WARNING]
    assert any("credentials cross the smtpdbg→server leg in cleartext" in text for text in warnings), warnings
    _wait_closed(proxy)
    assert any(w.tls for w in _lines(proxy, CLIENT))
    assert not any(w.tls for w in _lines(proxy, SERVER))
    assert b"STARTTLS\r\n" not in [w.data for w in _lines(proxy, SERVER)]


def test_implicit_tls_upstream(start_proxy, sandbox, endpoints) -> None:
    host, port = endpoints.smtps
    proxy, _ = start_proxy(upstream=f"smtps://{host}:{port}")
    with smtplib.SMTP(*proxy.address, timeout=TIMEOUT) as client:
        client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nimplicit\r\n")
    [received] = sandbox.messages
    assert received.tls
    _wait_closed(proxy)
    assert all(w.tls for w in _lines(proxy, SERVER)) and not any(w.tls for w in _lines(proxy, CLIENT))
    assert proxy.connections[0].tls_text[SERVER].startswith("TLS") and not proxy.connections[0].tls_text[CLIENT]


def test_several_connections_are_separate_sessions(start_proxy, sandbox) -> None:
    proxy, _ = start_proxy()
    first = smtplib.SMTP(*proxy.address, timeout=TIMEOUT, local_hostname="one.test")
    second = smtplib.SMTP(*proxy.address, timeout=TIMEOUT, local_hostname="two.test")
    first.ehlo()
    second.ehlo()
    second.quit()
    first.quit()
    _wait_closed(proxy)
    helos = {proxy.connections[i].number: _lines(proxy, CLIENT, i + 1)[1].data for i in range(2)}
    assert sorted(helos.values()) == [b"ehlo one.test\r\n", b"ehlo two.test\r\n"]


def test_unverified_upstream_certificate_refuses_the_client(start_proxy, sandbox, endpoints, tmp_path) -> None:
    host, port = endpoints.smtps
    other = tmp_path / "other-ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(other))
    proxy, _ = start_proxy("--ca", str(other), upstream=f"smtps://{host}:{port}")
    with pytest.raises(smtplib.SMTPConnectError) as caught:
        smtplib.SMTP(*proxy.address, timeout=TIMEOUT)
    assert caught.value.smtp_code == 421
    assert not sandbox.messages


def _proxy_process(endpoints, *extra: str) -> subprocess.Popen:
    """``smtpdbg proxy --json`` to the sandbox in a child process (stdin, stdout and stderr piped)."""
    host, port = endpoints.smtp
    return subprocess.Popen(
        [sys.executable, "-m", "smtpdbg", "proxy", "--listen", "127.0.0.1:0", "--upstream", f"{host}:{port}",
         "--ca", endpoints.ca_path, "--json", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=repo_env())


def test_cli_print_and_json(endpoints, sandbox) -> None:
    process = _proxy_process(endpoints)
    try:
        endpoint = json.loads(process.stdout.readline())
        with smtplib.SMTP(*endpoint["listen"], timeout=TIMEOUT) as client:
            client.login(endpoints.user, endpoints.password)
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nprinted\r\n")
        lines = []
        while not lines or "connection closed" not in lines[-1]:
            lines.append(process.stdout.readline())
            assert lines[-1], "".join(lines)
    finally:
        process.terminate()
        process.wait(TIMEOUT)
    assert process.returncode == 0
    text = "".join(lines)
    assert f"[1 client→smtpdbg]  -> {MAIL_A}" in text
    assert f"[1 smtpdbg→server]  -> {MAIL_A}" in text
    assert "[1 smtpdbg→server] <-  250" in text
    assert "235" in text and endpoints.password not in text and "********" in text
    assert endpoint["ca"] and endpoint["mode"] == "pass"


@pytest.mark.parametrize("argv", [
    ["--upstream", "lmtp:///tmp/x"],
    ["--upstream", "127.0.0.1:25", "--listen", "192.0.2.1:2525"],
    ["--upstream", "127.0.0.1:25", "--listen", "127.0.0.1:99999"],
    ["--upstream", "127.0.0.1:25", "--cert", "/nonexistent.pem"],
    ["--upstream", "127.0.0.1:25", "--ca", "/nonexistent.pem"],
])
def test_bad_input_is_a_message_not_a_traceback(argv) -> None:
    result = subprocess.run([sys.executable, "-m", "smtpdbg", "proxy", *argv],
                            capture_output=True, text=True, timeout=30, env=repo_env())
    assert result.returncode == 2 and "Traceback" not in result.stderr and "smtpdbg proxy:" in result.stderr


def _smtpdbg(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtpdbg", *args], capture_output=True, text=True, timeout=60,
                          env={**repo_env(), **(env or {})})


def test_captured_session_replays_to_the_same_ledger(start_proxy, sandbox, endpoints, tmp_path) -> None:
    from smtpdbg.proxy.capture import render_script

    proxy, ca_out = start_proxy()
    body = _message()
    with smtplib.SMTP(*proxy.address, timeout=TIMEOUT, local_hostname="client.test") as client:
        client.starttls(context=ssl.create_default_context(cafile=ca_out))
        client.login(endpoints.user, endpoints.password)
        refused = client.sendmail("a@example.org", ["b@example.org", "reject@example.org", "c@example.org"], body)
    _wait_closed(proxy)
    # What the client saw through the proxy: b and c delivered, reject refused at RCPT with 550.
    seen = {"b@example.org": ("accepted", 250), "c@example.org": ("accepted", 250),
            "reject@example.org": ("permanent failure", refused["reject@example.org"][0])}
    [original] = sandbox.messages
    script = render_script(proxy.connections[0], "sandbox")
    assert endpoints.password not in script and "--password-env SMTP_PASSWORD" in script
    path = tmp_path / "captured.smtp"
    path.write_text(script)
    sandbox.clear_messages()
    host, port = endpoints.smtp
    target = ["--target", f"{host}:{port}", "--ca", endpoints.ca_path]
    first = _smtpdbg("run", str(path), *target, "--export", "jsonl", "--output", str(tmp_path / "a.jsonl"),
                     env={"SMTP_PASSWORD": endpoints.password})
    assert first.returncode == 0, first.stdout + first.stderr
    [replayed] = sandbox.messages
    assert (replayed.mail_from, replayed.rcpt_tos, replayed.content, replayed.tls, replayed.auth_user) == \
        (original.mail_from, original.rcpt_tos, original.content, original.tls, original.auth_user)
    # The replay's ledger (the core's, in the export's summary) holds the same fate and code for each recipient.
    summary = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[-1])
    assert {r["address"]: (r["outcome"], r["final_code"]) for r in summary["recipients"]} == seen
    again = _smtpdbg("run", str(path), *target, "--compare", str(tmp_path / "a.jsonl"),
                     env={"SMTP_PASSWORD": endpoints.password})
    assert again.returncode == 0, again.stdout + again.stderr


def test_cli_capture_directory(endpoints, sandbox, tmp_path) -> None:
    process = _proxy_process(endpoints, "--capture", str(tmp_path / "cap"))
    try:
        endpoint = json.loads(process.stdout.readline())
        with smtplib.SMTP(*endpoint["listen"], timeout=TIMEOUT) as client:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\ncaptured\r\n")
        saved = process.stderr.readline()
    finally:
        process.terminate()
        process.wait(TIMEOUT)
    assert "connection-1.smtp" in saved
    script = (tmp_path / "cap" / "connection-1.smtp").read_text()
    assert "mail <a@example.org> size=24\nexpect 250\nrcpt <b@example.org>\nexpect 250\ndata\nSubject: x\n\ncaptured\n.\n" \
           "expect 250\nquit\nexpect 221\n" in script


def _client_in_thread(proxy: Proxy, recipients: list[str]):
    import threading

    result: dict = {}

    def run() -> None:
        try:
            with smtplib.SMTP(*proxy.address, timeout=TIMEOUT) as client:
                result["refused"] = client.sendmail("a@example.org", recipients, b"Subject: x\r\n\r\nheld\r\n")
        except smtplib.SMTPException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_intercept_edit_a_command(start_proxy, sandbox) -> None:
    proxy, _ = start_proxy()
    interceptor = proxy.config.interceptor
    interceptor.command("intercept rcpt")
    thread, result = _client_in_thread(proxy, ["b@example.org"])
    held = interceptor.wait_held(TIMEOUT)
    assert held.kind == "command" and held.data == smtplib_line("rcpt", "b@example.org")
    interceptor.command("edit RCPT TO:<c@example.org>")
    thread.join(TIMEOUT)
    assert result == {"refused": {}}
    [received] = sandbox.messages
    assert received.rcpt_tos == ("c@example.org",)
    _wait_closed(proxy)
    assert smtplib_line("rcpt", "b@example.org") in [w.data for w in _lines(proxy, CLIENT)]
    assert b"RCPT TO:<c@example.org>\r\n" in [w.data for w in _lines(proxy, SERVER)]


def test_intercept_answer_a_command_and_edit_a_reply(start_proxy, sandbox) -> None:
    proxy, _ = start_proxy()
    interceptor = proxy.config.interceptor
    interceptor.command("intercept rcpt")
    interceptor.command("intercept reply 5xx")
    thread, result = _client_in_thread(proxy, ["b@example.org", "reject@example.org"])
    assert interceptor.wait_held(TIMEOUT).data.startswith(RCPT_PREFIX + b"<b@")
    interceptor.command("answer 550 5.7.1 refused by hand")
    import time

    while interceptor.oldest() is not None and interceptor.oldest().data.startswith(RCPT_PREFIX + b"<b@"):
        time.sleep(0.01)
    held = interceptor.wait_held(TIMEOUT)
    assert held.kind == "command" and held.data.startswith(RCPT_PREFIX + b"<reject@")
    interceptor.command("forward")
    held = interceptor.wait_held(TIMEOUT)
    while held is not None and held.kind != "reply":
        time.sleep(0.01)
        held = interceptor.oldest()
    assert held.data.startswith(b"550 5.1.1")
    interceptor.command("edit 451 4.7.1 try later")
    thread.join(TIMEOUT)
    error = result["error"]
    assert isinstance(error, smtplib.SMTPRecipientsRefused)
    assert {k: v[0] for k, v in error.recipients.items()} == {"b@example.org": 550, "reject@example.org": 451}
    assert not sandbox.messages


def test_intercept_drop_closes_the_connection(start_proxy, sandbox) -> None:
    proxy, _ = start_proxy()
    interceptor = proxy.config.interceptor
    interceptor.command("step")
    thread, result = _client_in_thread(proxy, ["b@example.org"])
    assert interceptor.wait_held(TIMEOUT).data.startswith(b"220")
    interceptor.command("drop")
    thread.join(TIMEOUT)
    assert isinstance(result["error"], smtplib.SMTPServerDisconnected)
    assert not sandbox.messages


def test_intercept_line_mode(endpoints, sandbox) -> None:
    process = _proxy_process(endpoints)
    try:
        endpoint = json.loads(process.stdout.readline())
        process.stdin.write("intercept mail\n")
        process.stdin.flush()
        assert "holding MAIL commands" in process.stderr.readline()
        proxy = type("P", (), {"address": tuple(endpoint["listen"])})
        thread, result = _client_in_thread(proxy, ["b@example.org"])
        while "held command" not in (line := process.stdout.readline()):
            assert line
        assert MAIL_A in line
        process.stdin.write("edit MAIL FROM:<edited@example.org>\n")
        process.stdin.flush()
        thread.join(TIMEOUT)
    finally:
        process.terminate()
        process.wait(TIMEOUT)
    assert result == {"refused": {}}, process.stderr.read() + process.stdout.read()
    [received] = sandbox.messages
    assert received.mail_from == "edited@example.org"


async def test_app_shows_connections_and_intercepts(start_proxy, sandbox) -> None:
    import asyncio

    from smtpdbg.proxy.app import ProxyApp

    proxy, _ = start_proxy()
    app = ProxyApp(proxy, "test")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        await pilot.press(*"rcpt", "enter")
        assert proxy.config.interceptor.commands == {"RCPT"}, (app.focused, app.query_one("#command").value)
        thread, result = _client_in_thread(proxy, ["b@example.org"])
        held = await asyncio.to_thread(proxy.config.interceptor.wait_held, TIMEOUT)
        assert held.data == smtplib_line("rcpt", "b@example.org")
        await pilot.pause()
        transcript = app.query_one("#transcript")
        drawn = "".join(strip.text for strip in transcript.lines)
        assert "answer TEXT)" in drawn  # the held line wraps at the pane's width, nothing is cut off
        assert max(strip.cell_length for strip in transcript.lines) <= transcript.size.width
        await pilot.press("e")
        field = app.query_one("#command")
        assert field.value == "edit " + shown("rcpt", "b@example.org")
        field.value = "edit RCPT TO:<edited@example.org>"
        await pilot.press("enter")
        await asyncio.to_thread(thread.join, TIMEOUT)
        assert result == {"refused": {}}
        second, second_result = _client_in_thread(proxy, ["c@example.org"])
        await asyncio.to_thread(proxy.config.interceptor.wait_held, TIMEOUT)
        await pilot.pause()
        await pilot.press("x")
        await asyncio.to_thread(second.join, TIMEOUT)
        assert isinstance(second_result["error"], smtplib.SMTPServerDisconnected)
        await asyncio.to_thread(_wait_closed, proxy)
        await pilot.pause()
        assert list(app.lines) == [1, 2]
        assert f"[client→smtpdbg]  -> {shown('rcpt', 'b@example.org')}" in app.lines[1]
        assert "[smtpdbg→server]  -> RCPT TO:<edited@example.org>" in app.lines[1]
        assert app.shown == 1
        inspector = str(app.query_one("#inspector").render())
        assert "client→smtpdbg\n  TLS: off\n  EHLO: " in inspector and "STARTTLS" in inspector
        app.query_one("#connections").index = 1
        await pilot.press("escape", "enter")
        assert app.shown == 2
    [received] = sandbox.messages
    assert received.rcpt_tos == ("edited@example.org",)


def test_implicit_tls_client_leg(start_proxy, sandbox) -> None:
    proxy, ca_out = start_proxy("--listen", "smtps://127.0.0.1:0")
    with smtplib.SMTP_SSL(*proxy.address, timeout=TIMEOUT, context=ssl.create_default_context(cafile=ca_out)) as c:
        c.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nimplicit client leg\r\n")
    [received] = sandbox.messages
    assert not received.tls
    _wait_closed(proxy)
    assert all(w.tls for w in _lines(proxy, CLIENT)) and not any(w.tls for w in _lines(proxy, SERVER))


def test_server_certificate_not_verified_on_starttls(start_proxy, sandbox, tmp_path) -> None:
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    proxy, ca_out = start_proxy("--ca", str(other))
    with smtplib.SMTP(*proxy.address, timeout=TIMEOUT) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPResponseException) as caught:
            client.starttls(context=ssl.create_default_context(cafile=ca_out))
        assert caught.value.smtp_code == 454
    assert not sandbox.messages


@pytest.mark.parametrize("pattern", ["9zz", "600", "55", "5x", "reply"])
def test_an_intercept_pattern_that_is_no_reply_code_is_refused(pattern) -> None:
    from smtpdbg.proxy.intercept import Interceptor

    interceptor = Interceptor()
    with pytest.raises(ValueError, match="a code \\(550\\), a class \\(5xx\\) or \\*"):
        interceptor.command(f"intercept reply {pattern}")
    assert not interceptor.replies
    for good in ("550", "5xx", "*"):
        assert interceptor.command(f"intercept reply {good}") == f"holding replies {good}"


def test_an_unreachable_server_is_answered_421_and_the_answer_is_in_the_transcript(start_proxy) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy, _ = start_proxy(upstream=f"127.0.0.1:{port}")
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP(*proxy.address, timeout=TIMEOUT)
    assert refused.value.smtp_code == 421
    _wait_closed(proxy)
    [answer] = [w for w in _lines(proxy, CLIENT) if w.direction is Direction.RECV]
    assert answer.data.startswith(b"421 4.4.1 ") and answer.note == "answered by smtpdbg"


async def test_app_notices_never_cover_the_prompt_or_the_held_line(start_proxy, sandbox) -> None:
    import asyncio

    from textual.widgets._toast import Toast

    from smtpdbg.proxy.app import ProxyApp

    proxy, _ = start_proxy()
    proxy.config.interceptor.command("intercept rcpt")
    app = ProxyApp(proxy, "test")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        thread, result = _client_in_thread(proxy, ["b@example.org"])
        await asyncio.to_thread(proxy.config.interceptor.wait_held, TIMEOUT)
        await pilot.pause()
        for line in ("step", "step", "intercept reply 6", "intercept off"):  # notices stack up, a warning among them
            app.run_command(line)
        deadline = asyncio.get_running_loop().time() + TIMEOUT  # a loaded machine mounts the toasts late
        while not (len(app.screen.query(Toast)) == 4 and all(t.region.area for t in app.screen.query(Toast))) \
                and asyncio.get_running_loop().time() < deadline:
            await pilot.pause(0.05)
        await pilot.pause()
        shown = [toast.region for toast in app.screen.query(Toast)]
        assert len(shown) == 4 and all(region.area for region in shown), app._exception
        prompt, held = app.screen.query_one("#command").region, app.screen.query_one("#held").region
        assert prompt.area and held.area
        for region in shown:
            assert not region.overlaps(prompt), (region, prompt)
            assert not region.overlaps(held), (region, held)
        app.clear_notifications()
        proxy.config.interceptor.command("forward")
        await asyncio.to_thread(thread.join, TIMEOUT)
    assert result == {"refused": {}}


def test_cli_capture_writes_both_legs_as_jsonl_judged_and_masked(endpoints, sandbox, tmp_path) -> None:
    import base64
    import os

    from smtpdbg.core.export.jsonl import read_jsonl
    from tests.schema import schema_errors

    process = _proxy_process(endpoints, "--capture", str(tmp_path / "cap"))
    try:
        endpoint = json.loads(process.stdout.readline())
        with smtplib.SMTP(*endpoint["listen"], timeout=TIMEOUT) as client:
            client.ehlo()
            client.user, client.password = endpoints.user, endpoints.password
            client.auth("PLAIN", client.auth_plain)
            refused = client.sendmail("a@example.org", ["b@example.org", "reject@example.org"],
                                      b"Subject: x\r\n\r\ncaptured\r\n")
        saved = process.stderr.readline()
    finally:
        process.terminate()
        process.wait(TIMEOUT)
    assert list(refused) == ["reject@example.org"]
    path = tmp_path / "cap" / "connection-1.jsonl"
    assert "connection-1.jsonl" in saved and os.stat(path).st_mode & 0o777 == 0o600
    text = path.read_text()
    plain = base64.b64encode(f"\0{endpoints.user}\0{endpoints.password}".encode()).decode()
    assert endpoints.password not in text and plain not in text
    records = read_jsonl(text)
    assert schema_errors(records) == []
    legs = [r["text"] for r in records if r["type"] == "info" and "smtpdbg proxy, connection 1" in r["text"]]
    assert [leg.split(": the ")[1].split(" leg")[0] for leg in legs] == ["client→smtpdbg", "smtpdbg→server"]
    replies = [(r["answers"], r["code"], r["verdict"], r["recipient"]) for r in records if r["type"] == "reply"]
    half = len(replies) // 2
    assert replies[:half] == replies[half:]  # the client saw what the server said, each leg judged
    assert ("RCPT", 550, "permanent", "") in replies[:half] and ("AUTH", 235, "ok", "") in replies[:half]
    assert ("<end of data>", 250, "ok", "") in replies[:half]
    summary = records[-1]
    assert summary["connections"] == 2
    fates = sorted((r["connection"], r["address"], r["outcome"]) for r in summary["recipients"])
    assert fates == [(1, "b@example.org", "accepted"), (1, "reject@example.org", "permanent failure"),
                     (2, "b@example.org", "accepted"), (2, "reject@example.org", "permanent failure")]
    assert [r["seq"] for r in records[1:-1]] == sorted(r["seq"] for r in records[1:-1])


async def test_app_saves_the_selected_connection(start_proxy, sandbox, tmp_path) -> None:
    import asyncio
    import os

    from smtpdbg.proxy.app import ProxyApp

    proxy, _ = start_proxy()
    app = ProxyApp(proxy, "test")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        thread, result = _client_in_thread(proxy, ["b@example.org", "reject@example.org"])
        await asyncio.to_thread(thread.join, TIMEOUT)
        await asyncio.to_thread(_wait_closed, proxy)
        await pilot.pause()
        field = app.query_one("#command")
        for typed in (f"html {tmp_path / 'one.html'}", f"jsonl {tmp_path / 'one.jsonl'}", f"swaks {tmp_path / 'one.sh'}"):
            await pilot.press("w")
            assert field.value == "save " and app.focused is field
            field.value += typed
            await pilot.press("enter")
        await pilot.pause()
        said = [(n.severity, n.message) for n in app._notifications]
    assert result == {"refused": {"reject@example.org": (550, b"5.1.1 <reject@example.org>: Recipient address "
                                                              b"rejected: User unknown")}}
    assert said[:2] == [("information", f"connection #1 saved as {tmp_path / name}") for name in ("one.html", "one.jsonl")]
    assert said[2][0] == "warning" and "jsonl, text, html" in said[2][1] and not (tmp_path / "one.sh").exists()
    for name in ("one.html", "one.jsonl"):
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o600
    for leg in ("client→smtpdbg", "smtpdbg→server"):  # each leg's refusal marked failed by the core's verdict
        assert any(line.startswith(f"[{leg}] <** 550 5.1.1 <reject@example.org>") for line in app.lines[1]), app.lines[1]
    html = (tmp_path / "one.html").read_text()
    assert "client→smtpdbg leg" in html and "smtpdbg→server leg" in html and "reject@example.org" in html


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN", "CRAM-MD5"])
def test_each_leg_is_judged_by_the_core_through_an_auth_exchange(start_proxy, sandbox, endpoints, mechanism) -> None:
    from smtpdbg.core.events import Info, Reply

    proxy, _ = start_proxy()
    with smtplib.SMTP(*proxy.address, timeout=TIMEOUT) as client:
        client.ehlo()
        client.user, client.password = endpoints.user, endpoints.password
        client.auth(mechanism, getattr(client, "auth_" + mechanism.lower().replace("-", "_")))
        client.mail("a@example.org")
        client.rcpt("b@example.org")
    _wait_closed(proxy)
    for leg in (CLIENT, SERVER):
        events = [item.event for item in proxy.connections[0].events if item.leg == leg]
        replies = [(e.command, e.code, e.verdict.value) for e in events if isinstance(e, Reply)]
        # smtplib sends LOGIN's user name and PLAIN's whole response with the AUTH line (initial response)
        steps = [("AUTH", 235, "ok")] if mechanism == "PLAIN" else [("AUTH", 334, "ok"), ("<auth response>", 235, "ok")]
        assert replies == [("<greeting>", 220, "ok"), ("EHLO", 250, "ok"), *steps, ("MAIL", 250, "ok"),
                           ("RCPT", 250, "ok"), ("QUIT", 221, "ok")], (leg, replies)
        warnings = [e.text for e in events if isinstance(e, Info) and e.kind is InfoKind.WARNING]
        assert warnings == (["AUTH goes on to the server without TLS: the credentials cross the smtpdbg→server leg "
                             "in cleartext"] if leg == SERVER else [])  # the relay's; the core flags nothing
