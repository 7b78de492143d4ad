"""Guided lessons: data files of steps, each with an explanation, a command to try, and a check.

A lesson is a TOML file (format in ``docs/lessons.md``); the ones that ship
live in :mod:`smtpdbg.lessons`, and teachers can add their own directory with
``$SMTPDBG_LESSONS``. :class:`LessonProgress` follows a session: after every
command it checks the current step against the outcome and the state
snapshot, advances when the check holds, and otherwise gives the step's hint
with the reason the check failed. Frontends only show the texts.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from smtpdbg.core.catalog import parse_enhanced
from smtpdbg.core.commands import lookup
from smtpdbg.core.options import SessionOptions
from smtpdbg.core.parser import ParseError, parse
from smtpdbg.core.state import SessionState
from smtpdbg.core.target import Target

CHECK_KEYS = {
    "command": "the command just run (or a list of accepted commands)",
    "ok": "whether the command succeeded",
    "code": "the reply code (or a list of accepted codes)",
    "class": "the reply class: 2xx, 3xx, 4xx or 5xx",
    "enhanced": "the enhanced status code in the reply, e.g. 5.1.1",
    "stage": "the protocol stage afterwards (greeted, identified, tls, authenticated, mail, rcpt, ...)",
    "tls": "whether TLS is up",
    "authenticated": "whether AUTH succeeded",
    "mechanism": "the AUTH mechanism that succeeded",
    "feature": "an EHLO keyword the server must have advertised",
    "no_feature": "an EHLO keyword the server must NOT have advertised",
    "delivered": "whether the last transaction ended with a 2xx after the final dot",
    "recipients": "how many recipients the last delivery had",
    "replies": "how many replies the command read (LMTP DATA reads one per recipient)",
    "param": "an ESMTP parameter the command carried (or a list): NOTIFY, or NOTIFY=SUCCESS within NOTIFY=SUCCESS,FAILURE",
    "fates": "each named recipient's fate in the last transaction (from the ledger), e.g. "
             "{ \"full@x\" = \"temporary failure\", \"bob@x\" = \"accepted\" }",
}

RESTART_COMMANDS = ("connect", "reconnect")
"""Commands that start a fresh connection: a lesson goes back to the first step that needs one."""


class LessonError(ValueError):
    """A lesson file that cannot be used; names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Check:
    """Conditions on what just happened; all must hold."""

    conditions: tuple[tuple[str, object], ...] = ()

    def failure(self, command: str, outcome, state: SessionState) -> str | None:
        """``None`` when every condition holds, else why not (in words for a student)."""
        verb = command.split(None, 1)[0].lower() if command else ""
        for key, expected in self.conditions:
            reason = _failed(key, expected, verb, outcome, state, command)
            if reason:
                return reason
        return None


