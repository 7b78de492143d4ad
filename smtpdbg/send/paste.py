"""A pasted swaks command line as a plan for a session: what the app's "paste a swaks command" runs.

The same conversion as ``smtpdbg send --from-swaks`` (:func:`smtpdbg.send.args.from_swaks`,
then ``send``'s own flags), without printing or exiting: every problem is a :class:`PasteError`
whose message says what to change.
"""

from __future__ import annotations

import contextlib
import io


class PasteError(ValueError):
    """The swaks command line cannot be run here; the message says why."""


def plan_from_swaks(text: str):
    """``(plan, options)`` for the swaks command line ``text``.

    Raises:
        PasteError: the line does not parse, names an option ``send`` does not support, or gives too little
            to send (no recipient or server).
    """
    from smtpdbg import cli
    from smtpdbg.send import make_plan
    from smtpdbg.send.args import SwaksError, build_parser, expand_header_flags, from_swaks
    from smtpdbg.send.plan import PlanError

    text = text.strip()
    if not text:
        raise PasteError("paste a swaks command line, e.g. swaks --to bob@example.org --server mail.example.org")
    try:
        converted = from_swaks(text)
    except SwaksError as exc:
        raise PasteError(str(exc)) from None
    parser = build_parser(cli.add_connection_options)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = parser.parse_intermixed_args(expand_header_flags(converted))
    except SystemExit:
        message = errors.getvalue().strip().splitlines()
        raise PasteError(message[-1] if message else "the command line does not parse") from None
    try:
        return make_plan(args, cli)
    except PlanError as exc:
        raise PasteError(str(exc)) from None
