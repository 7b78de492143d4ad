"""``smtpdbg learn``: the list of lessons, and lessons run in the REPL through a pipe (each on its own sandbox)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from smtpdbg.core.lessons import load_lessons
from tests.conftest import repo_env

LESSONS = load_lessons()


def smtpdbg(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtpdbg", *args], input=input, env=repo_env(), capture_output=True,
                          text=True, timeout=60)


def followed(lesson) -> str:
    """What a student types to follow ``lesson``: each step's command, and its suggested message."""
    lines = []
    for step in lesson.steps:
        lines.append(step.command)
        if step.body:
            lines += step.body.splitlines() + ["."]
    return "\n".join(lines) + "\n"


def test_learn_lists_every_lesson_without_loading_a_ui():
    done = smtpdbg("learn")
    assert done.returncode == 0, done.stderr
    for lesson in LESSONS:
        assert f"  {lesson.id} " in done.stdout and lesson.title in done.stdout
    assert "Every SMTP session is a dialogue" in done.stdout  # a one-line summary
    probe = ("import sys, contextlib, io\nfrom smtpdbg.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n"
             "    main(['learn'])\nprint(sorted(m for m in ('textual', 'prompt_toolkit', 'aiosmtpd') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], env=repo_env(), capture_output=True, text=True, timeout=60)
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_learn_refuses_an_unknown_lesson_and_the_app_without_a_terminal():
    done = smtpdbg("learn", "nope")
    assert done.returncode == 2 and "no lesson 'nope'" in done.stderr and "first-conversation" in done.stderr
    done = smtpdbg("learn", "first-conversation", input="")
    assert done.returncode == 2 and "learn --repl" in done.stderr


def test_first_conversation_in_the_piped_repl_with_a_wrong_turn():
    commands = ("mail alice@sandbox.smtpdbg.test\nexplain 503\nhelo client.example\nmail alice@sandbox.smtpdbg.test\n"
                "rcpt reject@sandbox.smtpdbg.test\nrcpt bob@sandbox.smtpdbg.test\n"
                "data\nSubject: piped lesson\n\nHello Bob!\n.\nquit\n")
    done = smtpdbg("learn", "--repl", "first-conversation", input=commands)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert out.index("--- step 1 of 5: Say who you are") > out.index("<-  220 ")  # the first step after the greeting
    assert "    try: helo client.example" in out
    assert "!!! lesson: not yet: this step wants helo, not mail. Hint: type helo client.example" in out
    assert "out of order (sent anyway): MAIL before EHLO/HELO" in out
    assert out.count("!!! lesson:") == 2  # `explain` in between is not an attempt; the 550 is
    assert "!!! lesson: not yet: expected reply 250, got 550" in out
    assert "   ↳ 550 5.1.1 at RCPT → permanent failure: no such recipient" in out  # replies annotated in context
    assert "=== lesson: ✓ Send the message — next: Say goodbye" in out
    assert out.rstrip().endswith("=== lesson complete: every step done (smtpdbg learn lists the others)")


def test_a_lesson_left_unfinished_exits_1():
    done = smtpdbg("learn", "--repl", "first-conversation", input="helo client.example\nquit\n")
    assert done.returncode == 1
    assert "!!! lesson: stopped at step 2 of 5" in done.stdout


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_every_lesson_completes_through_the_pipe(lesson):
    """Each runs on a sandbox with its own settings (STARTTLS before AUTH, LMTP) and its demo login."""
    done = smtpdbg("learn", "--repl", lesson.id, input=followed(lesson))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "!!! lesson" not in done.stdout
    assert done.stdout.count("=== lesson: ✓") == len(lesson.steps)


def test_piped_lesson_whose_first_command_connects_prints_the_intro_first():
    lesson = next(lesson for lesson in LESSONS if lesson.id == "finding-the-server")
    done = smtpdbg("learn", "--repl", lesson.id, input="# my own connect first\n\nconnect mx:example.test\n")
    out = done.stdout
    assert out.startswith(f"=== lesson: {lesson.title}"), out
    assert out.index("--- step 1 of") < out.index("MX #1 mx1.example.test") < out.index("=== lesson: ✓ Ask DNS")
    assert out.count("=== lesson: Finding the server") == 1
