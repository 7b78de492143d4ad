"""The command registry: every command's spec bound to its handler, checked to be complete.

:mod:`smtpdbg.core.commands` holds the one table of command specs (grammar,
completion kinds, help, RFC, network flag), each naming its handler as
``module:function``. The parser, completion, help and palettes read the specs
alone (no handler code is imported for them: start-up stays fast); the
session asks :func:`handler_for` here when it runs a command. A spec without
a handler cannot be built, and :func:`problems` (run by a test) finds any
that names a handler that does not exist.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Callable

from smtpdbg.core.commands import COMMANDS, CommandSpec


@cache
def handler_for(spec: CommandSpec) -> Callable:
    """The handler of a command, wrapped so nothing a server quotes of a secret reaches the outcome.

    Raises:
        LookupError: the spec names a handler that does not exist (a bug :func:`problems` finds first).
    """
    from smtpdbg.core.secrets import scrubbing_replies

    module, _, name = spec.handler.partition(":")
    try:
        handler = getattr(import_module(f"smtpdbg.core.{module}"), name)
    except (ImportError, AttributeError) as exc:
        raise LookupError(f"command {spec.name!r}: no handler {spec.handler!r} ({exc})") from None
    return scrubbing_replies(handler)


def problems() -> list[str]:
    """Commands whose handler cannot be found (empty when the registry is complete)."""
    found = []
    for spec in COMMANDS:
        try:
            handler_for(spec)
        except LookupError as exc:
            found.append(str(exc))
    return found