def _listed(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _failed(key: str, expected, verb: str, outcome, state: SessionState, command: str = "") -> str | None:
    code = outcome.code if outcome is not None else None
    if key == "command":
        names = tuple(str(n).lower() for n in _listed(expected))
        return None if verb in names else f"this step wants `{names[0]}`, not `{verb or '(nothing)'}`"
    if key == "ok":
        return None if outcome is not None and outcome.ok == expected else (
            "the command did not succeed" if expected else "the command was expected to fail")
    if key == "code":
        codes = tuple(int(c) for c in _listed(expected))
        got = "no reply" if code is None else code
        return None if code in codes else f"expected reply {' or '.join(map(str, codes))}, got {got}"
    if key == "class":
        return None if code is not None and str(code)[0] == str(expected)[0] else \
            f"expected a {expected} reply, got {'no reply' if code is None else code}"
    if key == "enhanced":
        found = parse_enhanced(outcome.text) if outcome is not None else None
        return None if found == expected else f"expected enhanced status {expected}, got {found or 'none'}"
    if key == "stage":
        return None if state.stage.value == expected else f"expected stage {expected}, the session is at {state.stage.value}"
    if key == "tls":
        return None if (state.tls is not None) == expected else ("TLS is not up yet" if expected else "TLS should not be up")
    if key == "authenticated":
        return None if state.authenticated == expected else ("not authenticated yet" if expected else "should not be authenticated")
    if key == "mechanism":
        return None if state.auth_mechanism == str(expected).upper() else f"expected AUTH {expected}, used {state.auth_mechanism}"
    if key == "feature":
        return None if state.features.has(str(expected)) else f"the server has not advertised {expected} (yet): EHLO?"
    if key == "no_feature":
        return None if not state.features.has(str(expected)) else f"{expected} is still advertised"
    if key == "delivered":
        delivery = state.last_transaction
        done = delivery is not None and delivery.status in ("delivered", "partly delivered")
        return None if done == expected else ("no message has been accepted yet" if expected else "the message was accepted")
    if key == "recipients":
        delivery = state.last_transaction
        count = len(delivery.recipients) if delivery is not None else 0
        return None if count == expected else f"expected {expected} recipients in the last delivery, got {count}"
    if key == "replies":
        count = len(outcome.replies) if outcome is not None else 0
        return None if count == expected else f"expected {expected} replies, got {count}"
    if key == "param":
        return _missing_param(tuple(str(p) for p in _listed(expected)), command)
    if key == "fates":
        return _fates_failed(dict(expected), state)
    raise LessonError(f"unknown check {key!r}")


def _fates_failed(expected: dict, state: SessionState) -> str | None:
    delivery = state.last_transaction
    fates = {r.address.lower(): r for r in delivery.recipients} if delivery is not None else {}
    for address, fate in expected.items():
        recipient = fates.get(str(address).lower())
        if recipient is None:
            return f"<{address}> is not a recipient of the last transaction"
        if recipient.fate.value != fate:
            return f"expected <{address}> to end as {fate}, the ledger says {recipient.line()}"
    return None


def _params_of(command: str) -> dict[str, set[str]]:
    """The ESMTP parameters of a mail/rcpt/sendmail command: keyword -> the words of its value."""
    try:
        parsed = parse(command)
    except ParseError:
        return {}
    found: dict[str, set[str]] = {}
    for param in [*(parsed.arg("params") or ()), *(parsed.opt("mail_option") or ()), *(parsed.opt("rcpt_option") or ())]:
        keyword, _, value = str(param).partition("=")
        found.setdefault(keyword.upper(), set()).update(w for w in value.upper().split(",") if w)
    return found


def _missing_param(expected: tuple[str, ...], command: str) -> str | None:
    found = _params_of(command)
    for wanted in expected:
        keyword, _, value = wanted.partition("=")
        words = set(value.upper().split(",")) - {""}
        if keyword.upper() not in found or not words <= found[keyword.upper()]:
            return f"the command should carry the parameter {wanted}"
    return None


@dataclass(frozen=True, slots=True)
class LessonStep:
    title: str
    explain: str
    """What to understand before typing (a few sentences)."""
    command: str
    """The command to try (the student may type another that passes the check)."""
    check: Check
    hint: str
    """Shown when the check fails."""
    body: str = ""
    """For ``data``/``sendmail``: a suggested message."""


@dataclass(frozen=True, slots=True)
class Lesson:
    id: str
    title: str
    summary: str
    steps: tuple[LessonStep, ...]
    transport: str = "smtp"
    """Which sandbox listener the lesson uses: ``smtp``, ``smtps`` or ``lmtp``."""
    sandbox: dict = field(default_factory=dict)
    """Sandbox settings (SandboxConfig fields) the lesson needs."""
    source: str = ""


def parse_lesson(text: str, source: str = "<lesson>") -> Lesson:
    """Parse and validate one lesson file.

    Raises:
        LessonError: bad TOML, a missing field, an unknown check, or a command that does not parse.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{source}: {exc}") from None
    try:
        lesson_id, title = str(data["id"]), str(data["title"])
    except KeyError as exc:
        raise LessonError(f"{source}: missing {exc.args[0]!r}") from None
    steps = []
    for number, raw in enumerate(data.get("step", []), 1):
        where = f"{source}: step {number}"
        for key in ("title", "explain", "command", "check"):
            if key not in raw:
                raise LessonError(f"{where}: missing {key!r}")
        unknown = set(raw["check"]) - set(CHECK_KEYS)
        if unknown:
            raise LessonError(f"{where}: unknown check {sorted(unknown)[0]!r} (known: {', '.join(CHECK_KEYS)})")
        try:
            parse(raw["command"])
        except ParseError as exc:
            raise LessonError(f"{where}: the command {raw['command']!r} does not parse: {exc}") from None
        steps.append(LessonStep(str(raw["title"]), str(raw["explain"]).strip(), str(raw["command"]),
                                Check(tuple(raw["check"].items())), str(raw.get("hint", "")).strip(),
                                str(raw.get("body", ""))))
    if not steps:
        raise LessonError(f"{source}: a lesson needs at least one [[step]]")
    transport = str(data.get("transport", "smtp"))
    if transport not in ("smtp", "smtps", "lmtp"):
        raise LessonError(f"{source}: transport must be smtp, smtps or lmtp")
    return Lesson(lesson_id, title, str(data.get("summary", "")).strip(), tuple(steps), transport,
                  dict(data.get("sandbox", {})), source)


def lesson_dirs() -> list[Path]:
    dirs = [Path(__file__).resolve().parent.parent / "lessons"]
    extra = os.environ.get("SMTPDBG_LESSONS")
    if extra:
        dirs += [Path(p) for p in extra.split(os.pathsep) if p]
    return dirs


def load_lessons() -> list[Lesson]:
    """Every lesson, shipped ones first (sorted by file name), then the teacher's own."""
    lessons: list[Lesson] = []
    for directory in lesson_dirs():
        for path in sorted(directory.glob("*.toml")):
            lessons.append(parse_lesson(path.read_text(encoding="utf-8"), str(path)))
    return lessons


def find_lesson(name: str) -> Lesson:
    for lesson in load_lessons():
        if lesson.id == name:
            return lesson
    raise LessonError(f"no lesson {name!r}; lessons: {', '.join(l.id for l in load_lessons())}")


def lesson_target(lesson: Lesson, endpoints) -> Target:
    """Where a lesson's session connects, on a sandbox started with the lesson's settings.

    Args:
        endpoints: the running sandbox's :class:`~smtpdbg.sandbox.Endpoints`.
    """
    if lesson.transport == "lmtp":
        return Target("lmtp", endpoints.lmtp, None, sandbox=True)
    host, port = endpoints.smtps if lesson.transport == "smtps" else endpoints.smtp
    return Target(lesson.transport, host, port, sandbox=True)


def lesson_options(options: SessionOptions, endpoints) -> SessionOptions:
    """The session options for a lesson on a running sandbox: its CA, its DNS server (``mx:`` targets), and
    ports 25, 587 and 465 mapped to its listeners (25 to the STARTTLS-stripping middlebox when it runs)."""
    smtp, smtps = endpoints.smtp[1], endpoints.smtps[1]
    stripped = getattr(endpoints, "stripped", None)
    ports = ((25, stripped[1] if stripped else smtp), (587, smtp), (465, smtps))
    return replace(options, ca=endpoints.ca_path, dns_server=getattr(endpoints, "dns", None) or options.dns_server,
                   ports=ports)


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    message: str


class LessonProgress:
    """Where a student is in a lesson."""

    def __init__(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.index = 0
        self.attempts = 0

    @property
    def done(self) -> bool:
        return self.index >= len(self.lesson.steps)

    @property
    def step(self) -> LessonStep | None:
        return None if self.done else self.lesson.steps[self.index]

    def concerns(self, command: str) -> bool:
        """Whether ``command`` is an attempt at the current step: every network command is, and so is any
        command the step's check names; looking something up (``explain``, ``show``, ``?``) in between is not."""
        step = self.step
        verb = command.split(None, 1)[0].lower() if command.strip() else ""
        spec = lookup(verb)
        if step is None or spec is None or spec.network:
            return True
        wanted = {str(name).lower() for name in _listed(dict(step.check.conditions).get("command", ()))}
        return verb in wanted or spec.name in wanted

    def body_for(self, text: str) -> str | None:
        """The current step's suggested message, when ``text`` is the step's command (frontends pre-fill it)."""
        step = self.step
        if step is None or not step.body:
            return None
        try:
            return step.body if parse(text).name == parse(step.command).name else None
        except ParseError:
            return None

    def record(self, command: str, outcome, state: SessionState) -> Verdict:
        """Check the current step after ``command`` ran; advance when it passed."""
        step = self.step
        if step is None:
            return Verdict(True, "lesson complete")
        reason = step.check.failure(command, outcome, state)
        verb = command.split(None, 1)[0].lower() if command.strip() else ""
        if reason is not None and verb in RESTART_COMMANDS and outcome is not None and outcome.ok:
            # The way back: a fresh connection starts the lesson's current part over.
            self.index, self.attempts = self.restart_index(), 0
            return Verdict(False, f"not yet: a fresh connection, so back to step {self.index + 1} "
                                  f"({self.lesson.steps[self.index].title}).")
        if reason is None:
            self.index += 1
            self.attempts = 0
            nxt = "lesson complete!" if self.done else f"next: {self.step.title}"
            return Verdict(True, f"✓ {step.title} — {nxt}")
        self.attempts += 1
        way_back = f" Off track? `reconnect` starts over at step {self.restart_index() + 1}."
        return Verdict(False, f"not yet: {reason}." + (f" Hint: {step.hint}" if step.hint else "") + way_back)

    def restart_index(self) -> int:
        """The step a fresh connection goes back to: the one after the last step that itself reconnects."""
        for index in range(min(self.index, len(self.lesson.steps)) - 1, -1, -1):
            wanted = _listed(dict(self.lesson.steps[index].check.conditions).get("command", ()))
            if any(str(name).lower() in RESTART_COMMANDS for name in wanted):
                return index + 1
        return 0
