"""Scripts: the command language one command per line, with message blocks and expectations.

A script line is a command of the language, a comment (``#``), a blank line,
or a directive: ``expect ...`` (an assertion on the previous command's reply),
``sleep SECONDS``, ``pause``, ``exit`` (the end). A command that takes a message
body (``data``, ``sendmail`` without ``@FILE``) is followed by the message
lines and a line holding a single ``.``. ``${NAME}`` is replaced by the
environment variable ``NAME`` (how secrets get in: scripts never contain
passwords).

Scripts are read as a stream, one line at a time (:class:`ScriptReader`): a
line longer than :data:`MAX_LINE` bytes, a NUL byte or text that is not UTF-8
ends the reading with a :class:`ScriptError` (binary data or a device such as
``/dev/zero`` is not a script), so memory stays bounded whatever the input.
:mod:`smtpdbg.core.interp` runs what the reader yields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable, Iterator, Mapping

from smtpdbg.core.history import ExchangeScrubber
from smtpdbg.core.parser import ParseError, Parsed, parse


class ScriptError(ValueError):
    """A script that cannot be run; names the line."""

    def __init__(self, line: int, message: str, kind: str = "") -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message
        self.kind = kind
        """``expect`` or ``command`` when the bad line was meant as one (its neighbours are judged apart)."""


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
    """``sleep``, ``pause`` or ``end`` (``exit``/``bye``) for directives (then ``text`` holds the argument)."""
    seconds: float = 0.0
    """How long a ``sleep`` waits."""
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


SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|AUTH|CRED", re.IGNORECASE)
"""Variable names that hold a secret: refused in a message body (a body is shown in transcripts and exports)."""


def expand_body(lines: Iterable[str], environ: Mapping[str, str], line: int) -> list[str]:
    """A message's lines with ``${NAME}`` replaced, as in commands.

    A message is content: it is shown in the transcript and kept whole in exports,
    so a variable named like a secret (``SMTP_PASSWORD``, ``API_TOKEN``...) is
    refused rather than recorded in plain text; AUTH is where secrets go.

    Raises:
        ScriptError: a variable is not set, or is named like a secret.
    """
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if SECRET_NAME.search(name):
            raise ScriptError(line, f"${{{name}}} in a message: a message is shown in the transcript and exports, "
                                    "so a secret is not put into one (AUTH takes secrets)")
        if name not in environ:
            raise ScriptError(line, f"${{{name}}} in the message is not set in the environment")
        return environ[name]

    return [_VAR.sub(replace, text) if "${" in text else text for text in lines]


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


MAX_LINE = 64 * 1024
"""The longest script line, in bytes (its line ending included)."""

_END_WORDS = ("exit", "bye")


def encode_body(lines: Iterable[str]) -> bytes:
    """Typed message lines as the bytes of a message: each line ended by CRLF, UTF-8; no line, no bytes.

    Bytes that were not UTF-8 when the text was read (decoded with ``surrogateescape``, as the app's composer
    loads a message file) become those bytes again.
    """
    lines = list(lines)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape") if lines else b""


def sleep_seconds(text: str, line: int) -> float:
    """The argument of ``sleep``: finite seconds from 0 to a week.

    Raises:
        ScriptError: anything else (``inf``, ``nan``, ``1e400``, ``-1``, a word).
    """
    from smtpdbg.core.values import MAX_SECONDS, seconds

    try:
        return seconds(text)
    except ValueError:
        raise ScriptError(line, f"sleep needs a number of seconds from 0 to {MAX_SECONDS}, not {text.strip()!r}") from None


UTF8_BOM = b"\xef\xbb\xbf"


def read_lines(stream: BinaryIO, *, max_line: int = MAX_LINE) -> Iterator[str]:
    """The lines of a byte stream as text, read one at a time with at most ``max_line`` bytes each.

    Raises:
        ScriptError: a longer line, a NUL byte or bytes that are not UTF-8 (then the stream is left).
    """
    number = 0
    while True:
        raw = stream.readline(max_line + 1)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(UTF8_BOM):  # a byte order mark some editors write: not part of line 1
            raw = raw[len(UTF8_BOM):]
        if len(raw) > max_line:
            raise ScriptError(number, f"longer than {max_line} bytes: binary data or a device, not a script")
        if b"\0" in raw:
            raise ScriptError(number, "holds a NUL byte: binary data, not a script")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ScriptError(number, "is not UTF-8 text: binary data, not a script") from None


class ScriptReader:
    """The items of a script, read from its lines as they are needed.

    :meth:`next` returns a :class:`Step` (a command with its message, or a
    directive) or an :class:`Expectation`, and ``None`` at the end. A bad line
    raises :class:`ScriptError` and is consumed: reading may go on with the next
    line, unless :attr:`broken` (the input itself cannot be read on).
    """

    def __init__(self, lines: Iterable[str], environ: Mapping[str, str], *, max_line: int = MAX_LINE) -> None:
        self._lines = iter(lines)
        self.environ = environ
        self.max_line = max_line
        self.number = 0
        """The number of the last line read."""
        self.broken = False
        """The input failed (too long a line, binary data): nothing more can be read."""
        self._back: list = []
        self._after_command = False
        """The last item was a command (or a line meant as one): ``expect`` may follow."""
        self._scrub = ExchangeScrubber()
        """Masks what a script line shows in summaries: an AUTH payload, and the answers of a hand-typed AUTH."""

    def push(self, item) -> None:
        """Give an item (or a :class:`ScriptError` to raise) back: the next :meth:`next` returns it."""
        self._back.append(item)

    def _line(self) -> str | None:
        try:
            line = next(self._lines)
        except StopIteration:
            return None
        except ScriptError as exc:
            self.broken = True
            raise ScriptError(self.number + 1, exc.message) from None
        self.number += 1
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        if len(line) > self.max_line:
            self.broken = True
            raise ScriptError(self.number, f"longer than {self.max_line} characters: not a script line")
        if line.endswith("\n"):
            line = line[:-1]
        return line[:-1] if line.endswith("\r") else line

    def next(self) -> Step | Expectation | None:
        """The next item, ``None`` at the end of the script.

        Raises:
            ScriptError: a bad line (see :attr:`broken`).
        """
        if self._back:
            item = self._back.pop()
            if isinstance(item, ScriptError):
                raise item
            return item
        if self.broken:
            return None
        while True:
            raw = self._line()
            if raw is None:
                return None
            stripped = raw.strip()
            if stripped and not stripped.startswith("#"):
                break
        number = self.number
        verb, _, rest = stripped.partition(" ")
        lowered = verb.lower()
        if lowered == "expect":
            if not self._after_command:
                raise ScriptError(number, "expect must follow a command", "expect")
            try:
                return parse_expectation(rest, number)
            except ScriptError as exc:
                raise ScriptError(number, exc.message, "expect") from None
        self._after_command = False
        if stripped in _END_WORDS:
            return Step(number, stripped, directive="end")
        if lowered == "sleep":
            return Step(number, rest.strip(), directive="sleep", seconds=sleep_seconds(rest, number))
        if lowered == "pause":
            return Step(number, rest.strip(), directive="pause")
        self._after_command = True  # even when the line is bad: its expect lines belong to it
        try:
            return self._command(stripped, number)
        except ScriptError as exc:
            raise ScriptError(number, exc.message, "command") from None

    def _command(self, stripped: str, number: int) -> Step:
        command = substitute(stripped, self.environ, number)
        try:
            parsed = parse(command)
        except ParseError as exc:
            raise ScriptError(number, _unexpanded_error(exc, stripped, self.environ)) from None
        step = Step(number, command, parsed, shown=self._scrub(stripped))
        if parsed.spec.body and parsed.arg("file") is None:
            lines = list(self._body(parsed.name, number))  # read to its end first: a bad body is skipped whole
            step.body = encode_body(expand_body(lines, self.environ, number))
        return step

    def _body(self, name: str, number: int) -> Iterator[str]:
        while True:
            line = self._line()
            if line is None:
                raise ScriptError(number, f"the message after {name!r} has no ending line with a single '.'")
            if line == ".":
                return
            yield line


def check_script(lines: Iterable[str], environ: Mapping[str, str]) -> int:
    """Read a whole script without running it; returns how many commands it holds.

    Raises:
        ScriptError: the first bad line.
    """
    reader = ScriptReader(lines, environ)
    commands = 0
    while True:
        item = reader.next()
        if item is None or (isinstance(item, Step) and item.directive == "end"):
            return commands
        if isinstance(item, Step) and not item.directive:
            commands += 1
