"""``smtpdbg run`` as a process against the sandbox: expectations and exit statuses,
several transactions and connections, per-recipient summary, --step (pipe and pty),
--break-on, --export and --compare."""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import sys
import time

import pytest

from smtpdbg.core.export.jsonl import read_jsonl
from tests.conftest import capped_memory, repo_env
from tests.schema import schema_errors
from tests.smtplib_wire import shown

SESSION = """\
# two transactions on one connection, then a second connection
ehlo
expect 250
expect has STARTTLS
starttls
ehlo
auth PLAIN alice --password-env SMTP_PASSWORD
expect 235
mail alice@example.org
rcpt bob@example.org
expect 2xx
rcpt greylist@example.org
expect 4xx
expect 4.7.1
data
Subject: first

one
.
expect /accepted/
mail alice@example.org
rcpt reject@example.org
expect 550
expect 5.1.1
rset
quit
connect
ehlo
mail carol@example.org
rcpt dave@example.org
data
Subject: second

two
.
quit
"""


def run(endpoints, tmp_path, script: str, *args: str, stdin=subprocess.DEVNULL, env_extra=None):
    path = tmp_path / "script.smtp"
    path.write_text(script)
    host, port = endpoints.smtp
    env = dict(repo_env(), SMTP_PASSWORD=endpoints.password, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(path), "--target", f"{host}:{port}",
                           "--ca", endpoints.ca_path, "--timeout", "10", "--local-hostname", "client.test", *args],
                          env=env, stdin=stdin, capture_output=True, text=True, timeout=60)


def test_passing_script_with_transactions_connections_and_recipient_summary(endpoints, sandbox, tmp_path):
    done = run(endpoints, tmp_path, SESSION)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "transaction 1 (connection 1) from <alice@example.org>: 1 accepted, 1 temporary failure" in out
    assert "<greylist@example.org>: temporary failure at RCPT: 451 4.7.1" in out
    assert "transaction 2 (connection 1) from <alice@example.org>: 1 permanent failure" in out
    assert "transaction 3 (connection 2) from <carol@example.org>: 1 accepted" in out
    assert [m.rcpt_tos for m in sandbox.messages] == [("bob@example.org",), ("dave@example.org",)]
    assert "wonderland" not in out


@pytest.mark.parametrize(("script", "status", "summary"), [
    ("ehlo\nmail a@example.org\nrcpt reject@example.org\nexpect 250\n", 12,
     "MISMATCH line 3: rcpt reject@example.org  expected 250, got 550 5.1.1"),
    ("ehlo\nexpect has ATRN\n", 12, "expected has ATRN, got not advertised"),
    ("ehlo\nmail a@example.org\nrcpt reject@example.org\n", 9, "FAILED line 3: rcpt reject@example.org  [rcpt]"),
    ("ehlo\nlogin alice --password-env NOT_SET_ANYWHERE\n", 7, "[auth]"),
    ("ehlo\nmail a@example.org\nexpect /nomatch/\n", 12, "expected /nomatch/, got 250 2.1.0 OK"),
])
def test_failing_scripts_exit_with_the_stage_and_list_mismatches(endpoints, tmp_path, script, status, summary):
    done = run(endpoints, tmp_path, script)
    assert done.returncode == status, done.stdout + done.stderr
    assert summary in done.stdout


STEPPED = "ehlo\nnoop\nrset\nquit\n"


def test_step_through_a_pipe_runs_skips_and_continues(endpoints, tmp_path):
    path = tmp_path / "s.smtp"
    path.write_text(STEPPED)
    host, port = endpoints.smtp
    proc = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(path), "--target", f"{host}:{port}", "--ca",
                           endpoints.ca_path, "--step"], input="\ns\nc\n", env=repo_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--- line 1: ehlo" in proc.stderr and "--- line 2: noop" in proc.stderr and "line 4" not in proc.stderr
    assert " -> noop" not in proc.stdout and " -> rset" in proc.stdout and " -> quit" in proc.stdout
    assert "SKIPPED line 2: noop" in proc.stdout


