"""The command registry: one table of specs, each naming its handler; nothing without a handler."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from smtpdbg.core.commands import COMMANDS, CommandSpec
from smtpdbg.core.registry import handler_for, problems

HANDLERS = Path(__file__).resolve().parents[2] / "smtpdbg" / "core" / "handlers"


def test_every_command_has_a_handler_that_exists() -> None:
    assert problems() == []
    for spec in COMMANDS:
        assert callable(handler_for(spec))


def test_a_command_without_a_handler_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="no handler"):
        CommandSpec("frobnicate", "does nothing", "tool", "")


def test_a_handler_that_does_not_exist_is_found() -> None:
    spec = CommandSpec("frobnicate", "does nothing", "tool", "", handler="handlers.tool:frobnicate")
    with pytest.raises(LookupError, match="frobnicate"):
        handler_for(spec)


def test_every_public_handler_function_is_named_by_a_command() -> None:
    """No handler code that no command reaches: each public (ctx, parsed) function belongs to a spec."""
    named = {spec.handler for spec in COMMANDS}
    for path in HANDLERS.glob("*.py"):
        if path.stem in ("__init__", "common"):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                params = [a.arg for a in node.args.args]
                if params[:2] == ["ctx", "parsed"]:
                    assert f"handlers.{path.stem}:{node.name}" in named, f"{path.stem}.{node.name} has no command"
