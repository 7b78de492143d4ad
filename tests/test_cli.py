"""The command line end to end: ``smtpdbg run`` against ``smtpdbg sandbox --json`` in subprocesses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import repo_env

PYTHON = sys.executable


@pytest.fixture(scope="module")
def sandbox_process():
    process = subprocess.Popen([PYTHON, "-m", "smtpdbg", "sandbox", "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=repo_env())
    line = process.stdout.readline()
    info = json.loads(line)
    yield info
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def smtpdbg(*args: str, stdin: str | None = None, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    environment = repo_env()
    environment.update(env or {})
    return subprocess.run([PYTHON, "-m", "smtpdbg", *args], input=stdin, capture_output=True, text=True,
                          env=environment, timeout=timeout)


GOOD = textwrap.dedent("""\
    # a whole session
    ehlo client.smtpdbg.test
    expect 250
    expect has STARTTLS
    starttls
    ehlo client.smtpdbg.test
    auth LOGIN alice --password-env SANDBOX_PW
    expect 235
    mail alice@sandbox.smtpdbg.test
    rcpt bob@sandbox.smtpdbg.test
    expect 2.1.5
    data
    Subject: from a script

    .hello with a leading dot
    .
    expect /accepted/
    quit
    """)


def test_run_script_end_to_end(sandbox_process, tmp_path):
    script = tmp_path / "good.smtp"
    script.write_text(GOOD)
    result = smtpdbg("run", str(script), "--target", sandbox_process["smtp"], "--ca", sandbox_process["ca"],
                     env={"SANDBOX_PW": sandbox_process["password"]})
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "<-  220 sandbox.smtpdbg.test smtpdbg sandbox" in out
    assert " -> ehlo client.smtpdbg.test" in out
    assert "=== TLS established" in out and "verified" in out
    assert " ~> AUTH LOGIN ********" in out
    assert sandbox_process["password"] not in out
    assert " ~> ..hello with a leading dot" in out
    assert "<~  221" in out
    assert "0 failed, 0 expectation(s) not met: ok" in out
    assert "\x1b[" not in out  # not a terminal: no colour


@pytest.mark.parametrize(
    "script, code, words",
    [
        ("ehlo\nmail a@sandbox.smtpdbg.test\nrcpt reject@sandbox.smtpdbg.test\n", 9, "[rcpt]"),
        ("ehlo\nmail a@sandbox.smtpdbg.test\nrcpt reject@sandbox.smtpdbg.test\nexpect 550\nexpect 5.1.1\nquit\n", 0, "ok"),
        ("ehlo\nexpect 251\n", 12, "expected 251, got 250"),
        ("ehlo\nexpect has ETRN\n", 12, "not advertised"),
        ("ehlo\nauth PLAIN alice --password-env WRONG_PW\n", 7, "[auth]"),
        ("ehlo\nnot-a-command\n", 2, "line 2"),
    ],
)
def test_run_exit_status_names_the_failing_stage(sandbox_process, tmp_path, script, code, words):
    path = tmp_path / "s.smtp"
    path.write_text(script)
    result = smtpdbg("run", str(path), "--target", sandbox_process["smtp"], "--ca", sandbox_process["ca"],
                     env={"WRONG_PW": "nope"})
    assert result.returncode == code, result.stdout + result.stderr
    assert words in result.stdout + result.stderr


def test_run_reads_the_script_from_stdin_and_never_prompts(sandbox_process):
    # an address, not the embedded sandbox: without consent to cleartext the login is refused before any password
    result = smtpdbg("run", "-", "--target", sandbox_process["smtp"], "--ca", sandbox_process["ca"],
                     stdin="ehlo\nlogin alice\n", timeout=30)
    assert result.returncode == 7
    assert "would cross the network in cleartext" in result.stdout and "stdin is not a terminal" not in result.stdout
    result = smtpdbg("run", "-", "--target", sandbox_process["smtp"], "--ca", sandbox_process["ca"],
                     "--allow-plaintext-auth", stdin="ehlo\nlogin alice\n", timeout=30)
    assert result.returncode == 7
    assert "stdin is not a terminal" in result.stdout


def test_run_on_the_embedded_sandbox_when_no_target(tmp_path):
    path = tmp_path / "s.smtp"
    path.write_text("ehlo\nstarttls\nehlo\nquit\n")
    result = smtpdbg("run", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified" in result.stdout


def test_run_against_lmtp_unix_socket(sandbox_process, tmp_path):
    path = tmp_path / "s.smtp"
    path.write_text("ehlo\nmail a@x.test\nrcpt b@x.test\nrcpt full@x.test\ndata\nSubject: l\n\nx\n.\nexpect 250\n")
    result = smtpdbg("run", str(path), "--target", sandbox_process["lmtp"], "--keep-going")
    assert "<-  250 2.0.0 <b@x.test> delivered" in result.stdout or "<-  250" in result.stdout
    assert "452" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "x.smtp", "--target", "ftp://host"], "unknown scheme"),
        (["run", "x.smtp", "--target", "host:99999"], "out of range"),
        (["run", "x.smtp", "--target", "localhost:25", "--ca", "/nonexistent.pem"], "no such file"),
        (["run", "/nonexistent/script.smtp", "--target", "127.0.0.1:9"], "cannot read"),
        (["run", "x.smtp", "--timeout", "0"], "must be more than 0"),
    ],
)
def test_bad_local_input_gives_a_clear_message(args, message):
    result = smtpdbg(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_connection_refused_exit_status():
    result = smtpdbg("run", "-", "--target", "127.0.0.1:9", stdin="ehlo\n")
    assert result.returncode == 3
    assert "connection refused" in result.stdout


def test_app_without_a_terminal_refuses_clearly():
    result = smtpdbg(stdin="")
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr and "smtpdbg run" in result.stderr


def test_version():
    result = smtpdbg("--version")
    assert result.returncode == 0 and result.stdout.startswith("smtpdbg ")


def test_run_with_a_target_loads_no_ui_toolkit_nor_server(sandbox_process, tmp_path):
    path = tmp_path / "s.smtp"
    path.write_text("noop\n")
    code = textwrap.dedent(f"""\
        import sys
        from smtpdbg.cli import main
        rc = main(["run", {str(path)!r}, "--target", {sandbox_process['smtp']!r}])
        loaded = {{m.split(".")[0] for m in sys.modules}} & {{"textual", "prompt_toolkit", "rich", "aiosmtpd", "trustme"}}
        print("LOADED", sorted(loaded), rc)
        """)
    result = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=repo_env(), timeout=30)
    assert "LOADED [] 0" in result.stdout, result.stdout + result.stderr


def test_readme_and_ci_run_the_same_test_command():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    ci = [l for l in (root / ".ci" / "run").read_text().splitlines() if l.startswith("python3 -m venv")]
    assert len(ci) == 1
    assert f"\n{ci[0]}\n" in (root / "README.md").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--timeout", "nan"], "--timeout"),
        (["--timeout", "inf"], "--timeout"),
        (["--timeout", "1e400"], "--timeout"),
        (["--source-address", "127.0.0.1:99999"], "port"),
        (["--source-address", ":25"], "source address"),
        (["--source-address", "127.0.0.1:x"], "source address"),
        (["--proxy-header", "v2", "--proxy-source", "client.example:1"], "IP address"),
        (["--proxy-header", "v1", "--proxy-source", "192.0.2.1:99999"], "port"),
        (["--dns", "127.0.0.1:abc"], "--dns"),
        (["--dns", "127.0.0.1:70000"], "--dns"),
        (["--tls-min", "1.3", "--tls-max", "1.2"], "--tls-min"),
        (["--tls-ciphers", "NO-SUCH-CIPHER"], "--tls-ciphers"),
    ],
)
def test_nonsense_option_values_are_refused_before_anything_runs(args, message, capsys):
    """In-process: each refusal is exit status 2 with a message naming the option, no traceback."""
    from smtpdbg.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "no-such-script.smtp", "--target", "127.0.0.1:9", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("line", ["sleep -1", "sleep nan", "sleep inf", "sleep 1e400"])
def test_a_nonsense_sleep_is_a_script_error(line, tmp_path, capsys):
    from smtpdbg.cli import main

    script = tmp_path / "s.smtp"
    script.write_text(f"noop\n{line}\nnoop\n")
    assert main(["run", str(script), "--target", "127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "sleep" in err


def test_a_log_path_that_cannot_be_written_is_refused(tmp_path, capsys):
    from smtpdbg.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "no-such-script.smtp", "--target", "127.0.0.1:9", "--log", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--log" in err and "Traceback" not in err


@pytest.mark.parametrize("option, content, message", [
    ("--ca", "not a certificate\n", "--ca"),
    ("--tls-cert", "not a certificate\n", "--tls-cert"),
])
def test_unusable_tls_files_are_refused_before_anything_runs(tmp_path, capsys, option, content, message):
    from smtpdbg.cli import main

    path = tmp_path / "file.pem"
    path.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "no-such-script.smtp", "--target", "127.0.0.1:9", option, str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err and "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--tls-key", __file__], "--tls-key"),
    (["--tls-sni", ".bad"], "--tls-sni"),
    (["--tls-sni", ""], "--tls-sni"),
    (["--tls-verify-name", "two words"], "--tls-verify-name"),
    (["--local-hostname", "two words"], "--local-hostname"),
])
def test_unusable_names_and_a_lone_key_are_refused(capsys, args, message):
    from smtpdbg.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "no-such-script.smtp", "--target", "127.0.0.1:9", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
