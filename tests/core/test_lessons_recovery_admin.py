"""Lessons 08-11: a student who takes a wrong turn is told why, and the hint's way back completes the step."""

from __future__ import annotations

import pytest

from tests.core.test_lessons_recovery import Student


@pytest.fixture
def student(request):
    started = Student(request.param)
    yield started
    started.close()


def finish(student: Student) -> None:
    student.follow(len(student.lesson.steps) - student.progress.index)
    assert student.progress.done


@pytest.mark.parametrize("student", ["finding-the-server"], indirect=True)
def test_after_the_failed_best_mx_ehlo_is_not_the_step_and_the_fallback_is(student):
    student.follow(1)  # mx1 refused the connection
    verdict = student.type("ehlo client.example")
    assert not verdict.passed and "wants `connect`" in verdict.message and "mx:example.test#2" in verdict.message
    finish(student)


@pytest.mark.parametrize("student", ["finding-the-server"], indirect=True)
def test_the_port_map_is_told_and_a_student_who_lost_the_connection_gets_back(student):
    student.follow(2)
    texts = [getattr(e, "text", "") for e in student.session.transcript.snapshot()]
    assert any("port 25 is reached on port" in t for t in texts)
    student.type("quit")
    verdict = student.type("ehlo client.example")
    assert not verdict.passed and "`connect mx:example.test#2`" in verdict.message
    assert not student.type("connect mx:example.test#2").passed  # the way back, not the step itself
    finish(student)