def test_step_quit_and_end_of_input_stop_the_run(endpoints, tmp_path):
    path = tmp_path / "s.smtp"
    path.write_text(STEPPED)
    host, port = endpoints.smtp
    for keys in ("\nq\n", "\n"):
        proc = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(path), "--target", f"{host}:{port}",
                               "--ca", endpoints.ca_path, "--step"], input=keys, env=repo_env(), capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 14, proc.stdout + proc.stderr
        assert "STOPPED by the user at line 2" in proc.stdout and " -> noop" not in proc.stdout


def test_break_on_5xx_pauses_after_the_refusal_and_continues(endpoints, tmp_path):
    script = "ehlo\nmail a@example.org\nrcpt reject@example.org\nrcpt bob@example.org\nrset\nquit\n"
    path = tmp_path / "b.smtp"
    path.write_text(script)
    host, port = endpoints.smtp
    proc = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(path), "--target", f"{host}:{port}", "--ca",
                           endpoints.ca_path, "--break-on", "5xx"], input="c\n", env=repo_env(), capture_output=True,
                          text=True, timeout=60)
    assert "--- break (5xx) after line 3: rcpt reject@example.org got 550 5.1.1" in proc.stderr
    assert proc.stderr.count("--- ") == 1
    assert f" -> {shown('rcpt', 'bob@example.org')}" in proc.stdout and " -> quit" in proc.stdout
    assert proc.returncode == 9  # the refusal still counts


def test_break_on_rejects_unknown_conditions(endpoints, tmp_path):
    done = run(endpoints, tmp_path, "noop\n", "--break-on", "6xx")
    assert done.returncode == 2 and "--break-on takes 4xx, 5xx, error" in done.stderr


def _read_until(fd: int, needle: bytes, timeout: float = 20.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, seen
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 4096)
            assert chunk, seen
            seen += chunk
    return seen


def test_step_through_a_terminal_takes_single_keys(endpoints, tmp_path):
    path = tmp_path / "s.smtp"
    path.write_text(STEPPED)
    host, port = endpoints.smtp
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "smtpdbg", "run", str(path), "--target", f"{host}:{port}", "--ca",
                             endpoints.ca_path, "--step", "--color", "never"], stdin=slave, stdout=subprocess.PIPE,
                            stderr=slave, env=repo_env())
    os.close(slave)
    try:
        _read_until(master, b"line 1: ehlo")
        os.write(master, b"\r")  # Enter runs it
        _read_until(master, b"line 2: noop")
        os.write(master, b"s")  # one key, no Enter: skip
        _read_until(master, b"line 3: rset")
        os.write(master, b"c")
        out, _ = proc.communicate(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = out.decode()
    assert proc.returncode == 0, text
    assert " -> noop" not in text and " -> rset" in text and "SKIPPED line 2: noop" in text


def test_exports_from_the_command_line_and_compare(endpoints, tmp_path):
    script = "ehlo\nmail a@example.org\nrcpt bob@example.org\ndata\nSubject: x\n\nhi\n.\nquit\n"
    first = run(endpoints, tmp_path, script, "--export", "jsonl", "--output", str(tmp_path / "a.jsonl"),
                "--export", "html", "-o", str(tmp_path / "a.html"), "--export", "script", "-o", str(tmp_path / "a.smtp"))
    assert first.returncode == 0, first.stdout + first.stderr
    for name in ("a.jsonl", "a.html", "a.smtp"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    records = read_jsonl((tmp_path / "a.jsonl").read_text())
    assert schema_errors(records) == []
    same = run(endpoints, tmp_path, script, "--compare", str(tmp_path / "a.jsonl"))
    assert same.returncode == 0, same.stdout + same.stderr
    unmatched = run(endpoints, tmp_path, script, "--export", "jsonl")
    assert unmatched.returncode == 2 and "needs its own --output" in unmatched.stderr
    formatless = run(endpoints, tmp_path, script, "--output", "-")
    assert formatless.returncode == 2 and "give the format too" in formatless.stderr, formatless.stderr
    missing = run(endpoints, tmp_path, script, "--compare", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2


def test_compare_difference_alone_exits_13(endpoints, tmp_path):
    script = "ehlo\nmail a@example.org\nrcpt bob@example.org\nquit\n"
    first = run(endpoints, tmp_path, script, "--export", "jsonl", "-o", str(tmp_path / "a.jsonl"))
    assert first.returncode == 0
    changed = run(endpoints, tmp_path, script.replace("bob@", "greylist@"), "--keep-going",
                  "--compare", str(tmp_path / "a.jsonl"))
    assert changed.returncode == 9  # the greylisting itself is a failure first
    tolerant = script.replace("rcpt bob@example.org\n", "rcpt greylist@example.org\nexpect 451\n")
    differs = run(endpoints, tmp_path, tolerant, "--compare", str(tmp_path / "a.jsonl"))
    assert differs.returncode == 13, differs.stdout
    assert "RCPT" in differs.stdout and "DIFFERS" in differs.stdout


@pytest.mark.parametrize("drop", [False, True])
def test_a_run_that_stops_sends_quit_unless_drop(tmp_path, drop):
    """As swaks does: a failure (or a script without quit) still ends the session politely; --drop does not."""
    from tests.servers import FakeServer, esmtp

    script = tmp_path / "s.smtp"
    script.write_text("ehlo\nmail a@example.org\nrcpt nobody@example.org\nrcpt b@example.org\n")
    with FakeServer(esmtp(RCPT=b"550 5.1.1 no such user\r\n")) as server:
        done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), "--target", server.target,
                               "--timeout", "5"] + (["--drop"] if drop else []),
                              capture_output=True, text=True, env=repo_env(), timeout=60)
        deadline = time.monotonic() + 5
        while not server.connections[0].closed.is_set() and b"QUIT" not in bytes(server.connections[0].received).upper() \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        received = bytes(server.connections[0].received).upper()
    assert done.returncode == 9, done.stdout + done.stderr
    assert b"RCPT TO:<B@EXAMPLE.ORG>" not in received  # the run stopped at the failure
    assert (b"QUIT" in received) is not drop



