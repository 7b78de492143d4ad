"""Fixtures for the TUI tests: a sandbox in a subprocess, apps on it, and waiting on conditions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from tests.conftest import repo_env

HERE = Path(__file__).parent


@dataclass
class RemoteSandbox:
    """The sandbox process: where it listens and what it received."""

    smtp: tuple[str, int]
    smtps: tuple[str, int]
    lmtp: str
    """The LMTP listener's unix socket."""
    ca: str
    spool: Path

    def target(self, transport: str = "smtp") -> Target:
        if transport == "lmtp":
            return Target("lmtp", self.lmtp, None, sandbox=True)
        host, port = self.smtps if transport == "smtps" else self.smtp
        return Target(transport, host, port, sandbox=True)

    def options(self, **overrides) -> SessionOptions:
        settings = {"timeout": 10.0, "local_hostname": "client.smtpdbg.test", "ca": self.ca}
        settings.update(overrides)
        return SessionOptions(**settings)

    def messages(self) -> list[tuple[dict, bytes]]:
        found = []
        for path in sorted(self.spool.glob("*.eml"), key=lambda p: int(p.stem)):
            envelope = json.loads(path.with_suffix(".json").read_text())
            found.append((envelope, path.read_bytes()))
        return found

    def clear(self) -> None:
        for path in self.spool.iterdir():
            path.unlink()


@pytest.fixture(scope="session")
def remote_sandbox(tmp_path_factory) -> RemoteSandbox:
    spool = tmp_path_factory.mktemp("spool")
    process = subprocess.Popen([sys.executable, str(HERE / "sandbox_server.py"), str(spool)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, env=repo_env(), text=True)
    try:
        line = process.stdout.readline()
        info = json.loads(line)
        yield RemoteSandbox(tuple(info["smtp"]), tuple(info["smtps"]), info["lmtp"], info["ca"], spool)
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def sandbox_remote(remote_sandbox: RemoteSandbox) -> RemoteSandbox:
    remote_sandbox.clear()
    return remote_sandbox


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    path = tmp_path / "history"
    monkeypatch.setenv("SMTPDBG_HISTORY", str(path))
    return History(path)


async def wait_for(pilot, predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def transcript_text(app) -> str:
    from smtpdbg.tui.widgets.transcript import TranscriptView

    view = app.query_one(TranscriptView)
    return "\n".join(view.line_text(i) for i in range(view.line_count) if not view.part_at(i))  # whole rows


def free_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()}
