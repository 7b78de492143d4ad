"""No traceback, ever, and no silent loss: Ctrl-C, a closed stdout, numbers out of range, binary or endless
input, a full disk under ``--log`` or stdout, and an unexpected error. Real processes; signals sent to the child."""

from __future__ import annotations

import os
import re
import select
import signal
import stat
import subprocess
import sys
import time

import pytest

from tests.conftest import repo_env


def _popen(*args: str, **kwargs) -> subprocess.Popen:
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-u", "-m", "smtpdbg", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=kwargs.pop("env", repo_env()), **kwargs)


def _read_until(stream, needle: bytes, limit: float = 30.0) -> bytes:
    """Read from a child's stdout until ``needle`` (a hang guard, not a timing assertion)."""
    seen = b""
    deadline = time.monotonic() + limit
    fd = stream.fileno()
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, seen
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, seen
            seen += chunk
    return seen


def _target(endpoints) -> list[str]:
    host, port = endpoints.smtp
    return ["--target", f"{host}:{port}", "--ca", endpoints.ca_path, "--timeout", "10"]


# -- Ctrl-C -----------------------------------------------------------------------------------------
def test_ctrl_c_in_the_piped_repl_exits_130_without_a_traceback(endpoints):
    host, port = endpoints.smtp
    child = _popen("repl", f"{host}:{port}", "--ca", endpoints.ca_path, stdin=subprocess.PIPE)
    child.stdin.write(b"ehlo\n")
    child.stdin.flush()
    seen = _read_until(child.stdout, b"<-  250 ")
    child.send_signal(signal.SIGINT)  # while it waits for the next line
    out, err = child.communicate(timeout=30)
    child.stdin.close()
    assert child.returncode == 130, (seen + out, err)
    assert b"Traceback" not in err + out and err == b""
    assert b"=== INTERRUPTED by the user (Ctrl-C)" in out and out.rstrip().endswith(b"exit 130")


def test_ctrl_c_in_a_piped_lesson_exits_130_without_a_traceback():
    child = _popen("learn", "--repl", "first-conversation", stdin=subprocess.PIPE)
    child.stdin.write(b"helo client.example\n")
    child.stdin.flush()
    _read_until(child.stdout, b"--- step 2 of 5")
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    child.stdin.close()
    assert child.returncode == 130, (out, err)
    assert b"Traceback" not in err + out and err == b""
    assert b"!!! lesson: stopped at step 2 of 5" in out


def test_two_ctrl_c_5_ms_apart_during_a_run_exit_130_without_a_traceback(endpoints, tmp_path):
    script = tmp_path / "s.smtp"
    script.write_text("ehlo\nsleep 30\nnoop\n")
    for _ in range(3):
        child = _popen("run", str(script), *_target(endpoints), "--export", "jsonl", "-o", str(tmp_path / "a.jsonl"))
        _read_until(child.stdout, b"<-  250 ")
        child.send_signal(signal.SIGINT)
        time.sleep(0.005)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        assert child.returncode == 130, (out, err)
        assert b"Traceback" not in err and b"Exception ignored" not in err
        assert len(err.decode().strip().splitlines()) <= 1  # at most "interrupted again: quitting now"


def test_ctrl_c_before_the_script_runs_is_one_line(tmp_path):
    """A Ctrl-C while the run is still starting (resolving its options) ends it with one line, 130."""
    script = tmp_path / "s.smtp"
    script.write_text("noop\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    child = _popen("run", str(fifo), "--target", "127.0.0.1:9")  # blocks opening a FIFO nobody writes
    wchan = f"/proc/{child.pid}/wchan"
    deadline = time.monotonic() + 30
    while not (os.path.exists(wchan) and open(wchan).read() == "wait_for_partner"):  # in open(), past start-up
        assert time.monotonic() < deadline and child.poll() is None, "never blocked on the FIFO"
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, (out, err)
    assert err.decode().strip() == "smtpdbg: interrupted (Ctrl-C)" and out == b""


# -- a closed stdout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "repl"])
def test_a_closed_stdout_ends_the_run_quietly(endpoints, tmp_path, command):
    """``smtpdbg run ... | head -1``: status 141 (as a shell reports SIGPIPE), nothing on stderr."""
    lines = "ehlo\n" + "has_extn STARTTLS\n" * 5000
    host, port = endpoints.smtp
    if command == "run":
        script = tmp_path / "s.smtp"
        script.write_text(lines)
        child = _popen("run", str(script), *_target(endpoints))
    else:
        child = _popen("repl", f"{host}:{port}", stdin=subprocess.PIPE)
        child.stdin.write(lines.encode())
        child.stdin.close()
    _read_until(child.stdout, b"\n")
    child.stdout.close()
    err = child.stderr.read()
    assert child.wait(timeout=60) == 141, err
    assert err == b""


def test_a_full_disk_under_stdout_is_reported_with_status_15(endpoints, tmp_path):
    script = tmp_path / "s.smtp"
    script.write_text("ehlo\nnoop\n")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), *_target(endpoints)],
                              stdout=full, stderr=subprocess.PIPE, text=True, env=repo_env(), timeout=60)
    assert done.returncode == 15
    assert done.stderr.strip() == "smtpdbg run: cannot write the transcript to standard output: No space left on device"


# -- numbers out of range ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["1e10", "604801", "inf", "nan", "1e400", "0", "-1"])
def test_a_timeout_out_of_range_is_refused_at_parse_time(value):
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", "-", "--target", "127.0.0.1:9", f"--timeout={value}"],
                          input="noop\n", capture_output=True, text=True, env=repo_env(), timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert re.search(r"argument --timeout: .*(finite|more than 0|at most 604800)", done.stderr), done.stderr
    assert "Traceback" not in done.stderr


