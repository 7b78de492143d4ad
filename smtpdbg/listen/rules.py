"""Rules: a TOML file that answers client commands deterministically (docs/listen.md).

Each ``[[rule]]`` names a ``stage`` (``connect``, ``helo``, ``mail``, ``rcpt``,
``data``, ``message`` for the final dot, ``rset``, ``noop``, ``vrfy``,
``starttls``, ``quit``, ``other``, or ``any``), optional filters (``command``: the
verb, e.g. ``EXPN`` with stage ``other``; ``address``: a
glob on the MAIL/RCPT address, for ``message`` any recipient; ``client``: a glob on
the client's IP address), counters (``after = N``: let the first N matches pass;
``times = N``: fire at most N times; ``rate = "3/60"``: fire only on the third and
later match from one client within 60 seconds), ``probability`` (0 to 1, drawn from
a generator seeded by the file's top-level ``seed``), and what to do: ``reply =
"550 5.7.1 blocked"``, ``drop = true``, and/or ``delay = SECONDS`` (a tarpit: wait,
then the reply, or the default one). The first rule that fires answers.

:class:`RuleBook` rereads the file when its modification time changes; a file that
does not parse keeps the rules in force and says why in :attr:`RuleBook.error`.
"""

from __future__ import annotations

import fnmatch
import os
import random
import threading
import time
import tomllib
from collections import defaultdict, deque
from dataclasses import dataclass, field

from smtpdbg.listen.answers import DROP, Answer, AnswerError, reply_lines

STAGES = ("connect", "helo", "mail", "rcpt", "data", "message", "rset", "noop", "vrfy", "starttls", "quit",
          "other", "any")
_KEYS = {"stage", "command", "address", "client", "after", "times", "rate", "probability", "reply", "drop", "delay", "name"}


class RuleError(ValueError):
    """A rules file that cannot be used; the message names the rule and the key."""


@dataclass(frozen=True)
class Context:
    """What a rule is matched against."""

    stage: str
    client: str
    """The client's IP address (``local`` on a unix socket)."""
    addresses: tuple[str, ...] = ()
    """MAIL: the sender; RCPT: the recipient; message: every recipient."""
    command: str = ""
    """The command's verb, upper case (``EXPN``, ``AUTH``); empty for the greeting and the message."""


@dataclass
class Rule:
    stage: str
    answer: Answer
    name: str = ""
    command: str = ""
    address: str = ""
    client: str = ""
    after: int = 0
    times: int | None = None
    rate: tuple[int, float] | None = None
    probability: float | None = None
    matched: int = 0
    fired: int = 0
    seen: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))

    def matches(self, ctx: Context) -> bool:
        if self.stage not in ("any", ctx.stage) or (self.command and self.command != ctx.command):
            return False
        if self.client and not fnmatch.fnmatchcase(ctx.client.lower(), self.client.lower()):
            return False
        if self.address:
            pattern = self.address.lower()
            if not any(fnmatch.fnmatchcase(a.lower(), pattern) for a in ctx.addresses):
                return False
        return True

    def fires(self, ctx: Context, now: float, chance: random.Random) -> bool:
        """Count a match and say whether the rule answers it."""
        self.matched += 1
        if self.rate is not None:
            count, window = self.rate
            seen = self.seen[ctx.client]
            seen.append(now)
            while seen and seen[0] <= now - window:
                seen.popleft()
            if len(seen) < count:
                return False
        if self.matched <= self.after:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability is not None and chance.random() >= self.probability:
            return False
        self.fired += 1
        return True


def _answer(index: int, raw: dict) -> Answer:
    delay = float(raw.get("delay", 0))
    if not 0 <= delay <= 3600:
        raise RuleError(f"rule {index}: delay must be 0 to 3600 seconds")
    if raw.get("drop"):
        return Answer("drop", delay=delay) if delay else DROP
    if "reply" in raw:
        try:
            return Answer("reply", reply_lines(str(raw["reply"])), delay=delay)
        except AnswerError as error:
            raise RuleError(f"rule {index}: {error}") from None
    if delay:
        return Answer("stall", delay=delay)
    raise RuleError(f"rule {index}: says nothing to do (give reply, drop or delay)")


