"""``smtpdbg listen`` as a process: --json endpoints, the printed transcript, playing the server on stdin."""

from __future__ import annotations

import json
import signal
import smtplib
import subprocess
import sys
import threading

import pytest

from tests.conftest import repo_env


@pytest.fixture
def listen_process(tmp_path):
    """The pytest fixture the README shows: a listen server for one test, its endpoints from --json."""
    procs = []

    def start(*args: str) -> tuple[subprocess.Popen, dict]:
        proc = subprocess.Popen([sys.executable, "-m", "smtpdbg", "listen", "--json", "--port", "0", *args],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=repo_env())
        procs.append(proc)
        return proc, json.loads(proc.stdout.readline())

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def smtp_address(endpoints: dict) -> tuple[str, int]:
    host, _, port = endpoints["smtp"].rpartition(":")
    return host, int(port)


def test_json_endpoints_then_every_line_marked_with_its_connection(listen_process, tmp_path) -> None:
    proc, endpoints = listen_process("--maildir", str(tmp_path / "md"))
    assert set(endpoints) >= {"smtp", "ca"}
    with smtplib.SMTP(*smtp_address(endpoints)) as smtp:
        smtp.sendmail("a@x.test", ["b@y.test"], b"Subject: x\r\n\r\nhi\r\n")
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=20)[0].splitlines()
    assert proc.returncode == 0
    assert out[0].startswith("[1] === connection 1 from 127.0.0.1:")
    assert "[1] <-  220 smtpdbg.listen ESMTP smtpdbg listen" in out
    assert "[1] <-  250 2.0.0 Ok: queued as 1" in out
    assert "[1] === message 1 on connection 1: from <a@x.test> to b@y.test (18 bytes)" in out
    assert len(list((tmp_path / "md" / "new").iterdir())) == 1


def test_playing_the_server_on_stdin(listen_process) -> None:
    proc, endpoints = listen_process("--hold")
    result: dict = {}

    def client() -> None:
        with smtplib.SMTP(*smtp_address(endpoints), timeout=30) as smtp:
            result["ehlo"] = smtp.ehlo("c.test")
            result["mail"] = smtp.mail("a@x.test")
            result["rset"] = smtp.rset()

    thread = threading.Thread(target=client)
    thread.start()
    answers = iter(["default", "advertise PIPELINING, SIZE 1000\ndefault", "reply 451 4.7.1 greylisted", "stall 0",
                    "drop"])
    seen = []
    for line in proc.stdout:
        seen.append(line.rstrip("\n"))
        if line.startswith("? ["):
            proc.stdin.write(next(answers) + "\n")
            proc.stdin.flush()
        if "=== [1] drop" in line or len(seen) > 200:
            break
    thread.join(30)
    proc.stdin.close()
    assert result["ehlo"][0] == 250 and b"SIZE 1000" in result["ehlo"][1] and b"8BITMIME" not in result["ehlo"][1]
    assert result["mail"] == (451, b"4.7.1 greylisted")
    assert result["rset"][0] == 250
    assert any(l.lower().startswith("? [1] mail from:<a@x.test>  (default: 250 2.1.0 ok)") for l in seen)
    assert any("451:" in l for l in seen)  # the catalog's meaning of the typed code
