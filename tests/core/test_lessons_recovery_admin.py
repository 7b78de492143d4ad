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


class Submitter(Student):
    """A student whose AUTH gets the sandbox's password."""

    def type(self, command: str, body: str = ""):
        data = body.replace("\n", "\r\n").encode() if body else None
        outcome = self.session.execute(command, body=data, secret=self.sandbox.endpoints.password)
        return self.progress.record(command, outcome, self.session.state)


@pytest.fixture
def submitter():
    started = Submitter("submission-vs-relay")
    yield started
    started.close()


def test_relaying_after_auth_is_not_the_refusal_step_and_reconnecting_is_the_way_back(submitter):
    submitter.follow(3)
    # a student who logs in first (over STARTTLS) gets carol accepted: not what the step shows
    for command in ("rset", "starttls", "ehlo client.example", "auth PLAIN alice", "mail friend@elsewhere.test"):
        submitter.type(command)
    verdict = submitter.type("rcpt carol@elsewhere.test")
    assert not verdict.passed and "expected reply 554, got 250" in verdict.message and "`reconnect`" in verdict.message
    for command in ("reconnect", "ehlo client.example", "mail friend@elsewhere.test", "rcpt bob@sandbox.smtpdbg.test"):
        submitter.type(command)
    assert submitter.type("rcpt carol@elsewhere.test").passed
    finish(submitter)


def test_mail_before_auth_on_submission_is_not_enough(submitter):
    submitter.follow(10)  # up to EHLO inside TLS
    verdict = submitter.type("mail alice@sandbox.smtpdbg.test")
    assert not verdict.passed and "wants `auth`" in verdict.message
    assert "`rset` first" in verdict.message  # AUTH inside a transaction is refused (RFC 4954 §4)
    assert not submitter.type("rset").passed
    finish(submitter)


@pytest.mark.parametrize("student", ["policy-rejections"], indirect=True)
def test_a_forgotten_rset_gives_503_and_the_hint_names_rset(student):
    student.follow(3)  # the SPF refusal; RSET forgotten
    verdict = student.type("mail alice@noptr.example.test")
    assert not verdict.passed and "wants `rset`" in verdict.message
    student.follow(1)
    verdict = student.type("rcpt bob@sandbox.smtpdbg.test")  # MAIL forgotten: the hint also says what a 503 means
    assert not verdict.passed and "`rset` first" in verdict.message
    finish(student)


@pytest.mark.parametrize("student", ["policy-rejections"], indirect=True)
def test_an_aligned_message_is_not_the_dmarc_step_and_the_hint_leads_back(student):
    student.follow(15)  # MAIL and RCPT for the DMARC step
    aligned = student.lesson.steps[16].body
    verdict = student.type("data", aligned)
    assert not verdict.passed and "expected reply 550, got 250" in verdict.message and "`rset`" in verdict.message
    for command in ("mail alice@sandbox.smtpdbg.test", "rcpt bob@sandbox.smtpdbg.test"):
        student.type(command)
    finish(student)


@pytest.mark.parametrize("student", ["tls-on-the-open-internet"], indirect=True)
def test_starttls_without_force_is_refused_by_the_client_and_force_is_the_way(student):
    student.follow(5)  # EHLO through the middlebox: no STARTTLS offered; the masked keyword explained
    verdict = student.type("starttls")
    assert not verdict.passed and "`starttls --force`" in verdict.message
    finish(student)


@pytest.mark.parametrize("student", ["tls-on-the-open-internet"], indirect=True)
def test_ehlo_on_the_direct_connection_is_not_the_stripped_one(student):
    student.follow(2)  # TLS is up on the direct connection; the middlebox connect forgotten
    verdict = student.type("ehlo client.example")
    assert not verdict.passed and "wants `connect`" in verdict.message
    finish(student)


def test_lesson_options_map_the_ports_and_name_the_sandbox_dns_server():
    from dataclasses import replace

    from smtpdbg.core import SessionOptions
    from smtpdbg.core.lessons import lesson_options
    from smtpdbg.sandbox import Endpoints

    ep = Endpoints(smtp=("127.0.0.1", 1001), smtps=("127.0.0.1", 1002), lmtp=None, user="u", password="p",
                   ca_path="/ca.pem", hostname="h", dns="127.0.0.1:5353", stripped=("127.0.0.1", 1003))
    options = lesson_options(SessionOptions(timeout=3, dns_server="192.0.2.53"), ep)
    assert dict(options.ports) == {25: 1003, 587: 1001, 465: 1002}
    assert (options.dns_server, options.ca, options.timeout) == ("127.0.0.1:5353", "/ca.pem", 3)
    plain = lesson_options(SessionOptions(), replace(ep, dns=None, stripped=None))
    assert dict(plain.ports)[25] == 1001 and plain.dns_server is None
