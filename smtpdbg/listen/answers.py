"""What the server says: the normal answers, and the answers typed when playing the server by hand.

An :class:`Answer` is what to do with one held client command (or the
greeting): send a reply, give the default reply (what a normal server would
say), drop the connection, or stall a number of seconds before the default.
:func:`parse_answer` reads the prompt's words (``reply 451 4.7.1 greylisted``,
``reply 250``, ``default``, ``drop``, ``stall 30``); a code without text gets
the catalog's standard text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smtpdbg.core.catalog.replies import REPLY_CODES, explain_reply

DEFAULT_KEYWORDS = ("PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES")
"""The EHLO keywords advertised unless others are chosen (STARTTLS is added where TLS is offered)."""

PLAY_WORDS = ("reply", "default", "drop", "stall", "advertise")
"""The prompt's commands when playing the server."""


class AnswerError(ValueError):
    """Words the prompt cannot turn into an answer; the message says why."""


@dataclass(frozen=True)
class Answer:
    """What to do with one held command."""

    action: str
    """``reply``, ``default``, ``drop`` or ``stall``."""
    lines: tuple[str, ...] = ()
    """For ``reply``: the reply lines without line endings, each starting with its code."""
    delay: float = 0.0
    """For ``stall`` (and a rule's tarpit): seconds to wait before answering."""

    def describe(self) -> str:
        """In the words a rule and the prompt share: ``wait 10 s, then reply 550 ...``."""
        what = {"reply": "reply " + " / ".join(self.lines), "stall": "the normal reply"}.get(self.action, self.action)
        return f"wait {self.delay:g} s, then {what}" if self.delay else what


DEFAULT = Answer("default")
DROP = Answer("drop")

_CODE = re.compile(r"^[2-5]\d\d$")


def reply_lines(text: str) -> tuple[str, ...]:
    """``451 4.7.1 greylisted`` as reply lines; a bare code takes the catalog's standard text; ``|`` separates lines
    of a multi-line reply (``250 first|second``: the code repeats on each line)."""
    parts = [part.strip() for part in text.split("|")]
    code, _, rest = parts[0].partition(" ")
    if not _CODE.match(code):
        raise AnswerError(f"a reply starts with a code from 200 to 599, not {code!r}")
    if not rest:
        info = explain_reply(int(code))
        rest = info.text if info is not None else "OK"
    texts = [rest, *parts[1:]]
    return tuple(f"{code}{'-' if i < len(texts) - 1 else ' '}{t}" for i, t in enumerate(texts))


def parse_answer(words: str) -> Answer:
    """The answer the prompt's words give.

    Raises:
        AnswerError: unknown word, bad code or bad number.
    """
    verb, _, rest = words.strip().partition(" ")
    verb = verb.lower()
    rest = rest.strip()
    if verb == "reply":
        if not rest:
            raise AnswerError("reply needs a code, e.g. reply 451 4.7.1 greylisted")
        return Answer("reply", reply_lines(rest))
    if verb in ("default", "drop") and not rest:
        return Answer(verb)
    if verb == "stall":
        try:
            seconds = float(rest or "30")
        except ValueError:
            raise AnswerError(f"stall takes seconds, not {rest!r}") from None
        if not 0 <= seconds <= 3600:
            raise AnswerError("stall takes 0 to 3600 seconds")
        return Answer("stall", delay=seconds)
    raise AnswerError(f"unknown answer {words.strip()!r}: use reply CODE [TEXT], default, drop or stall SECONDS")


def parse_keywords(text: str) -> tuple[str, ...]:
    """``advertise PIPELINING, SIZE 1000, 8BITMIME`` (commas; without commas, one keyword a word)."""
    items = text.split(",") if "," in text else text.split()
    return tuple(item.strip().upper() for item in items if item.strip())


def ehlo_lines(hostname: str, client: str, keywords: tuple[str, ...]) -> tuple[str, ...]:
    texts = [f"{hostname} greets {client or 'you'}", *keywords]
    return tuple(f"250{'-' if i < len(texts) - 1 else ' '}{t}" for i, t in enumerate(texts))


def suggestions() -> list[str]:
    """What the prompts offer to complete: the answers, a few common refusals, every catalog code with its text."""
    return ["default", "drop", "stall 30", "reply 451 4.7.1 greylisted, try again later",
            "reply 421 4.7.0 too many connections", "reply 550 5.7.1 relaying denied",
            *(f"reply {code} {info.text}" for code, info in sorted(REPLY_CODES.items())),
            "advertise PIPELINING, SIZE 10240000, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, DSN, CHUNKING"]


_WORD_MEANINGS = {"default": "what a normal server would say", "drop": "close the connection without a reply",
                  "stall": "wait, then the normal reply", "advertise": "the EHLO keywords offered from now on"}


def completions(text: str) -> list[tuple[str, str]]:
    """The :func:`suggestions` that complete ``text`` (case-insensitive; a bare code stands for ``reply CODE``),
    each with what it means: a reply code's meaning from the catalog, else what the word does."""
    typed = text.lstrip().lower()
    wanted = f"reply {typed}" if typed[:1].isdigit() else typed
    out = []
    for suggestion in suggestions():
        if not suggestion.lower().startswith(wanted):
            continue
        verb, _, rest = suggestion.partition(" ")
        info = explain_reply(int(rest[:3])) if verb == "reply" else None
        out.append((suggestion, info.meaning if info is not None else _WORD_MEANINGS.get(verb, "")))
    return out
