"""Scripts: the command language one command per line, with message blocks and expectations.

A script line is a command of the language, a comment (``#``), a blank line,
or a directive: ``expect ...`` (an assertion on the previous command's reply),
``sleep SECONDS``, ``pause``. A command that takes a message body (``data``,
``sendmail`` without ``@FILE``) is followed by the message lines and a line
holding a single ``.``. ``${NAME}`` is replaced by the environment variable
``NAME`` (how secrets get in: scripts never contain passwords).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping

from smtpdbg.core.history import scrub
from smtpdbg.core.parser import ParseError, Parsed, parse


class ScriptError(ValueError):
    """A script that cannot be run; names the line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Expectation:
    """``expect 250``, ``expect 2xx``, ``expect 5.1.1``, ``expect /regex/``, ``expect has STARTTLS``."""

    kind: str
    """``code``, ``class``, ``enhanced``, ``regex`` or ``has``."""
    value: str
    line: int
    text: str

    def check(self, code: int | None, reply: str, features: Mapping[str, str]) -> str | None:
        """``None`` when the expectation holds, else what was got instead."""
        got = f"{code} {reply}".strip() if code is not None else "(no reply)"
        if self.kind == "code":
            return None if code == int(self.value) else got
        if self.kind == "class":
            return None if code is not None and str(code)[0] == self.value[0] else got
        if self.kind == "enhanced":
            from smtpdbg.core.catalog import parse_enhanced

            found = parse_enhanced(reply)
            return None if found == self.value else (found or "no enhanced status code") + f" in {got!r}"
        if self.kind == "regex":
            return None if re.search(self.value, reply) else got
        if self.kind == "has":
            return None if self.value.lower() in features else "not advertised: " + (" ".join(k.upper() for k in features) or "(no EHLO)")
        raise AssertionError(self.kind)


@dataclass(slots=True)
class Step:
    """One command of a script, with its body and the expectations that follow it."""

    line: int
    text: str
    parsed: Parsed | None = None
    body: bytes | None = None
    expectations: list[Expectation] = field(default_factory=list)
    directive: str = ""
    """``sleep`` or ``pause`` for directives (then ``text`` holds the argument)."""
    shown: str = ""
    """The line as written (``${NAME}`` not expanded), hand-typed AUTH payloads masked: what summaries show."""

    @property
    def label(self) -> str:
        """How the run names this step to people (never with a substituted secret)."""
        return self.shown or self.text


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(text: str, environ: Mapping[str, str], line: int) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in environ:
            raise ScriptError(line, f"${{{name}}} is not set in the environment")
        return environ[name]

    return _VAR.sub(replace, text)


def _unexpanded_error(exc: ParseError, written: str, environ: Mapping[str, str]) -> str:
    """The parse error of a line as written, so no ``${NAME}`` value (perhaps a secret) is repeated."""
    names = set(_VAR.findall(written))
    if not names:
        return str(exc)
    try:
        parse(written)
    except ParseError as original:
        return str(original)
    message = str(exc)  # only the expanded line fails: name the variables instead of their values
    for name in sorted(names, key=lambda n: -len(environ.get(n, ""))):
        value = environ.get(name, "")
        if len(value) >= 3:
            message = message.replace(value, "${" + name + "}")
    return message


def parse_expectation(text: str, line: int) -> Expectation:
    value = text.strip()
    if re.fullmatch(r"[2-5]\d\d", value):
        return Expectation("code", value, line, value)
    if re.fullmatch(r"[2-5]xx", value, re.IGNORECASE):
        return Expectation("class", value.lower(), line, value)
    if re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", value):
        return Expectation("enhanced", value, line, value)
    if len(value) >= 2 and value.startswith("/") and value.endswith("/"):
        try:
            re.compile(value[1:-1])
        except re.error as exc:
            raise ScriptError(line, f"bad regular expression {value}: {exc}") from None
        return Expectation("regex", value[1:-1], line, value)
    words = value.split()
    if len(words) == 2 and words[0].lower() == "has":
        return Expectation("has", words[1], line, value)
    raise ScriptError(line, f"expect takes a code (250), a class (2xx), an enhanced code (5.1.1), /regex/ or has KEYWORD; got {value!r}")


def parse_script(text: str, environ: Mapping[str, str]) -> list[Step]:
    """Parse a whole script.

    Raises:
        ScriptError: the first bad line (nothing has been sent).
    """
    steps: list[Step] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number = index + 1
        raw = lines[index]
        index += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        verb, _, rest = stripped.partition(" ")
        lowered = verb.lower()
        if lowered == "expect":
            if not steps or steps[-1].directive:
                raise ScriptError(number, "expect must follow a command")
            steps[-1].expectations.append(parse_expectation(rest, number))
            continue
        if lowered == "sleep":
            try:
                seconds = float(rest)
            except ValueError:
                raise ScriptError(number, f"sleep needs seconds, not {rest!r}") from None
            if not (math.isfinite(seconds) and seconds >= 0):
                raise ScriptError(number, f"sleep needs a number of seconds from 0 up, not {rest.strip()!r}")
            steps.append(Step(number, str(seconds), directive="sleep"))
            continue
        if lowered == "pause":
            steps.append(Step(number, rest, directive="pause"))
            continue
        command = substitute(stripped, environ, number)
        try:
            parsed = parse(command)
        except ParseError as exc:
            raise ScriptError(number, _unexpanded_error(exc, stripped, environ)) from None
        step = Step(number, command, parsed, shown=scrub(stripped))
        if parsed.spec.body and parsed.arg("file") is None:
            body: list[str] = []
            while True:
                if index >= len(lines):
                    raise ScriptError(number, f"the message after {parsed.name!r} has no ending line with a single '.'")
                line = lines[index]
                index += 1
                if line.rstrip("\r") == ".":
                    break
                body.append(line)
            step.body = ("\r\n".join(body) + "\r\n").encode("utf-8") if body else b""
        steps.append(step)
    return steps
