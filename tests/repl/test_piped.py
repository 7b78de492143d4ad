"""``smtpdbg repl`` with stdin not a terminal: a separate process fed through a pipe."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import repo_env


def repl(endpoints, commands: str, *args: str, env_extra=None):
    host, port = endpoints.smtp
    env = dict(repo_env(), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "smtpdbg", "repl", f"{host}:{port}", "--ca", endpoints.ca_path,
                           "--timeout", "10", *args], input=commands, env=env, capture_output=True, text=True, timeout=60)


def test_piped_commands_run_in_order_with_a_message_block(endpoints, sandbox):
    done = repl(endpoints, "ehlo\n# a comment\nmail alice@example.org\nrcpt bob@example.org\ndata\nSubject: piped\n\n"
                           ".dot\nbody\n.\nquit\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "<-  220 sandbox.smtpdbg.test" in done.stdout and "<-  221 " in done.stdout
    assert sandbox.messages[-1].content == b"Subject: piped\r\n\r\n.dot\r\nbody\r\n"
    assert "\x1b[" not in done.stdout  # not a terminal: no colour


@pytest.mark.parametrize(("commands", "status", "shown"), [
    ("ehlo\nmail a@example.org\nrcpt reject@example.org\nquit\n", 9, "<** 550 5.1.1"),
    ("ehlo\nlogin alice\nquit\n", 7, "would cross the network in cleartext"),  # consent first: no password asked
    ("frobnicate\nquit\n", 2, "line 1: unknown command 'frobnicate'"),  # a script error, as in `smtpdbg run`,
    ("ehlo\nexpect has ATRN\n", 12, "expected has ATRN"),
])
def test_a_failed_command_makes_the_exit_status_non_zero(endpoints, commands, status, shown):
    done = repl(endpoints, commands)
    assert done.returncode == status, done.stdout + done.stderr
    assert shown in done.stdout
    assert "<-  221" in done.stdout or "quit" not in commands  # later commands still ran


def test_a_password_is_needed_once_cleartext_is_allowed(endpoints):
    done = repl(endpoints, "ehlo\nlogin alice\nquit\n", "--allow-plaintext-auth")
    assert done.returncode == 7, done.stdout + done.stderr
    assert "a password is needed but stdin is not a terminal" in done.stdout and "<-  221" in done.stdout


def test_an_anticipated_refusal_is_not_a_failure(endpoints):
    done = repl(endpoints, "ehlo\nmail a@example.org\nrcpt greylist@example.org\nexpect 451\nquit\n")
    assert done.returncode == 0, done.stdout


def test_password_from_the_environment_and_colour_on_request(endpoints):
    done = repl(endpoints, "ehlo\nauth PLAIN alice --password-env PW\nquit\n", "--color", "always",
                "--allow-plaintext-auth", env_extra={"PW": endpoints.password})  # an address: not the embedded sandbox
    assert done.returncode == 0, done.stdout
    assert "\x1b[" in done.stdout and "wonderland" not in done.stdout


def test_colour_follows_the_terminal_and_no_color(monkeypatch):
    from smtpdbg.repl.main import use_color

    class Terminal:
        def isatty(self) -> bool:
            return True

    assert use_color("auto", Terminal()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color("auto", Terminal()) is False
    assert use_color("always", Terminal()) is True
    monkeypatch.delenv("NO_COLOR")
    assert use_color("never", Terminal()) is False


def test_explain_annotates_each_reply(endpoints):
    done = repl(endpoints, "ehlo\nmail a@example.org\nrcpt reject@example.org\nquit\n", "--explain")
    assert done.returncode == 9, done.stdout
    out = done.stdout
    assert "<-  220 sandbox.smtpdbg.test" in out and "   ↳ 220 as the greeting → ok: service ready" in out
    assert "<-  250-SIZE 33554432\n   ↳ SIZE → 32 MiB maximum message size\n" in out
    assert "<** 550 5.1.1" in out and "   ↳ 550 5.1.1 at RCPT → permanent failure: no such recipient" in out
    assert "↳" not in repl(endpoints, "ehlo\nquit\n").stdout  # off unless asked
