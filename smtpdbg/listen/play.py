"""Playing the server from lines of text (stdin in ``listen --hold --print``, and the app's prompt).

Each line answers the oldest held command, or connection N's with ``@N``:
``reply 451 4.7.1 greylisted``, ``reply 250``, ``default``, ``drop``,
``stall 30``; ``advertise PIPELINING, SIZE 1000`` sets the EHLO keywords.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TextIO

from smtpdbg.listen.answers import AnswerError, parse_answer, parse_keywords

if TYPE_CHECKING:
    from smtpdbg.listen.printer import Printer
    from smtpdbg.listen.server import ListenServer


def play(server: "ListenServer", line: str) -> str:
    """Carry out one typed line; returns what to tell the person (empty: nothing to say).

    Raises:
        AnswerError: the line is not an answer, or nothing is held.
    """
    text = line.strip()
    if not text:
        return ""
    if text.lower().startswith("advertise"):
        keywords = parse_keywords(text[len("advertise"):])
        server.advertise(keywords)
        extra = ", and STARTTLS before TLS (it goes where TLS is offered)" if server.config.tls else ""
        return "EHLO will offer: " + (", ".join(server.keywords) or "(nothing)") + extra
    target = None
    if text.startswith("@"):
        number, _, text = text[1:].partition(" ")
        if not number.isdigit():
            raise AnswerError("@N names a connection by its number, e.g. @2 reply 250")
        target = int(number)
    answer = parse_answer(text)
    if target is None:
        if not server.held:
            raise AnswerError("no command is waiting for an answer")
        target = min(server.held)
    if not server.answer(target, answer):
        raise AnswerError(f"connection {target} has no command waiting")
    return f"[{target}] {answer.describe()}"


def play_lines(server: "ListenServer", printer: "Printer", stream: TextIO, stop: threading.Event) -> None:
    """Answer held commands from ``stream``'s lines until it ends (then set ``stop``)."""
    for line in stream:
        play_line(server, printer, line)
    stop.set()


def play_line(server: "ListenServer", printer: "Printer", line: str) -> None:
    """Carry out one typed line and say what it did (or why not), with the meaning of a typed code."""
    try:
        said = play(server, line)
    except AnswerError as error:
        printer.write(f"*** {error}")
        return
    if said:
        printer.write(f"=== {said}")
        code = said.partition(" reply ")[2][:3]
        if code.isdigit():
            printer.meaning(int(code))
