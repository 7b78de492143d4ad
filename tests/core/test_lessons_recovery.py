"""Lessons 12-15: a student who takes a wrong turn is told why, and the hint's way back completes the step."""

from __future__ import annotations

import pytest

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.lessons import LessonProgress, find_lesson, lesson_options
from smtpdbg.sandbox import Sandbox, SandboxConfig


class Student:
    """Follows a lesson on its own sandbox, step by step or with detours."""

    def __init__(self, lesson_id: str) -> None:
        self.lesson = find_lesson(lesson_id)
        self.sandbox = Sandbox(SandboxConfig(**self.lesson.sandbox))
        ep = self.sandbox.start()
        self.session = Session(Target("smtp", *ep.smtp, sandbox=True),
                               lesson_options(SessionOptions(timeout=10, local_hostname="client.example",
                                                             mailbox=self.sandbox), ep))
        assert self.session.execute("connect").ok
        self.progress = LessonProgress(self.lesson)

    def type(self, command: str, body: str = ""):
        data = body.replace("\n", "\r\n").encode() if body else None
        outcome = self.session.execute(command, body=data)
        return self.progress.record(command, outcome, self.session.state)

    def follow(self, steps: int) -> None:
        for _ in range(steps):
            step = self.progress.step
            assert self.type(step.command, step.body).passed, step.title

    def close(self) -> None:
        self.session.shutdown()
        self.sandbox.stop()


@pytest.fixture
def student(request):
    started = Student(request.param)
    yield started
    started.close()


@pytest.mark.parametrize("student", ["after-the-250"], indirect=True)
def test_a_rcpt_without_notify_is_not_enough_and_typing_it_again_with_notify_is(student):
    student.follow(2)
    verdict = student.type("rcpt bob@sandbox.smtpdbg.test")
    assert not verdict.passed and "should carry the parameter NOTIFY=SUCCESS" in verdict.message
    student.follow(len(student.lesson.steps) - 2)
    assert student.progress.done


@pytest.mark.parametrize("student", ["after-the-250"], indirect=True)
def test_mail_in_an_open_transaction_is_503_and_rset_is_the_way_back(student):
    student.follow(1)
    student.type("mail carol@sandbox.smtpdbg.test")  # a transaction the lesson did not ask for
    verdict = student.type(student.progress.step.command)
    assert not verdict.passed and "`rset`" in verdict.message
    assert not student.type("rset").passed  # the way back is not the step itself
    student.follow(len(student.lesson.steps) - 1)
    assert student.progress.done


@pytest.mark.parametrize("student", ["greylisting-and-limits"], indirect=True)
def test_a_retry_before_the_greylist_delay_is_refused_again_and_waiting_helps(student):
    student.follow(8)  # up to and including "Wait"
    student.follow(1)  # MAIL of the new transaction
    # The lesson's drain already waited; a quick retry of the same triple within the delay is 451.
    student.type("rset")
    student.type("mail alice@sandbox.smtpdbg.test")
    assert student.progress.step.title == "The retry passes"
    student.follow(len(student.lesson.steps) - 9)
    assert student.progress.done


@pytest.mark.parametrize("student", ["greylisting-and-limits"], indirect=True)
def test_after_the_421_only_reconnect_goes_on(student):
    student.follow(13)  # up to the 421
    verdict = student.type("ehlo client.example")
    assert not verdict.passed and "wants `reconnect`" in verdict.message
    student.follow(3)
    assert student.progress.done


@pytest.mark.parametrize("student", ["smuggling"], indirect=True)
def test_smuggling_without_data_first_fails_and_the_hint_leads_back(student):
    student.follow(3)  # EHLO, MAIL, RCPT; then `raw DATA` forgotten
    smuggle = student.lesson.steps[4].command
    verdict = student.type(smuggle)  # the lines are read as commands
    assert not verdict.passed and "`raw DATA`" in verdict.message and "`reconnect`" in verdict.message
    for command in ("reconnect", "ehlo client.example", "mail alice@sandbox.smtpdbg.test",
                    "rcpt bob@unpatched.sandbox.smtpdbg.test", "raw DATA"):
        student.type(command)
    assert student.progress.step.title == "Smuggle a second message"
    assert student.type(smuggle).passed
    student.follow(len(student.lesson.steps) - 5)
    assert student.progress.done


@pytest.mark.parametrize("student", ["pipelining-and-size"], indirect=True)
def test_a_group_without_data_is_not_the_step_and_the_whole_group_then_is(student):
    student.follow(2)
    group = student.progress.step.command
    verdict = student.type(group.rsplit(";", 1)[0])
    assert not verdict.passed and "expected 5 replies, got 4" in verdict.message
    assert student.type(group).passed  # MAIL again is 503 (nested), the rest goes on: 354 at the end
    student.follow(len(student.lesson.steps) - 3)
    assert student.progress.done


@pytest.mark.parametrize("student", ["pipelining-and-size"], indirect=True)
def test_a_failing_group_that_opened_a_message_is_ended_with_a_dot_as_the_hint_says(student):
    steps = [step.title for step in student.lesson.steps]
    student.follow(steps.index("When the first command fails"))
    # A SIZE the server accepts: the group's DATA is answered 354 and the server reads a message now.
    verdict = student.type("pipeline MAIL FROM:<alice@sandbox.smtpdbg.test> SIZE=300; "
                           "RCPT TO:<bob@sandbox.smtpdbg.test>; DATA")
    assert not verdict.passed and "`raw .`" in verdict.message
    assert student.session.execute("raw .").code == 250  # the message ended (an empty one)
    assert student.session.execute("rset").code == 250  # a command again, not message text
    student.follow(len(steps) - steps.index("When the first command fails"))
    assert student.progress.done


@pytest.mark.parametrize("student", ["after-the-250"], indirect=True)
def test_a_rcpt_after_rset_is_told_to_send_the_mail_again(student):
    student.follow(3)  # up to and including bob's RCPT
    student.type("rset")
    verdict = student.type(student.progress.step.command)
    assert not verdict.passed and "send the MAIL again" in verdict.message
