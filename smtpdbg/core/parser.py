"""Parsing the command language, whole or partial.

:func:`parse` turns a finished line into a :class:`Parsed` command or raises a
:class:`ParseError` with the column and what was expected. :func:`analyze`
reads unfinished input (up to the cursor) and says which command it is, which
argument the cursor is in, and which arguments are still expected: the prompt
uses it for hints and highlighting, completion for deciding what to offer.

Words are separated by spaces; double quotes group a word without being
removed (``mail "john doe"@example.org`` sends the quotes, as SMTP needs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from smtpdbg.core.commands import Arg, CommandSpec, Kind, Option, lookup, names
from smtpdbg.core.values import MAX_SECONDS as MAX_NUMBER  # the largest number a command takes (seconds: a week)


class ParseError(ValueError):
    """A line that is not a valid command. ``column`` is 0-based."""

    def __init__(self, message: str, column: int, expected: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.expected = expected

    def __str__(self) -> str:
        return f"{self.message} (column {self.column + 1})"


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split on spaces/tabs; double quotes group but stay in the word."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        start = i
        quoted = False
        while i < n and (quoted or text[i] not in " \t"):
            if text[i] == '"':
                quoted = not quoted
            i += 1
        tokens.append(Token(text[start:i], start, i))
    return tokens


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed command: positional arguments and options by name."""

    spec: CommandSpec
    args: Mapping[str, Any]
    options: Mapping[str, Any]
    text: str

    @property
    def name(self) -> str:
        return self.spec.name

    def arg(self, name: str, default: Any = None) -> Any:
        return self.args.get(name, default)

    def opt(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What unfinished input means, for hints and completion."""

    text: str
    spec: CommandSpec | None
    word: str
    """The word being typed at the cursor (possibly empty)."""
    word_start: int
    kind: Kind | None
    """What the word at the cursor should be; ``Kind.COMMAND`` for the verb."""
    arg: Arg | Option | None
    """The argument or option value the cursor is in."""
    expected: tuple[Arg, ...] = ()
    """Positional arguments not given yet (after the cursor word)."""
    used_options: frozenset[str] = frozenset()
    given: tuple[str, ...] = ()
    """Values of the current ``many`` argument already typed (e.g. MAIL params)."""
    error: ParseError | None = None
    """The error the whole line would give now, if any."""
    option_expected: bool = False
    """The cursor word starts with ``--``: an option name is being typed."""

    @property
    def hint(self) -> str:
        """``ehlo [NAME]``-style text of what is still expected."""
        if self.spec is None:
            return ""
        parts = []
        for arg in self.expected:
            label = arg.name.upper() + ("..." if arg.many else "")
            parts.append(label if arg.required else f"[{label}]")
        return " ".join(parts)


def _option_value(option: Option, value: str, column: int) -> Any:
    if option.kind is Kind.FILE and value.startswith("@"):
        # Accept the @FILE spelling positional arguments use (and completion offers).
        if len(value) < 2:
            raise ParseError(f"{option.name} needs a file: write @path or path", column, ("@FILE",))
        return value[1:]
    if option.kind is Kind.NUMBER and option.metavar in ("N", "BYTES"):  # whole numbers (counts, sizes)
        if not (value.isascii() and value.isdigit()):
            raise ParseError(f"{option.name} needs a whole number, not {value!r}", column, ("N",))
        return int(value)
    if option.kind is Kind.NUMBER:
        try:
            number = float(value)
        except ValueError:
            raise ParseError(f"{option.name} needs a number, not {value!r}", column, ("number",)) from None
        if not math.isfinite(number):
            raise ParseError(f"{option.name} needs a finite number, not {value!r}", column, ("number",))
        if number < 0:
            raise ParseError(f"{option.name} must not be negative", column, ("number",))
        if number > MAX_NUMBER:  # a timeout past the platform's clocks would fail every command with OverflowError
            raise ParseError(f"{option.name} must be at most {MAX_NUMBER}", column, ("number",))
        return number
    return value


def quote_path(path: str) -> str:
    """A path as one command word: in double quotes when it holds spaces or could pass for an option.

    Raises:
        ValueError: the path holds a double quote or a line break, which no command word can carry.
    """
    if any(c in path for c in '"\r\n'):
        raise ValueError(f"a path with a double quote or a line break cannot be written in a command: {path!r}")
    if path.startswith("-") or any(c.isspace() for c in path):
        return f'"{path}"'
    return path


def _unquote(path: str) -> str:
    """``"a b.eml"`` -> ``a b.eml``: a path with spaces is written in double quotes."""
    return path[1:-1] if len(path) >= 2 and path[0] == path[-1] == '"' else path


def _positional(arg: Arg, token: Token) -> Any:
    value = token.text
    if arg.kind is Kind.FILE:
        if not value.startswith("@") or len(value) < 2:
            raise ParseError(f"{arg.name.upper()} is a file: write it as @path (got {value!r})", token.start, ("@FILE",))
        return _unquote(value[1:])
    if arg.kind is Kind.OUTPUT:
        return _unquote(value)
    if arg.kind is Kind.NUMBER:
        try:
            number = float(value)
        except ValueError:
            raise ParseError(f"{arg.name.upper()} must be a number, not {value!r}", token.start, ("number",)) from None
        if not math.isfinite(number):
            raise ParseError(f"{arg.name.upper()} must be a finite number, not {value!r}", token.start, ("number",))
        if abs(number) > MAX_NUMBER:
            raise ParseError(f"{arg.name.upper()} must be at most {MAX_NUMBER}", token.start, ("number",))
    return value


@dataclass
class _Walk:
    spec: CommandSpec
    args: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    index: int = 0
    """Index of the next positional argument."""
    pending_option: Option | None = None


def _walk(spec: CommandSpec, text: str, tokens: list[Token], *, strict: bool) -> _Walk:
    """Assign tokens (after the verb) to options and arguments; raise on errors."""
    walk = _Walk(spec)
    for number, token in enumerate(tokens):
        if walk.pending_option is not None:
            option = walk.pending_option
            walk.pending_option = None
            _store_option(walk, option, _option_value(option, token.text, token.start))
            continue
        current = spec.args[walk.index] if walk.index < len(spec.args) else None
        if token.text.startswith("--") and len(token.text) > 2:
            name, eq, value = token.text.partition("=")
            option = spec.option(name)
            if option is None:
                choices = ", ".join(o.name for o in spec.options) or "none"
                raise ParseError(f"unknown option {name} for {spec.name} (options: {choices})", token.start,
                                 tuple(o.name for o in spec.options))
            if option.flag:
                if eq:
                    raise ParseError(f"{name} takes no value", token.start)
                _store_option(walk, option, True)
            elif eq:
                _store_option(walk, option, _option_value(option, value, token.start + len(name) + 1))
            else:
                walk.pending_option = option
            continue
        if current is None:
            usage = spec.usage
            if spec.secret:  # likely a password typed where none belongs: never repeat it
                raise ParseError(f"unexpected word after {spec.args[-1].name.upper()}: usage is {usage} "
                                 "(a password is never typed on the command line: it is asked with a masked "
                                 "prompt, or read from --password-env NAME)", token.start, ())
            raise ParseError(f"unexpected {token.text!r}: usage is {usage}", token.start, ())
        if current.rest:
            walk.args[current.name] = text[token.start:]
            walk.index = len(spec.args)
            return walk
        if current.many:
            walk.args.setdefault(current.name, []).append(_positional(current, token))
            continue
        walk.args[current.name] = _positional(current, token)
        walk.index += 1
    if strict:
        if walk.pending_option is not None:
            option = walk.pending_option
            raise ParseError(f"{option.name} needs a value ({option.metavar})", len(text), (option.metavar,))
        for arg in spec.args[walk.index:]:
            if arg.required and arg.name not in walk.args:
                raise ParseError(f"{spec.name} needs {arg.name.upper()}: {arg.help}", len(text.rstrip()) + 1,
                                 (arg.name.upper(),))
    return walk


def _store_option(walk: _Walk, option: Option, value: Any) -> None:
    key = option.name[2:].replace("-", "_")
    if option.many:
        walk.options.setdefault(key, []).append(value)
    else:
        walk.options[key] = value


def _verb(text: str) -> tuple[Token | None, list[Token]]:
    tokens = tokenize(text)
    if not tokens:
        return None, []
    return tokens[0], tokens[1:]


def parse(text: str) -> Parsed:
    """Parse a complete command line.

    Raises:
        ParseError: unknown command, unknown option, bad or missing argument.
    """
    verb, rest = _verb(text)
    if verb is None:
        raise ParseError("empty command", 0, names())
    spec = lookup(verb.text)
    if spec is None:
        close = [n for n in names() if n.startswith(verb.text[:2].lower())] or list(names())
        raise ParseError(f"unknown command {verb.text!r}; try ? for the list", verb.start, tuple(close))
    walk = _walk(spec, text, rest, strict=True)
    return Parsed(spec, MappingProxyType(walk.args), MappingProxyType(walk.options), text)


def analyze(text: str, cursor: int | None = None) -> Analysis:
    """Describe unfinished input up to ``cursor`` (default: its end). Never raises."""
    if cursor is None:
        cursor = len(text)
    before = text[:cursor]
    tokens = tokenize(before)
    at_space = not before or before[-1] in " \t"
    error = None
    try:
        parse(text)
    except ParseError as exc:
        error = exc
    if not tokens or (len(tokens) == 1 and not at_space):
        word = tokens[0].text if tokens else ""
        start = tokens[0].start if tokens else len(before)
        return Analysis(text, None, word, start, Kind.COMMAND, None, error=error)
    spec = lookup(tokens[0].text)
    if spec is None:
        return Analysis(text, None, "", cursor, None, None, error=error)
    done = tokens[1:] if at_space else tokens[1:-1]
    word_token = None if at_space else tokens[-1]
    word = word_token.text if word_token else ""
    word_start = word_token.start if word_token else cursor
    try:
        walk = _walk(spec, before, done, strict=False)
    except ParseError as exc:
        return Analysis(text, spec, word, word_start, None, None, error=error or exc)
    used = frozenset(o.name for o in spec.options if o.name[2:].replace("-", "_") in walk.options)
    if walk.pending_option is not None:
        option = walk.pending_option
        kind = option.kind
        return Analysis(text, spec, word, word_start, kind, option, tuple(spec.args[walk.index:]), used, error=error)
    current = spec.args[walk.index] if walk.index < len(spec.args) else None
    given = tuple(walk.args.get(current.name, ())) if current is not None and current.many else ()
    if current is not None and current.rest and done and walk.index >= len(spec.args):
        current = None
    if word.startswith("-"):
        return Analysis(text, spec, word, word_start, None, None, tuple(spec.args[walk.index:]), used, given, error,
                        option_expected=True)
    expected = tuple(spec.args[walk.index + 1:]) if current is not None and not current.many else tuple(spec.args[walk.index:])
    if current is not None and not word and not current.many:
        expected = tuple(spec.args[walk.index:])
    kind = current.kind if current is not None else None
    return Analysis(text, spec, word, word_start, kind, current, expected, used, given, error)


_ESCAPES = {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\", "0": b"\x00", "e": b"\x1b"}


def unescape(text: str) -> bytes:
    """Decode ``raw`` escapes: ``\\r \\n \\t \\\\ \\0 \\e \\xNN``; other text as UTF-8.

    Raises:
        ParseError: a bad escape.
    """
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "\\":
            out += ch.encode("utf-8")
            i += 1
            continue
        if i + 1 >= n:
            raise ParseError("a backslash at the end of the line: write \\\\ for a backslash", i, ("\\r", "\\n", "\\xNN"))
        code = text[i + 1]
        if code in _ESCAPES:
            out += _ESCAPES[code]
            i += 2
        elif code == "x":
            digits = text[i + 2:i + 4]
            try:
                if len(digits) != 2:
                    raise ValueError
                out.append(int(digits, 16))
            except ValueError:
                raise ParseError(f"bad escape \\x{digits}: expected two hex digits", i, ("\\xNN",)) from None
            i += 4
        else:
            raise ParseError(f"unknown escape \\{code} (known: \\r \\n \\t \\\\ \\0 \\e \\xNN)", i, ("\\r", "\\n", "\\xNN"))
    return bytes(out)
