"""The fake session the TUI tests drive is held to the real Session: what the frontends use of a session, it has.

The names are found in the frontends' code (every ``….session.NAME`` and ``session.NAME`` under
``smtpdbg/tui`` and ``smtpdbg/repl``), so a frontend that starts using something new of the session fails here
until the fake has it too; methods take the real one's parameters.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import smtpdbg
from smtpdbg.core.session import Session
from smtpdbg.core.target import Target
from tests.tui.fakes import FakeSession

ROOT = Path(smtpdbg.__file__).parent


def used_of_session() -> set[str]:
    """Attribute names the frontends read of a session object."""
    names = set()
    for folder in ("tui", "repl"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Attribute):
                    continue
                owner = node.value
                if (isinstance(owner, ast.Name) and owner.id == "session") or (
                        isinstance(owner, ast.Attribute) and owner.attr == "session"):
                    names.add(node.attr)
    return names


USED = sorted(used_of_session())


def test_the_frontends_use_a_known_part_of_the_session():
    assert {"submit", "subscribe", "state", "needs", "abort", "shutdown", "transcript"} <= set(USED)


@pytest.mark.parametrize("name", USED)
def test_the_fake_has_what_the_frontends_use(name):
    real = Session(Target("smtp", "127.0.0.1", 9))
    fake = FakeSession(Target("smtp", "127.0.0.1", 9))
    try:
        assert hasattr(real, name), f"the frontends use session.{name}, which Session does not have"
        assert hasattr(fake, name), f"FakeSession lacks {name}, which the frontends use of Session"
        real_value, fake_value = getattr(real, name), getattr(fake, name)
        assert callable(real_value) == callable(fake_value)
        if callable(real_value):
            wanted = {p.name for p in inspect.signature(real_value).parameters.values()
                      if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
            offered = inspect.signature(fake_value).parameters
            has_kwargs = any(p.kind is p.VAR_KEYWORD for p in offered.values())
            assert wanted <= set(offered) or has_kwargs, f"{name}: the fake takes {list(offered)}, Session {wanted}"
        else:
            assert type(real_value) is type(fake_value) or isinstance(fake_value, type(real_value))
    finally:
        real.shutdown(wait=1.0)


def test_the_session_and_the_fake_satisfy_the_declared_contract():
    """core/contract.py declares what frontends may use; the real Session and the fake both satisfy it,
    and it covers everything the frontends use."""
    from smtpdbg.core.contract import SessionContract

    declared = {name for name in dir(SessionContract) if not name.startswith("_")} | set(
        SessionContract.__annotations__)
    assert set(USED) <= declared, set(USED) - declared
    real = Session(Target("smtp", "127.0.0.1", 9))
    fake = FakeSession(Target("smtp", "127.0.0.1", 9))
    try:
        assert isinstance(real, SessionContract) and isinstance(fake, SessionContract)
    finally:
        real.shutdown()
        fake.shutdown()
