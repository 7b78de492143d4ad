"""The README's one-shot table: each smtpdbg send line is no longer than its swaks line, and both work.

Every line runs as a process against the real sandbox (real sockets, real TLS
verified against the sandbox CA); the swaks lines run too where swaks is installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.smtplib_wire import shown
from tests.conftest import repo_env

ROOT = Path(__file__).resolve().parent.parent
PIPE_SERVER = ROOT / "tests" / "send_pipe_server.py"


def table() -> dict[str, tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### One-shot: smtpdbg send", 1)[1]
    rows = {}
    for line in section.splitlines():
        cells = re.findall(r"`((?:[^`])+)`", line)
        if line.startswith("| ") and len(cells) == 2 and cells[0].startswith("swaks "):
            task = line.split("|")[1].strip()
            rows[task] = (cells[0].replace("\\|", "|"), cells[1].replace("\\|", "|"))
    return rows


TASKS = {  # task: (smtpdbg status, swaks status, messages the sandbox receives, recipients in the last)
    "attachment + header": (0, 0, 1, ("bob@example.org",)),
    "quit after RCPT": (9, 24, 0, ()),
    "AUTH LOGIN on submission": (0, 0, 1, ("bob@example.org",)),
    "TLS certificate and protocol": (0, 0, 0, ()),
    "pipe to a local process": (0, 0, 0, ()),
    "two recipients, one refused": (9, 0, 1, ("bob@example.org",)),
    "implicit TLS + AUTH": (0, 0, 1, ("bob@example.org",)),
    "pipelining": (0, 0, 1, ("bob@example.org",)),
}


def test_the_readme_lists_the_eight_tasks() -> None:
    assert set(table()) == set(TASKS)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_smtpdbg_line_is_no_longer_than_swaks(task: str) -> None:
    swaks, ours = table()[task]
    assert ours.startswith("smtpdbg send ")
    assert len(ours) <= len(swaks), (task, len(ours), len(swaks))


def _concrete(line: str, endpoints, tmp_path: Path, *, swaks: bool) -> list[str]:
    smtp = "%s:%d" % endpoints.smtp
    smtps = "%s:%d" % endpoints.smtps
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 not really\n" * 10)
    words = shlex.split(line)
    out = []
    for word in words:
        if word == "mx.example.org:465":
            word = smtps if swaks else f"smtps://{smtps}"
        elif word.startswith("mx.example.org"):
            word = smtp
        elif word == "report.pdf":
            word = str(report)
        elif "exim -bh" in word:
            word = word.replace("exim -bh 192.0.2.1", f"{sys.executable} {PIPE_SERVER}")
        out.append(word)
    tls = "-tls" in words or "--tls" in words or ":587" in line or ":465" in line
    if tls:
        out += ["--tls-ca-path", endpoints.ca_path] if swaks else ["--ca", endpoints.ca_path]
    return out


def _run(argv: list[str], password: str) -> subprocess.CompletedProcess:
    env = repo_env()
    env["SMTPDBG_PASSWORD"] = password
    return subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60,
                          cwd=ROOT)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_smtpdbg_line_works_against_the_sandbox(task: str, sandbox, endpoints, tmp_path: Path) -> None:
    status, _, received, rcpts = TASKS[task]
    argv = _concrete(table()[task][1], endpoints, tmp_path, swaks=False)
    done = _run([sys.executable, "-m", "smtpdbg", *argv[1:]], endpoints.password)
    assert done.returncode == status, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    if received:
        messages = sandbox.wait_for_messages(received)
        assert len(messages) == received
        assert messages[-1].rcpt_tos == rcpts
    else:
        assert sandbox.messages == []
    if task != "pipe to a local process" and task != "TLS certificate and protocol" and status == 0:
        assert "accepted at end of data" in out
    if task == "attachment + header":
        content = messages[-1].content
        assert b"Subject: Report" in content and b'filename="report.pdf"' in content
        assert b"Message-Id: <" in content and b"Date: " in content
    if task == "quit after RCPT":
        assert shown("rcpt", "reject@example.org") in out and " -> quit" in out and "data" not in out.split("quit")[0][-50:]
    if task == "TLS certificate and protocol":
        assert "TLS established: TLSv1." in out and "verified" in out and " ~> quit" in out
    if task in ("AUTH LOGIN on submission", "implicit TLS + AUTH"):
        assert "235" in out and endpoints.password not in out
    if task == "pipe to a local process":
        assert "connected to process" in out and "250 2.0.0 queued" in out and "221 2.0.0 bye" in out
    if task == "pipelining":
        assert "pipelined RCPT" in out and "MAIL FROM:<" in out


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (apt-get install swaks)")
@pytest.mark.parametrize("task", sorted(TASKS))
def test_swaks_line_does_the_same_task(task: str, sandbox, endpoints, tmp_path: Path) -> None:
    _, status, received, rcpts = TASKS[task]
    argv = _concrete(table()[task][0], endpoints, tmp_path, swaks=True)
    argv = [word.replace("wonderland", endpoints.password) for word in argv]
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, cwd=ROOT,
                          env=dict(os.environ))
    assert done.returncode == status, done.stdout + done.stderr
    if received:
        messages = sandbox.wait_for_messages(received)
        assert messages[-1].rcpt_tos == rcpts
