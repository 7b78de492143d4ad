"""``smtpdbg run`` and the piped ``smtpdbg repl`` are one interpreter: the same script text gives the same
transcript, summary and exit status, whether it is a run (going on after failures, read from a pipe or a file)
or a REPL fed through a pipe. Real processes against the sandbox."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import repo_env

SCRIPTS = {
    "passing": "ehlo\nmail a@example.org\nrcpt bob@example.org\nexpect 250\ndata\nSubject: x\n\n.dot\nhi\n.\n"
               "expect 250\nquit\n",
    "failing expect": "ehlo\nmail a@example.org\nrcpt reject@example.org\nexpect 250\nrcpt bob@example.org\n"
                      "expect has ATRN\nquit\n",
    "anticipated refusal": "ehlo\nmail a@example.org\nrcpt greylist@example.org\nexpect 451\nrset\nquit\n",
    "refused, no expectation": "ehlo\nmail a@example.org\nrcpt reject@example.org\nrcpt bob@example.org\nquit\n",
    "bad lines": "ehlo\nfrobnicate now\nexpect 250\nnoop\nexpect 999\nmail --bogus\nnoop\nexpect 2xx\nquit\n",
    "sleep inf": "ehlo\nsleep inf\nnoop\nquit\n",
    "sleep 1e400": "ehlo\nsleep 1e400\nnoop\nquit\n",
    "sleep -1": "ehlo\nsleep -1\nnoop\nquit\n",
    "sleep nan": "ehlo\nsleep nan\nnoop\nquit\n",
    "sleep 0 and pause": "# comment\n\nsleep 0\npause nobody answers\nehlo\nexit\nnoop\n",
    "password without a terminal": "ehlo\nlogin alice\nexpect 235\nquit\n",
    "unset variable": "ehlo\nmail ${NOT_SET_ANYWHERE_X}\nnoop\n",
    "expect first": "expect 220\nehlo\n",
    "unterminated message": "ehlo\nmail a@example.org\nrcpt bob@example.org\ndata\nSubject: x\n\nno end\n",
    "starts with connect": "connect\nexpect 220\nehlo\nquit\n",
}

_EPHEMERAL = re.compile(r"127\.0\.0\.1:\d+")


def _smtpdbg(args: list[str], text: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtpdbg", *args], input=text, capture_output=True, text=True,
                          env=repo_env(), timeout=60)


def _shown(done: subprocess.CompletedProcess) -> tuple[str, int, str]:
    return _EPHEMERAL.sub("127.0.0.1:PORT", done.stdout), done.returncode, done.stderr


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_run_and_the_piped_repl_give_the_same_transcript_summary_and_status(endpoints, tmp_path, name):
    text = SCRIPTS[name]
    host, port = endpoints.smtp
    options = [f"{host}:{port}", "--ca", endpoints.ca_path, "--timeout", "10", "--local-hostname", "client.test"]
    repl = _shown(_smtpdbg(["repl", *options], text))
    run = _shown(_smtpdbg(["run", "-", "--keep-going", "--target", *options], text))
    assert run == repl
    transcript, status, err = repl
    assert "Traceback" not in transcript + err and err == ""
    assert transcript.rstrip().splitlines()[-1].endswith("ok" if status == 0 else f"exit {status}")
    if "sleep " in name and name != "sleep 0 and pause":
        assert status == 2 and "line 2: sleep needs a number of seconds from 0 to 604800" in transcript
        assert " -> noop" in transcript  # the next lines still ran
    if name == "passing":
        assert status == 0
    if name == "failing expect":
        assert status == 12 and "line 4: expected 250, got 550 5.1.1" in transcript
        assert "=== MISMATCH line 5: rcpt bob@example.org  expected has ATRN, got not advertised" in transcript


@pytest.mark.parametrize("name", ["passing", "failing expect", "anticipated refusal", "refused, no expectation"])
def test_a_script_file_runs_as_the_same_text_through_a_pipe(endpoints, tmp_path, name):
    path = tmp_path / "s.smtp"
    path.write_text(SCRIPTS[name])
    host, port = endpoints.smtp
    options = ["--target", f"{host}:{port}", "--ca", endpoints.ca_path, "--timeout", "10"]
    from_file = _shown(_smtpdbg(["run", str(path), *options], ""))
    from_pipe = _shown(_smtpdbg(["run", "-", *options], SCRIPTS[name]))
    assert from_file == from_pipe


@pytest.mark.parametrize("name", ["bad lines", "sleep inf", "sleep 1e400", "sleep -1", "sleep nan", "unset variable",
                                  "expect first", "unterminated message"])
def test_a_bad_script_file_is_refused_before_anything_is_sent(endpoints, tmp_path, name):
    """A file can be read twice: `run` checks it whole first; the status is the one the pipe gives."""
    path = tmp_path / "s.smtp"
    path.write_text(SCRIPTS[name])
    host, port = endpoints.smtp
    done = _smtpdbg(["run", str(path), "--target", f"{host}:{port}", "--ca", endpoints.ca_path], "")
    assert done.returncode == 2 == _smtpdbg(["repl", f"{host}:{port}", "--ca", endpoints.ca_path],
                                            SCRIPTS[name]).returncode
    assert done.stdout == "" and re.match(rf"smtpdbg run: {re.escape(str(path))}: line \d+: ", done.stderr)
    assert "Traceback" not in done.stderr


def test_a_step_that_is_skipped_takes_its_expectations_with_it(endpoints, tmp_path):
    path = tmp_path / "s.smtp"
    path.write_text("ehlo\nrcpt nobody@example.org\nexpect 250\nnoop\nexpect 250\n")
    host, port = endpoints.smtp
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(path), "--target", f"{host}:{port}", "--step"],
                          input="\ns\n\n", capture_output=True, text=True, env=repo_env(), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SKIPPED line 2: rcpt nobody@example.org" in done.stdout and "MISMATCH" not in done.stdout
