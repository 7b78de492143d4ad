"""Shared fixtures: one real sandbox server per test session, and sessions that talk to it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig

TIMEOUT = 10.0


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Colour and theme settings from the developer's shell must not change results."""
    for name in ("NO_COLOR", "TEXTUAL_THEME", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(extra_extensions=("PIPELINING", "ENHANCEDSTATUSCODES", "DSN"))) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: Sandbox) -> Sandbox:
    """The session's sandbox with its received messages cleared for this test."""
    shared_sandbox.clear_messages()
    return shared_sandbox


@pytest.fixture
def endpoints(sandbox: Sandbox) -> Endpoints:
    return sandbox.endpoints


@pytest.fixture
def make_session(endpoints: Endpoints):
    """Factory: ``make_session(transport="smtp", **options)`` -> a Session on the sandbox, shut down after the test."""
    sessions: list[Session] = []

    def make(transport: str = "smtp", **overrides) -> Session:
        if transport == "lmtp":
            target = Target("lmtp", endpoints.lmtp, None, sandbox=True)
        else:
            host, port = endpoints.smtps if transport == "smtps" else endpoints.smtp
            target = Target(transport, host, port, sandbox=True)
        settings = {"timeout": TIMEOUT, "local_hostname": "client.smtpdbg.test", "ca": endpoints.ca_path}
        settings.update(overrides)
        session = Session(target, SessionOptions(**settings), environ={"SANDBOX_PASSWORD": endpoints.password})
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.shutdown()


@pytest.fixture
def session(make_session) -> Session:
    """A plain-SMTP session on the sandbox, connected (greeting read)."""
    session = make_session()
    outcome = session.execute("connect")
    assert outcome.ok, outcome
    return session


def capped_memory() -> None:
    """``preexec_fn`` for a child whose address space is capped at 1 GB: an unbounded read then ends in
    MemoryError (a failing test) instead of a swap storm on a shared machine."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def repo_env() -> dict[str, str]:
    """Environment for child processes that import smtpdbg from this checkout."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    for name in ("NO_COLOR", "PYTHONWARNINGS"):
        env.pop(name, None)
    return env
