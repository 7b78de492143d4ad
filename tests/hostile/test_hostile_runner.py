"""The hostile-server suite through ``smtpdbg run``: classified words, an exit status, no traceback, no raw escapes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from smtpdbg.core.render import is_printable_line

from tests.conftest import repo_env
from tests.hostile.test_hostile_core import CASES, TIMEOUT, _build
from tests.servers import FakeServer

SCRIPTABLE = [c for c in CASES if not callable(c.server) or c.server.__code__.co_varnames[:1] != ("pki",)]


@pytest.mark.parametrize("case", SCRIPTABLE, ids=[c.id for c in SCRIPTABLE])
def test_runner_survives_hostile_server(case):
    commands = [c for c in case.commands if c != "connect"]
    script = ""
    for command in commands:
        script += command + "\n"
        if command == "data":
            script += "Subject: t\n\nhello\n.\n"
    if "auth" in script:
        script = script.replace("auth LOGIN alice", "auth LOGIN alice --password-env PW").replace(
            "auth PLAIN alice", "auth PLAIN alice --password-env PW")
    with FakeServer(_build(case, None)) as server:
        started = time.monotonic()
        env = repo_env()
        env["PW"] = "secret-pw"
        result = subprocess.run(
            [sys.executable, "-m", "smtpdbg", "run", "-", "--target", server.target, "--timeout", str(TIMEOUT),
             "--keep-going", "--local-hostname", "client.test", "--allow-plaintext-auth"],
            input=script, capture_output=True, text=True, env=env, timeout=60,
        )
        elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for line in output.splitlines():
        assert is_printable_line(line), f"server bytes reached the terminal raw: {line!r}"
    assert elapsed < (len(commands) + 1) * (TIMEOUT + 1) + 5
    if case.category is None:
        assert result.returncode in (0, 11, 5) or "unsolicited" in output, output
    else:
        assert result.returncode != 0, output
        assert "*** " in output or "<** " in output, output
    assert "secret-pw" not in output