@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_diff_and_compare_refuse_a_device_at_once(endpoints, tmp_path, device):
    first = run(endpoints, tmp_path, "ehlo\nquit\n", "--export", "jsonl", "-o", str(tmp_path / "a.jsonl"))
    assert first.returncode == 0, first.stderr
    diff = subprocess.run([sys.executable, "-m", "smtpdbg", "diff", device, str(tmp_path / "a.jsonl")], env=repo_env(),
                          capture_output=True, text=True, timeout=60, preexec_fn=capped_memory)
    assert diff.returncode == 2, diff.stderr
    assert "smtpdbg diff: line 1: " in diff.stderr and "not an smtpdbg JSONL export" in diff.stderr
    host, port = endpoints.smtp
    (tmp_path / "s.smtp").write_text("ehlo\nquit\n")
    compare = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(tmp_path / "s.smtp"), "-t", f"{host}:{port}",
                              "--compare", device], env=repo_env(), capture_output=True, text=True, timeout=60,
                             preexec_fn=capped_memory)
    assert compare.returncode == 2, compare.stderr
    assert f"--compare {device}: line 1: " in compare.stderr and "internal error" not in compare.stderr


@pytest.mark.parametrize("edit, said", [
    (lambda r: r["type"] == "reply" and r.update(latency="slow"), "(reply): latency is a string"),
    (lambda r: r["type"] == "reply" and r.get("extensions") and r.update(extensions=5), "(reply): extensions is a number"),
    (lambda r: r["type"] == "summary" and r["recipients"][0].pop("final_code"), "(summary recipient): final_code is missing"),
], ids=["latency", "extensions", "final_code"])
def test_diff_and_compare_refuse_a_hand_edited_export_with_a_wrong_type(endpoints, tmp_path, edit, said):
    import json

    script = "ehlo\nmail a@example.org\nrcpt bob@example.org\nquit\n"
    first = run(endpoints, tmp_path, script, "--export", "jsonl", "-o", str(tmp_path / "a.jsonl"))
    assert first.returncode == 0, first.stderr
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    for record in records:
        edit(record)
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    env = dict(repo_env(), HOME=str(tmp_path))  # a crash report would go there
    diff = subprocess.run([sys.executable, "-m", "smtpdbg", "diff", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")],
                          env=env, capture_output=True, text=True, timeout=60)
    assert diff.returncode == 2 and said in diff.stderr and "internal error" not in diff.stderr, diff.stderr
    compare = run(endpoints, tmp_path, script, "--compare", str(tmp_path / "b.jsonl"), env_extra={"HOME": str(tmp_path)})
    assert compare.returncode == 2 and said in compare.stderr, compare.stderr