def test_a_command_timeout_out_of_range_is_a_script_error(endpoints):
    host, port = endpoints.smtp
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "repl", f"{host}:{port}"],
                          input="timeout 1e10\nnoop --timeout 1e10\nnoop\n", capture_output=True, text=True,
                          env=repo_env(), timeout=60)
    assert done.returncode == 2, done.stdout
    assert "line 1: SECONDS must be at most 604800" in done.stdout
    assert "line 2: --timeout must be at most 604800" in done.stdout
    assert "OverflowError" not in done.stdout and "<-  250 2.0.0 OK" in done.stdout


# -- bounded input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["file", "stdin", "repl"])
def test_dev_zero_is_not_a_script(how):
    """It ends at once with a clear message (the hang guard is the subprocess timeout), not eating memory."""
    args = {"file": ["run", "/dev/zero", "--target", "127.0.0.1:9"], "stdin": ["run", "-", "--target", "127.0.0.1:9"],
            "repl": ["repl", "127.0.0.1:9"]}[how]
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run([sys.executable, "-m", "smtpdbg", *args], stdin=zero, capture_output=True, text=True,
                              env=repo_env(), timeout=60)
    assert done.returncode == 2
    assert "line 1: longer than 65536 bytes: binary data or a device, not a script" in done.stdout
    assert "connecting" not in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize(("content", "message"), [
    (b"noop\n\x00\x01\x02\n", "line 2: holds a NUL byte: binary data, not a script"),
    (b"noop\n\xff\xfe\n", "line 2: is not UTF-8 text: binary data, not a script"),
    (b"noop\n" + b"x" * 70000 + b"\n", "line 2: longer than 65536 bytes"),
])
def test_binary_script_files_are_refused_before_connecting(tmp_path, content, message):
    script = tmp_path / "s.smtp"
    script.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), "--target", "127.0.0.1:9"],
                          capture_output=True, text=True, env=repo_env(), timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_long_script_of_local_commands_stays_small(endpoints, tmp_path):
    """100,000 commands: peak RSS well under 150 MB (it grew by ~3.8 KB a command, 380 MB here, before)."""
    script = tmp_path / "s.smtp"
    script.write_text("ehlo\n" + "has_extn STARTTLS\n# a comment\n" * 100_000)
    peak = ("import sys, smtpdbg.cli as cli\n"
            "status = cli.main(sys.argv[1:])\n"  # the process's own peak (ru_maxrss would count the forked parent's)
            "sys.stderr.write([line for line in open('/proc/self/status') if line.startswith('VmHWM')][0])\n"
            "raise SystemExit(status)\n")
    done = subprocess.run([sys.executable, "-c", peak, "run", str(script), *_target(endpoints)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=repo_env(), timeout=600)
    assert done.returncode == 0, done.stderr
    kib = int(done.stderr.split()[1])
    assert kib < 150 * 1024, kib


# -- the log never fails silently -------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "repl"])
def test_a_log_on_a_full_disk_is_reported_at_once_and_the_status_is_15(endpoints, tmp_path, command):
    host, port = endpoints.smtp
    text = "ehlo\nnoop\n"
    if command == "run":
        script = tmp_path / "s.smtp"
        script.write_text(text)
        args = ["run", str(script), *_target(endpoints), "--log", "/dev/full"]
    else:
        args = ["repl", f"{host}:{port}", "--log", "/dev/full"]
    done = subprocess.run([sys.executable, "-m", "smtpdbg", *args], input=text, capture_output=True, text=True,
                          env=repo_env(), timeout=60)
    assert done.returncode == 15, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]  # before anything else: the first event could not be logged
    assert first == "*** --log /dev/full: cannot write (No space left on device); the log is incomplete from here"
    assert done.stdout.count("cannot write (No space left") == 2  # at once, and in the summary
    assert "=== OUTPUT FAILED: --log /dev/full" in done.stdout and " -> noop" in done.stdout
    assert stat.S_IMODE(os.stat("/dev/full").st_mode) == 0o666  # a device's mode is left alone


# -- anything unexpected -----------------------------------------------------------------------------
def test_an_unexpected_error_is_one_line_and_a_private_crash_report(tmp_path):
    env = dict(repo_env(), XDG_STATE_HOME=str(tmp_path / "state"), SMTPDBG_TEST_SECRET="s3cret-in-the-environment")
    code = ("import os, sys\n"
            "import smtpdbg.cli as cli\n"
            "def boom(argv):\n"
            "    raise RuntimeError('exploded near ' + os.environ['SMTPDBG_TEST_SECRET'])\n"
            "cli.main_diff = boom\n"
            "raise SystemExit(cli.main())\n")
    done = subprocess.run([sys.executable, "-c", code, "diff", "a.jsonl", "b.jsonl"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 70, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "s3cret-in-the-environment" not in done.stderr
    assert done.stderr.startswith("smtpdbg: internal error (RuntimeError: exploded near ${SMTPDBG_TEST_SECRET});")
    [report] = (tmp_path / "state" / "smtpdbg" / "crashes").iterdir()
    assert str(report) in done.stderr
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE(report.parent.stat().st_mode) == 0o700
    text = report.read_text()
    assert "RuntimeError: exploded near ${SMTPDBG_TEST_SECRET}" in text and "Traceback" in text
    assert "s3cret-in-the-environment" not in text and "command: smtpdbg diff a.jsonl b.jsonl" in text


def test_run_help_documents_the_exit_statuses():
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", "--help"], capture_output=True, text=True,
                          env=repo_env(), timeout=60)
    assert done.returncode == 0
    for status in ("0 ", "2 ", "3 ", "12 ", "13 ", "14 ", "15 ", "70 ", "130 ", "141 "):
        assert f"\n  {status}" in done.stdout, status
