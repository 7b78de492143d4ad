"""``smtpdbg run``'s FAILED lines name the script's own lines and keep the basic reply code
beside the enhanced one; a refused recipient gives the same exit status however it was sent."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import repo_env

MESSAGE = "Subject: t\n\nhello\n.\n"


def _run(endpoints, tmp_path, script: str, target: str | None = None) -> tuple[int, list[str]]:
    path = tmp_path / "script.txt"
    path.write_text(script)
    host, port = endpoints.smtp
    command = [sys.executable, "-m", "smtpdbg", "run", str(path), "--target", target or f"smtp://{host}:{port}",
               "--ca", endpoints.ca_path, "--timeout", "10", "--local-hostname", "client.test", "--color", "never"]
    done = subprocess.run(command, env=repo_env(), capture_output=True, text=True, timeout=60)
    return done.returncode, [line[4:] for line in done.stdout.splitlines() if line.startswith("=== ")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_connect_run_adds_is_named_not_line_zero(endpoints, tmp_path):
    port = _free_port()  # nothing listens there once the probe is closed
    status, summary = _run(endpoints, tmp_path, "ehlo\n", target=f"127.0.0.1:{port}")
    failed = [line for line in summary if line.startswith("FAILED")]
    assert status == 3
    assert failed == [f"FAILED (connect smtp://127.0.0.1:{port})  [connect] " + failed[0].split("[connect] ", 1)[1]]
    assert "line 0" not in "\n".join(summary)


def test_a_refused_recipient_keeps_its_basic_code_beside_the_enhanced_code(endpoints, tmp_path):
    status, summary = _run(endpoints, tmp_path, "ehlo\nmail alice@example.org\nrcpt reject@example.org\n")
    assert status == 9
    assert "FAILED line 3: rcpt reject@example.org  [rcpt] 550 5.1.1 <reject@example.org>: " \
           "Recipient address rejected: User unknown" in summary


@pytest.mark.parametrize("script", [
    "ehlo\nmail alice@example.org\nrcpt bob@example.org\nrcpt reject@example.org\ndata\n" + MESSAGE,
    "ehlo\nsendmail alice@example.org bob@example.org,reject@example.org\n" + MESSAGE,
    "ehlo\npipeline MAIL FROM:<alice@example.org>; RCPT TO:<reject@example.org>; RCPT TO:<bob@example.org>; DATA\n",
], ids=["rcpt", "sendmail", "pipeline"])
def test_a_refused_recipient_exits_9_however_it_was_sent(endpoints, tmp_path, script):
    status, summary = _run(endpoints, tmp_path, script + "quit\n")
    assert status == 9, summary
    assert any(line.startswith("FAILED line 2: ") or line.startswith("FAILED line 4: ") for line in summary), summary
    assert any("<reject@example.org>: permanent failure at RCPT: 550 5.1.1" in line for line in summary), summary
    failed = next(line for line in summary if line.startswith("FAILED"))
    assert "[rcpt] 550 5.1.1 " in failed or "[rcpt] <reject@example.org>: permanent failure at RCPT: 550 5.1.1" in failed
