"""Polish a new user found (issue 16 §7) on the command line: --help, --output -, set_debuglevel 2 in a run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from smtpdbg.core.results import EXIT_MEANINGS
from smtpdbg.core.target import TARGET_FORMS, parse_target
from tests.conftest import repo_env
from tests.test_runner_steps import run

ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} ")


def smtpdbg(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtpdbg", *args], env=repo_env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, cwd=cwd)


def test_help_lists_every_target_form_and_each_parses():
    shown = smtpdbg("--help").stdout
    transports = set()
    for example, meaning in TARGET_FORMS:
        assert f"  {example}" in shown and meaning in shown
        target = parse_target(example)
        transports.add((target.transport, target.unix, bool(target.mx)))
    assert transports == {("smtp", False, False), ("smtps", False, False), ("lmtp", False, False),
                          ("lmtp", True, False), ("smtp", False, True)}


def test_run_help_lists_every_exit_status_the_readme_documents():
    shown = smtpdbg("run", "--help").stdout
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("| 0 | every command succeeded"):]
    documented = [int(code) for code in re.findall(r"^\| (\d+) \| [^|\d]", section.split("\n\n")[0], re.M)]
    assert len(documented) >= 15
    listed = {status for status, _ in EXIT_MEANINGS}
    assert set(documented) <= listed
    for status, meaning in EXIT_MEANINGS:
        assert re.search(rf"^  {status}\s+{re.escape(meaning[:30])}", shown, re.M), status


SCRIPT = "ehlo\nmail a@example.org\nrcpt bob@example.org\nquit\n"


def test_output_dash_writes_the_export_to_stdout_and_the_transcript_to_stderr(endpoints, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(endpoints, tmp_path, SCRIPT, "--export", "jsonl", "--output", "-", "--color", "never")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]  # stdout is the export alone
    assert records and not (tmp_path / "-").exists()
    assert "<-  220 " in result.stderr and "<a@example.org>" in result.stderr and "command(s)" in result.stderr
    text = run(endpoints, tmp_path, SCRIPT, "--export", "text", "-o", "-", "--export", "script", "-o",
               str(tmp_path / "a.smtp"))
    assert text.returncode == 0 and "<a@example.org>" in text.stdout and (tmp_path / "a.smtp").exists()
    twice = run(endpoints, tmp_path, SCRIPT, "--export", "text", "-o", "-", "--export", "jsonl", "-o", "-")
    assert twice.returncode == 2 and "only one --export" in twice.stderr and not (tmp_path / "-").exists()


def test_save_to_dash_is_refused_not_a_file_named_dash(endpoints, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(endpoints, tmp_path, "ehlo\nsave text -\nquit\n", "--keep-going")
    assert result.returncode == 11 and "save writes a file" in result.stdout
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("level, stamped", [(1, False), (2, True)])
def test_set_debuglevel_2_stamps_each_run_line(endpoints, tmp_path, level, stamped):
    result = run(endpoints, tmp_path, f"ehlo\nset_debuglevel {level}\nnoop\nquit\n", "--color", "never")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    after = lines[next(i for i, line in enumerate(lines) if "smtplib debuglevel" in line) + 1:]
    noop = [line for line in after if "-> noop" in line]
    assert noop and all(bool(STAMP.match(line)) is stamped for line in noop)
    before = [line for line in lines if "-> ehlo" in line]
    assert before and not STAMP.match(before[0])  # the lines before it are as they were


def test_variables_are_expanded_in_a_message_body_and_secrets_refused(endpoints, sandbox, tmp_path):
    body = "ehlo\nmail a@example.org\nrcpt bob@example.org\ndata\nSubject: ${SUBJECT}\n\nfor ${WHO}\n.\nquit\n"
    result = run(endpoints, tmp_path, body, env_extra={"SUBJECT": "hello there", "WHO": "bob"})
    assert result.returncode == 0, result.stdout + result.stderr
    [message] = sandbox.messages[-1:]
    assert b"Subject: hello there" in message.content and b"for bob" in message.content
    secret = body.replace("${WHO}", "${SMTP_PASSWORD}")
    refused = run(endpoints, tmp_path, secret, env_extra={"SUBJECT": "x"})
    assert refused.returncode == 2 and "secret" in refused.stderr and endpoints.password not in refused.stdout + refused.stderr
    unset = run(endpoints, tmp_path, body, env_extra={"SUBJECT": "x"})
    assert unset.returncode == 2 and "${WHO}" in unset.stderr


def test_the_screenshots_module_takes_help_and_a_directory(tmp_path):
    shown = smtpdbg_module("smtpdbg.tui.screenshots", "--help", cwd=tmp_path)
    assert shown.returncode == 0 and "DIRECTORY" in shown.stdout and list(tmp_path.iterdir()) == []
    readme = (ROOT / "README.md").read_text()
    assert "`python -m smtpdbg.tui.screenshots` regenerates" in readme
    from smtpdbg.tui.screenshots import OTHER_MODES, SCREENS

    pictured = set(re.findall(r"screenshots/([\w-]+)\.svg", readme))
    assert pictured <= {name for name, _, _ in SCREENS} | set(OTHER_MODES)
    assert set(OTHER_MODES) <= pictured  # every mode's section shows its screenshot


def smtpdbg_module(module: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], env=repo_env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, cwd=cwd)
