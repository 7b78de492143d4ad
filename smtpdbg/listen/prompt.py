"""Playing the server at a terminal without the app (``listen --hold --print``): a prompt that completes answers.

The prompt-toolkit adapter over :func:`smtpdbg.listen.answers.completions` (the
catalog's codes with their meanings, the same list the app suggests from):
Tab or typing offers ``reply 451 4.7.1 ...`` for ``45``, after ``@N`` too.
Sessions keep printing above the prompt; each line typed is played as
:func:`smtpdbg.listen.play.play_line` plays a line of stdin.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from smtpdbg.listen.answers import completions
from smtpdbg.listen.play import play_line

if TYPE_CHECKING:
    from smtpdbg.listen.printer import Printer
    from smtpdbg.listen.server import ListenServer

_TARGET = re.compile(r"^\s*@\d+\s+")
"""``@N `` before an answer: the connection it goes to."""


class AnswerCompleter(Completer):
    """Completes the whole answer typed so far (after any ``@N``), each candidate with its meaning."""

    def get_completions(self, document: Document, complete_event: CompleteEvent):
        text = document.text_before_cursor
        target = _TARGET.match(text)
        typed = text[target.end():] if target else text
        if not typed.strip() and not complete_event.completion_requested:
            return
        for suggestion, meaning in completions(typed):
            yield Completion(suggestion, start_position=-len(typed), display_meta=meaning)


def play_prompt(server: "ListenServer", printer: "Printer", stop: threading.Event, *, session=None) -> None:
    """Answer held commands at a prompt until Ctrl-D or Ctrl-C (then set ``stop``)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout

    session = session or PromptSession(completer=AnswerCompleter(), complete_while_typing=True)
    try:
        with patch_stdout(raw=True):
            while not stop.is_set():
                play_line(server, printer, session.prompt("answer> "))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        stop.set()