def _rate(index: int, text: object) -> tuple[int, float]:
    count, _, window = str(text).partition("/")
    window = {"second": "1", "minute": "60", "hour": "3600"}.get(window.strip(), window.strip().removesuffix("s"))
    try:
        result = int(count), float(window)
    except ValueError:
        raise RuleError(f"rule {index}: rate is COUNT/SECONDS (\"3/60\") or COUNT/minute, not {text!r}") from None
    if result[0] < 1 or result[1] <= 0:
        raise RuleError(f"rule {index}: rate needs a count of 1 or more and a window above 0")
    return result


def parse_rules(text: str) -> tuple[list[Rule], int | None]:
    """The rules of a TOML text, and its seed.

    Raises:
        RuleError: not TOML, an unknown key or stage, a bad value.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleError(f"not valid TOML: {error}") from None
    unknown = set(data) - {"rule", "seed"}
    if unknown:
        raise RuleError(f"unknown top-level key {sorted(unknown)[0]!r} (use [[rule]] tables and seed)")
    rules = []
    for index, raw in enumerate(data.get("rule", []), 1):
        if not isinstance(raw, dict):
            raise RuleError(f"rule {index}: write rules as [[rule]] tables")
        bad = set(raw) - _KEYS
        if bad:
            raise RuleError(f"rule {index}: unknown key {sorted(bad)[0]!r}")
        stage = str(raw.get("stage", "")).lower()
        if stage not in STAGES:
            raise RuleError(f"rule {index}: stage must be one of {', '.join(STAGES)}")
        probability = raw.get("probability")
        if probability is not None and not (isinstance(probability, (int, float)) and 0 <= probability <= 1):
            raise RuleError(f"rule {index}: probability is a number from 0 to 1")
        try:
            after, times = int(raw.get("after", 0)), (int(raw["times"]) if "times" in raw else None)
        except (TypeError, ValueError):
            raise RuleError(f"rule {index}: after and times are whole numbers") from None
        rules.append(Rule(
            stage=stage, answer=_answer(index, raw), name=str(raw.get("name", "")) or f"rule {index}",
            command=str(raw.get("command", "")).upper(),
            address=str(raw.get("address", "")), client=str(raw.get("client", "")), after=after, times=times,
            rate=_rate(index, raw["rate"]) if "rate" in raw else None, probability=probability))
    seed = data.get("seed")
    return rules, seed if isinstance(seed, int) else None


class RuleBook:
    """The rules of a file, reread when it changes (checked at each decision)."""

    def __init__(self, path: str | None = None, *, text: str = "", clock=time.monotonic) -> None:
        self.path = path
        self.error = ""
        """Why the file last failed to load (the rules before it stay in force)."""
        self.loads = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._mtime: int | None = None
        self.rules: list[Rule] = []
        self._chance = random.Random()
        if path is None:
            self._install(*parse_rules(text))
        else:
            self.reload_if_changed(strict=True)

    def _install(self, rules: list[Rule], seed: int | None) -> None:
        self.rules = rules
        self._chance = random.Random(seed)
        self.loads += 1

    def reload_if_changed(self, *, strict: bool = False) -> bool:
        """Reread the file when its modification time changed; True when new rules are in force.

        Raises:
            RuleError, OSError: only with ``strict`` (at start-up); later failures go to :attr:`error`.
        """
        if self.path is None:
            return False
        try:
            stat = os.stat(self.path)
            if stat.st_mtime_ns == self._mtime:
                return False
            self._mtime = stat.st_mtime_ns
            with open(self.path, encoding="utf-8") as handle:
                self._install(*parse_rules(handle.read()))
        except (OSError, UnicodeDecodeError, RuleError) as error:
            if strict:
                raise
            self.error = str(error)
            return False
        self.error = ""
        return True

    def poll(self) -> bool:
        """Reread the file if it changed (the frontends call it every half second, so a save applies at once)."""
        with self._lock:
            return self.reload_if_changed()

    def decide(self, ctx: Context) -> tuple[Rule, Answer] | None:
        """The first rule that fires for ``ctx`` and its answer, or None."""
        with self._lock:
            self.reload_if_changed()
            now = self._clock()
            for rule in self.rules:
                if rule.matches(ctx) and rule.fires(ctx, now, self._chance):
                    return rule, rule.answer
        return None
