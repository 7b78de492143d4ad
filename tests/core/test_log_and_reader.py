"""The crash-safe session log, and the reply reader fed arbitrary bytes."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import stat
import subprocess
import sys
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdbg.core import Transcript
from smtpdbg.core.errors import classify
from smtpdbg.core.render import TextRenderer, is_printable_line
from smtpdbg.core.traced import TracedSMTP
from smtpdbg.core.wire import Limits

from tests.conftest import repo_env
from tests.fuzz import fuzz


def test_session_log_is_private_and_secret_free(make_session, endpoints, tmp_path):
    path = tmp_path / "session.log"
    session = make_session(log=str(path))
    session.execute("connect")
    session.execute("ehlo")
    session.execute("auth PLAIN alice", secret=endpoints.password)
    text = path.read_text()
    assert "<-  220 sandbox.smtpdbg.test" in text
    assert "AUTH PLAIN ********" in text and endpoints.password not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_session_log_survives_a_killed_process(sandbox, endpoints, tmp_path):
    log = tmp_path / "crash.log"
    script = tmp_path / "hang.smtp"
    script.write_text("ehlo\nnoop\nsleep 60\nquit\n")
    host, port = endpoints.smtp
    process = subprocess.Popen(
        [sys.executable, "-m", "smtpdbg", "run", str(script), "--target", f"{host}:{port}", "--log", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=repo_env())
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if log.exists() and " -> noop" in log.read_text() and "<-  250" in log.read_text().split(" -> noop")[-1]:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "<-  220 sandbox.smtpdbg.test" in text and " -> noop" in text


def test_bad_log_directory_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "smtpdbg", "run", "-", "--target", "127.0.0.1:9", "--log",
                             str(tmp_path / "missing" / "x.log")], input="", capture_output=True, text=True,
                            env=repo_env(), timeout=30)
    assert result.returncode == 2 and "does not exist" in result.stderr


def _reply_from(data: bytes, limits: Limits) -> tuple[Transcript, object]:
    transcript = Transcript()
    smtp = TracedSMTP(local_hostname="fuzz.test", timeout=1, transcript=transcript, limits=limits)
    ours, theirs = socket.socketpair()
    smtp.sock = ours
    smtp.tracker.on_connect()
    smtp.deadline = time.monotonic() + 1
    theirs.sendall(data)
    theirs.close()
    try:
        result = smtp.getreply()
    except smtplib.SMTPException as exc:  # every fault is an smtplib exception (or subclass)
        result = classify(exc)
    finally:
        smtp.close()
    return transcript, result


@settings(max_examples=fuzz(200), deadline=None)
@given(data=st.binary(max_size=3000))
def test_reply_reader_on_arbitrary_bytes(data):
    transcript, result = _reply_from(data, Limits(max_line=512, max_reply_lines=20))
    renderer = TextRenderer()
    for event in transcript.snapshot():
        for line in renderer.render(event):
            assert is_printable_line(line)
    assert result is not None


@settings(max_examples=fuzz(100), deadline=None)
@given(lines=st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b), max_size=30),
       code=st.integers(200, 599))
def test_well_formed_replies_are_parsed_exactly(lines, code):
    body = b"".join(b"%d-%s\r\n" % (code, line) for line in lines) + b"%d last\r\n" % code
    transcript, result = _reply_from(body, Limits())
    assert result[0] == code
    assert result[1].split(b"\n") == [line.strip(b" \t") for line in lines] + [b"last"]
    received = b"".join(e.data for e in transcript.snapshot() if hasattr(e, "data"))
    assert received == body
