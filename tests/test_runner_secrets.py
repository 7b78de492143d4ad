"""``smtpdbg run`` never prints a secret a script took from the environment or typed by hand.

The summary (FAILED, MISMATCH, SKIPPED lines), the stepper's prompts, the
transcript, the session log and script errors show the line as written
(``${NAME}`` unexpanded) with AUTH payloads masked.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys

import pytest

from smtpdbg.core import SessionOptions, Target
from smtpdbg.runner import run_script
from tests.conftest import repo_env

WRONG = "not-the-password-4711"
PAYLOAD = base64.b64encode(f"\0alice\0{WRONG}".encode()).decode()


def forms() -> list[str]:
    return [WRONG, PAYLOAD, base64.b64encode(WRONG.encode()).decode()]


def run(endpoints, tmp_path, monkeypatch, script: str, **kwargs) -> tuple[int, str]:
    monkeypatch.setenv("AUTH_PAYLOAD", PAYLOAD)
    monkeypatch.setenv("PW", WRONG)
    path = tmp_path / "script.txt"
    path.write_text(script)
    log = tmp_path / "session.log"
    host, port = endpoints.smtp
    options = SessionOptions(timeout=10, ca=endpoints.ca_path, local_hostname="client.test", log=str(log))
    out = io.StringIO()
    status = run_script(str(path), Target("smtp", host, port, sandbox=True), options, out=out, **kwargs)
    return status, out.getvalue() + (log.read_text() if log.exists() else "")


# An AUTH refused through raw fails the auth stage (exit 7), as it would through auth or login.
@pytest.mark.parametrize("script, status, shown", [
    ("ehlo\nraw AUTH PLAIN ${AUTH_PAYLOAD}\n", 7, "FAILED line 2: raw AUTH PLAIN ********"),
    ("ehlo\nraw AUTH PLAIN ${AUTH_PAYLOAD}\nexpect 235\n", 12, "MISMATCH line 2: raw AUTH PLAIN ********"),
    ("ehlo\nraw AUTH LOGIN\nraw ${PW}\n", 7, "FAILED line 3: raw ********"),  # an AUTH answer: masked whole
    (f"ehlo\nraw AUTH PLAIN {PAYLOAD}\n", 7, "FAILED line 2: raw AUTH PLAIN ********"),
])
def test_the_summary_shows_the_line_as_written(endpoints, tmp_path, monkeypatch, capsys, script, status, shown):
    got, output = run(endpoints, tmp_path, monkeypatch, script)
    captured = capsys.readouterr()
    output += captured.out + captured.err
    assert got == status, output
    assert shown in output
    for form in forms():
        assert form not in output


def test_skipped_and_stepped_lines_do_not_show_the_expanded_secret(endpoints, tmp_path, monkeypatch, capsys):
    keys = io.StringIO("\ns\n")  # run ehlo, skip the AUTH line
    status, output = run(endpoints, tmp_path, monkeypatch, "ehlo\nraw AUTH PLAIN ${AUTH_PAYLOAD}\n", step=True,
                         keys=keys)
    captured = capsys.readouterr()
    output += captured.out + captured.err
    assert "SKIPPED line 2: raw AUTH PLAIN ********" in output
    for form in forms():
        assert form not in output


def test_a_script_error_does_not_repeat_a_substituted_secret(endpoints, tmp_path, monkeypatch, capsys):
    status, output = run(endpoints, tmp_path, monkeypatch, "ehlo\nauth PLAIN alice ${PW}\n")
    captured = capsys.readouterr()
    assert status == 2
    assert "line 2" in captured.err
    for form in forms():
        assert form not in output + captured.out + captured.err
    status, _ = run(endpoints, tmp_path, monkeypatch, "ehlo\nmail ${PW} --bogus\n")
    captured = capsys.readouterr()
    assert status == 2 and "--bogus" in captured.err and WRONG not in captured.err


def test_ctrl_c_ends_the_run_with_a_summary_and_the_exports_not_a_traceback(tmp_path):
    """SIGINT while a command hangs: the transcript so far, the summary, the exports, status 130."""
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import repo_env
    from tests.servers import FakeServer, esmtp

    script = tmp_path / "s.smtp"
    script.write_text("ehlo\nnoop\nnoop\n")
    export = tmp_path / "run.jsonl"
    with FakeServer(esmtp(NOOP=lambda conn, line: conn.hang(20))) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "smtpdbg", "run", str(script), "--target", server.target,
             "--export", "jsonl", "--output", str(export)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=repo_env())
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert "Traceback" not in err, err
    assert process.returncode == 130, (out, err)
    assert "INTERRUPTED" in out and " -> noop" in out
    assert export.exists() and "noop" in export.read_text()


def test_a_hand_typed_auth_login_answer_stays_out_of_the_run_summary(tmp_path):
    """raw AUTH LOGIN, then the base64 answers by raw: the summary shows them masked, in order."""
    from tests.servers import FakeServer, esmtp

    def login(conn, line):
        conn.send(b"334 VXNlcm5hbWU6\r\n")
        conn.readline()
        conn.send(b"334 UGFzc3dvcmQ6\r\n")
        conn.readline()
        conn.send(b"535 5.7.8 nope\r\n")

    script = tmp_path / "s.smtp"
    script.write_text("ehlo\nraw AUTH LOGIN\nraw YWxpY2U=\nraw c2VjcmV0LXBhc3N3b3Jk\n")
    with FakeServer(esmtp(AUTH=login)) as server:
        done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), "--target", server.target,
                               "--allow-plaintext-auth", "--keep-going", "--timeout", "5"],
                              capture_output=True, text=True, env=repo_env(), timeout=60)
    assert "c2VjcmV0LXBhc3N3b3Jk" not in done.stdout + done.stderr, done.stdout
    assert "FAILED" in done.stdout


def test_the_session_password_and_its_base64_are_masked_on_every_line_outside_auth(tmp_path):
    """A bare ``docmd`` carrying the --password-env secret (its base64, a PLAIN payload, the password itself):
    masked in the recorded transcript, so stdout, the --log file, the exports and the history never hold it."""
    from tests.servers import FakeServer, esmtp

    password = "s3cret-wonderland"
    forms = [password, base64.b64encode(password.encode()).decode(),
             base64.b64encode(f"\0alice\0{password}".encode()).decode()]
    script = tmp_path / "s.smtp"
    script.write_text(f"ehlo\ndocmd {forms[1]}\ndocmd {forms[2]}\ndocmd {password}\ndocmd NOOP ${{PW}}\nnoop\n")
    log, jsonl, text, history = (tmp_path / name for name in ("session.log", "run.jsonl", "run.txt", "history"))

    def echo(conn, line):  # a server that quotes what it got: its reply must be masked too
        conn.send(b"500 5.5.2 what is " + line.strip() + b"?\r\n")

    env = dict(repo_env(), PW=password, SMTPDBG_HISTORY=str(history))
    with FakeServer(esmtp(**{"*": echo})) as server:
        done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), "--target", server.target,
                               "--password-env", "PW", "--keep-going", "--timeout", "5", "--log", str(log),
                               "--export", "jsonl", "--output", str(jsonl), "--export", "text", "--output", str(text)],
                              capture_output=True, text=True, env=env, timeout=60)
        received = b"".join(bytes(conn.received) for conn in server.connections)
    assert forms[1].encode() in received and password.encode() in received  # they did go out, as typed
    assert "Traceback" not in done.stderr and done.returncode == 11, done.stdout + done.stderr
    assert done.stdout.count(" -> ********") == 3 and "FAILED line 2: docmd ********" in done.stdout
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    wires = [r for r in records if r["type"] == "wire" and r["dir"] == "send" and "********" in r["text"]]
    assert len(wires) == 4 and all(r["redacted"] for r in wires)
    assert [r["answers"] for r in records if r["type"] == "reply"][2:6] == ["********"] * 3 + ["NOOP"]
    outputs = {"stdout": done.stdout + done.stderr, "log": log.read_text(), "jsonl": jsonl.read_text(),
               "text": text.read_text(), "history": history.read_text() if history.exists() else ""}
    for name, output in outputs.items():
        for form in forms + [form.upper() for form in forms]:
            assert form not in output, (name, form, output)
