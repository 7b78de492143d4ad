"""smtpdbg trace: a program's smtplib session against the sandbox, printed byte for byte with the password masked."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import repo_env

PROGRAM = '''
import smtplib, ssl, sys
host, port, user, password, ca = sys.argv[1:]
with smtplib.SMTP(host, int(port), local_hostname="prog.test") as smtp:
    smtp.starttls(context=ssl.create_default_context(cafile=ca))
    smtp.login(user, password)
    smtp.sendmail("a@example.org", ["b@example.org"], "Subject: traced\\r\\n\\r\\nhello\\r\\n")
print("program done")
'''


def run_trace(tmp_path, endpoints, *options: str, env=None) -> subprocess.CompletedProcess:
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    host, port = endpoints.smtp
    return subprocess.run(
        [sys.executable, "-m", "smtpdbg", "trace", *options, "--", sys.executable, str(program), host, str(port),
         endpoints.user, endpoints.password, endpoints.ca_path],
        capture_output=True, text=True, timeout=60, env=env or repo_env())


def test_trace_prints_the_session_with_the_password_masked(tmp_path, endpoints) -> None:
    done = run_trace(tmp_path, endpoints)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "program done" in done.stdout
    session = [line for line in lines if line.startswith("[1] ")]
    assert session[0].startswith("[1] === connecting to ")
    assert "[1]  -> ehlo prog.test" in session and "[1]  -> starttls" in [l.lower() for l in session]
    auth = next(i for i, l in enumerate(session) if l.upper().startswith("[1]  ~> AUTH CRAM-MD5"))  # login()'s pick
    assert session[auth + 1].startswith("[1] <~  334 ") and session[auth + 2].startswith("[1]  ~> ********  # ")
    assert any("subject: traced" in l.lower() for l in session) and "[1]  ~> hello" in session
    assert any(l.startswith("[1] <~  250 ") for l in session)
    secret = endpoints.password
    encoded = base64.b64encode(f"\0{endpoints.user}\0{secret}".encode()).decode()
    assert secret not in done.stdout and encoded not in done.stdout and secret not in done.stderr


def test_jsonl_and_log_files(tmp_path, endpoints) -> None:
    log, jsonl = tmp_path / "trace.log", tmp_path / "trace.jsonl"
    log.write_text("an older, longer log that was readable by everyone\n" * 100)
    log.chmod(0o644)
    done = run_trace(tmp_path, endpoints, "--log", str(log), "--jsonl", str(jsonl))
    assert done.returncode == 0 and "[1]" not in done.stdout
    assert (log.stat().st_mode & 0o777, jsonl.stat().st_mode & 0o777) == (0o600, 0o600)  # owner-only, emptied first
    assert "older" not in log.read_text()
    assert "[1] <-  220 " in log.read_text()
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    wire = [r for r in records if r["type"] == "Wire"]
    assert wire[0]["direction"] == "recv" and wire[0]["data"]["text"].startswith("220 ")
    assert endpoints.password not in jsonl.read_text()


def test_an_existing_sitecustomize_still_runs(tmp_path, endpoints) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import os\nos.environ['CHAINED'] = 'yes'\n")
    program = tmp_path / "prog.py"
    program.write_text(textwrap.dedent('''
        import os, smtplib, sys
        print("chained", os.environ.get("CHAINED"))
        smtplib.SMTP(sys.argv[1], int(sys.argv[2])).quit()
    '''))
    env = repo_env()
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(site)])
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "trace", "--", sys.executable, str(program),
                           *map(str, endpoints.smtp)], capture_output=True, text=True, timeout=60, env=env)
    assert "chained yes" in done.stdout and "[1] <-  221 " in done.stdout, done.stderr


def test_the_programs_exit_status_and_a_missing_command(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "trace", "--", sys.executable, "-c", "raise SystemExit(3)"],
                          capture_output=True, text=True, timeout=60, env=repo_env())
    assert done.returncode == 3
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "trace"], capture_output=True, text=True, timeout=60,
                          env=repo_env())
    assert done.returncode == 2 and "after --" in done.stderr


async def test_the_trace_app_shows_the_sessions_and_the_programs_output(tmp_path, endpoints) -> None:
    from smtpdbg.trace.app import TraceApp

    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    host, port = endpoints.smtp
    app = TraceApp([sys.executable, str(program), host, str(port), endpoints.user, endpoints.password,
                    endpoints.ca_path])
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(1000):
            if app.status is not None:
                break
            await pilot.pause(0.02)
        assert app.status == 0
        await pilot.pause(0.1)
        output = "\n".join(app.query_one("#output").lines)
        assert "program done" in output and "exited with status 0" in output
        view = app.view(1)
        texts = [view.store.plain(row) for row in range(len(view.store))]
        assert any(t.startswith("<~  250 ") for t in texts), texts
        assert not any(endpoints.password in t for t in texts)


def test_sigterm_to_the_tracer_stops_the_program_and_removes_its_files(tmp_path) -> None:
    """A CI job or harness stopping the tracer leaves nothing running and nothing behind."""
    import signal
    import time

    marker = tmp_path / "pid"
    program = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    tracer = subprocess.Popen([sys.executable, "-m", "smtpdbg", "trace", "--print", "--", sys.executable, "-c", program],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=repo_env())
    for _ in range(500):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.02)
    child = int(marker.read_text())
    before = {p for p in os.listdir("/tmp") if p.startswith("smtpdbg-trace-")}
    tracer.send_signal(signal.SIGTERM)
    assert tracer.wait(20) == 128 + signal.SIGTERM  # the program's status: ended by SIGTERM
    for _ in range(100):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the traced program outlived the tracer")
    after = {p for p in os.listdir("/tmp") if p.startswith("smtpdbg-trace-")}
    assert not (after - before) and len(before - after) <= len(before)


async def test_quitting_the_trace_app_stops_a_program_still_running(tmp_path) -> None:
    import signal
    import time

    from smtpdbg.trace.app import TraceApp

    app = TraceApp([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"])
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(500):
            if app.proc is not None and "started" in "\n".join(app.query_one("#output").lines):
                break
            await pilot.pause(0.02)
        proc = app.proc
        started = time.monotonic()
        await pilot.press("ctrl+q")
        while app.return_value is None and time.monotonic() - started < 10:  # stopped off the UI thread
            await pilot.pause(0.05)
    assert proc.poll() == -signal.SIGTERM and time.monotonic() - started < 10
    assert app.return_value == 128 + signal.SIGTERM  # `smtpdbg trace` exits with it
