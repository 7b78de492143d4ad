"""Lessons: every shipped lesson completes when followed against the sandbox, and fails when a step is skipped."""

from __future__ import annotations

import dataclasses

import pytest

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.lessons import CHECK_KEYS, LessonError, LessonProgress, lesson_options, load_lessons, parse_lesson
from smtpdbg.sandbox import Sandbox, SandboxConfig

LESSONS = load_lessons()


@pytest.fixture(scope="module")
def sandboxes():
    started: dict[tuple, Sandbox] = {}
    yield started
    for sandbox in started.values():
        sandbox.stop()


def sandbox_for(sandboxes, lesson) -> Sandbox:
    key = tuple(sorted((name, repr(value)) for name, value in lesson.sandbox.items()))
    if lesson.sandbox.get("greylist_delay") is not None:
        key += (lesson.id, object())  # a greylist remembers attempts: every run gets a fresh one
    if key not in sandboxes:
        sandbox = Sandbox(SandboxConfig(**lesson.sandbox))
        sandbox.start()
        sandboxes[key] = sandbox
    return sandboxes[key]


def open_session(sandbox: Sandbox, lesson) -> Session:
    ep = sandbox.endpoints
    if lesson.transport == "lmtp":
        target = Target("lmtp", ep.lmtp, None, sandbox=True)
    else:
        host, port = ep.smtps if lesson.transport == "smtps" else ep.smtp
        target = Target(lesson.transport, host, port, sandbox=True)
    session = Session(target, lesson_options(SessionOptions(timeout=10, local_hostname="client.example",
                                                            mailbox=sandbox), ep))
    assert session.execute("connect").ok
    return session


def run(session: Session, step, password: str):
    body = step.body.replace("\n", "\r\n").encode() if step.body else None
    return session.execute(step.command, body=body, secret=password)


def test_at_least_six_lessons_ship_with_unique_ids():
    assert len(LESSONS) >= 6
    assert len({lesson.id for lesson in LESSONS}) == len(LESSONS)
    for lesson in LESSONS:
        for step in lesson.steps:
            assert "command" in dict(step.check.conditions), (lesson.id, step.title)


@pytest.mark.parametrize("lesson", LESSONS, ids=[l.id for l in LESSONS])
def test_lesson_completes_when_followed(lesson, sandboxes):
    sandbox = sandbox_for(sandboxes, lesson)
    with open_session(sandbox, lesson) as session:
        progress = LessonProgress(lesson)
        for step in lesson.steps:
            outcome = run(session, step, sandbox.endpoints.password)
            verdict = progress.record(step.command, outcome, session.state)
            assert verdict.passed, (step.title, verdict.message, outcome)
        assert progress.done


@pytest.mark.parametrize(
    "lesson, skipped",
    [(lesson, index) for lesson in LESSONS for index in range(len(lesson.steps))],
    ids=[f"{lesson.id}-skip{index + 1}" for lesson in LESSONS for index in range(len(lesson.steps))],
)
def test_lesson_does_not_complete_when_a_step_is_skipped(lesson, skipped, sandboxes):
    sandbox = sandbox_for(sandboxes, lesson)
    with open_session(sandbox, lesson) as session:
        progress = LessonProgress(lesson)
        failures = []
        for index, step in enumerate(lesson.steps):
            if index == skipped:
                continue
            outcome = run(session, step, sandbox.endpoints.password)
            verdict = progress.record(step.command, outcome, session.state)
            if not verdict.passed:
                failures.append(verdict.message)
                assert verdict.message.startswith("not yet:")
        assert not progress.done
        assert failures or skipped == len(lesson.steps) - 1


def test_a_failed_check_gives_the_reason_and_the_hint(session):
    lesson = next(l for l in LESSONS if l.id == "first-conversation")
    progress = LessonProgress(lesson)
    outcome = session.execute("mail alice@sandbox.smtpdbg.test")
    verdict = progress.record("mail alice@sandbox.smtpdbg.test", outcome, session.state)
    assert not verdict.passed
    assert "wants `helo`" in verdict.message and "Hint: type `helo client.example`" in verdict.message
    assert progress.index == 0


@pytest.mark.parametrize(
    "text, problem",
    [
        ("title = 'x'", "missing 'id'"),
        ("id = 'x'\ntitle = 'y'", "at least one [[step]]"),
        ("id = 'x'\ntitle = 'y'\n[[step]]\ntitle = 's'\nexplain = 'e'\ncommand = 'ehlo'\ncheck = { colour = 'red' }",
         "unknown check 'colour'"),
        ("id = 'x'\ntitle = 'y'\n[[step]]\ntitle = 's'\nexplain = 'e'\ncommand = 'fly away'\ncheck = { code = 250 }",
         "does not parse"),
        ("id = 'x'\ntitle = 'y'\n[[step]]\ntitle = 's'\ncommand = 'ehlo'\ncheck = { code = 250 }", "missing 'explain'"),
        ("id = [", "lesson"),
    ],
)
def test_bad_lesson_files_are_refused_with_a_reason(text, problem):
    with pytest.raises(LessonError) as info:
        parse_lesson(text, "lesson")
    assert problem in str(info.value)


def test_teachers_can_add_lessons(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text(
        "id = 'mine'\ntitle = 'Mine'\n[[step]]\ntitle = 'noop'\nexplain = 'try noop'\ncommand = 'noop'\n"
        "check = { command = 'noop', code = 250 }\n")
    monkeypatch.setenv("SMTPDBG_LESSONS", str(tmp_path))
    assert load_lessons()[-1].id == "mine"


def test_every_check_key_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "lessons.md").read_text()
    for key in CHECK_KEYS:
        assert f"`{key}`" in doc


def test_reconnect_is_the_way_back_from_a_wrong_step(sandboxes):
    """A student who upgrades to TLS before the first EHLO step is not stranded: `reconnect` starts over."""
    lesson = next(l for l in LESSONS if l.id == "starttls")
    sandbox = sandbox_for(sandboxes, lesson)
    with open_session(sandbox, lesson) as session:
        progress = LessonProgress(lesson)
        verdict = progress.record("starttls", session.execute("starttls"), session.state)
        assert not verdict.passed and "`reconnect` starts over at step 1" in verdict.message
        # Under TLS the first step can never pass: STARTTLS is no longer advertised.
        verdict = progress.record("ehlo client.example", session.execute("ehlo client.example"), session.state)
        assert not verdict.passed and "reconnect" in verdict.message
        verdict = progress.record("reconnect", session.execute("reconnect"), session.state)
        assert not verdict.passed and "back to step 1" in verdict.message
        for step in lesson.steps:
            verdict = progress.record(step.command, run(session, step, sandbox.endpoints.password), session.state)
            assert verdict.passed, verdict.message
        assert progress.done


def test_following_the_starttls_lesson_breaks_no_rule(sandboxes):
    from smtpdbg.core.events import Info

    lesson = next(l for l in LESSONS if l.id == "starttls")
    sandbox = sandbox_for(sandboxes, lesson)
    with open_session(sandbox, lesson) as session:
        for step in lesson.steps:
            run(session, step, sandbox.endpoints.password)
        warnings = [e.text for e in session.transcript.snapshot() if isinstance(e, Info) and e.rule]
    assert warnings == []


def test_every_sample_message_has_a_date_header():
    for lesson in LESSONS:
        for step in lesson.steps:
            if step.body:
                assert step.body.startswith("Date: ") or "\nDate: " in step.body.split("\n\n")[0], (lesson.id, step.title)
