"""Every output path is terminal-safe against a server that injects escapes into everything it says.

Sessions are recorded against an escape-injecting fake server (clear screen,
window title, OSC 52 clipboard write, the cursor-position request, 8-bit CSI,
bidi overrides and isolates, NEL, line and paragraph separators, BEL, NUL,
DEL, invalid UTF-8), then every output path runs on them: ``run`` stdout and
stderr (colour off and on), every export format, the session log, ``diff``,
``run --compare`` and piped ``repl``. The bytes are scanned: valid UTF-8, and
no C0/C1 control but newline and tab, no ESC (but SGR where colour is on), no
bidi control, no U+0085, U+2028 or U+2029.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from smtpdbg.core.render import safe_output

from tests.conftest import repo_env
from tests.servers import FakeServer, esmtp

EVIL = ("\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[6n\x1bP+q\x1b\\\u202eevil\u202c\u2066iso\u2069"
        "\u200f\u061c\x85nel\u2028ls\u2029ps\x9b1m\x90dcs\x9c\x07\x00\x7f\x08").encode("utf-8") + b"\xff\xfe"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
SGR = re.compile("\x1b\\[[0-9;]*m")


def evil_server(rcpt_code: bytes = b"250 2.1.5") -> FakeServer:
    ehlo = (b"250-evil.test " + EVIL + b"\r\n250-SIZE 1000000\r\n250-PIPELINING\r\n250-XEVIL " + EVIL + b"\r\n"
            b"250 8BITMIME\r\n")
    return FakeServer(esmtp(
        greeting=b"220 evil.test " + EVIL + b"\r\n", EHLO=ehlo, MAIL=b"250 2.1.0 " + EVIL + b"\r\n",
        RCPT=rcpt_code + b" " + EVIL + b"\r\n", DATA=b"354 " + EVIL + b"\r\n", END=b"250 2.0.0 queued " + EVIL + b"\r\n",
        NOOP=b"250 " + EVIL + b"\r\n", HELP=b"214-" + EVIL + b"\r\n214 end\r\n", QUIT=b"221 " + EVIL + b"\r\n",
        VRFY=b"252 " + EVIL + b"\r\n"))


SCRIPT = ("ehlo\nnoop\nhelp\nverify postmaster\nmail a@b.test\nrcpt c@d.test\ndata\n"
          "Subject: evil \x1b]0;body\x07 \u202ebody\n\nline \x1b[2J\x85\u2028 end\n.\nquit\n")


def assert_terminal_safe(data: bytes, where: str, *, color: bool = False) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AssertionError(f"{where}: not UTF-8 at byte {exc.start}: {data[max(0, exc.start - 40):exc.start + 10]!r}")
    if color:
        text = SGR.sub("", text)
    found = UNSAFE.search(text)
    assert found is None, f"{where}: {found.group()!r} at {found.start()}: {text[max(0, found.start() - 60):found.start() + 20]!r}"


def smtpdbg(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtpdbg", *args], input=stdin.encode("utf-8"), capture_output=True,
                          env=repo_env(), timeout=120)


FORMATS = ("text", "jsonl", "python", "swaks", "html", "script")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs against the evil server (all accepted; the recipient refused), with every export and a log."""
    root = tmp_path_factory.mktemp("evil")
    script = root / "script.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    results = {}
    for name, rcpt in (("a", b"250 2.1.5"), ("b", b"550 5.1.1")):
        exports = []
        for fmt in FORMATS:
            exports += ["--export", fmt, "--output", str(root / f"{name}.{fmt}")]
        with evil_server(rcpt) as server:
            results[name] = smtpdbg("run", str(script), "--target", server.target, "--keep-going", "--timeout", "3",
                                    "--log", str(root / f"{name}.log"), "--color", "never", *exports)
            results[name + "-color"] = smtpdbg("run", str(script), "--target", server.target, "--keep-going",
                                               "--timeout", "3", "--color", "always", "--timestamps", "delta")
    return root, results


def test_run_output_is_terminal_safe(runs):
    _, results = runs
    for name, done in results.items():
        assert b"Traceback" not in done.stderr, done.stderr
        assert b"evil.test" in done.stdout  # the server's text is there, escaped
        assert_terminal_safe(done.stdout, f"run {name} stdout", color=name.endswith("color"))
        assert_terminal_safe(done.stderr, f"run {name} stderr", color=name.endswith("color"))
    assert b"\\x1b]52;c;" in results["a"].stdout  # shown, harmless


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_export_format_is_terminal_safe(runs, fmt):
    root, _ = runs
    for name in ("a", "b"):
        data = (root / f"{name}.{fmt}").read_bytes()
        assert_terminal_safe(data, f"{name}.{fmt}")
        assert b"evil" in data


def test_the_exports_still_work_as_what_they_are(runs):
    root, _ = runs
    for name in ("a", "b"):
        compile((root / f"{name}.python").read_text(), f"{name}.python", "exec")
        for line in (root / f"{name}.jsonl").read_text().split("\n"):
            if line:
                json.loads(line)
        assert subprocess.run(["sh", "-n", str(root / f"{name}.swaks")]).returncode == 0
    summary = (root / "b.text").read_text()
    assert "550" in summary and "\\x1b" in summary  # the per-recipient summary, escaped


def test_a_message_with_control_characters_survives_the_swaks_script(runs):
    root, _ = runs
    script = (root / "a.swaks").read_text()
    # the message goes to swaks's stdin from printf calls written in plain ASCII escapes
    block = re.search(r"^\{\n(.*?)\n\} \| ", script, re.S | re.M)
    assert block is not None, script
    printed = subprocess.run(["sh", "-c", block.group(1)], capture_output=True).stdout
    assert b"\x1b]0;body\x07" in printed and "\u202e".encode() in printed


def test_the_log_is_terminal_safe(runs):
    root, _ = runs
    for name in ("a", "b"):
        data = (root / f"{name}.log").read_bytes()
        assert_terminal_safe(data, f"{name}.log")
        assert b"evil.test" in data


def test_diff_and_compare_are_terminal_safe(runs):
    root, _ = runs
    done = smtpdbg("diff", str(root / "a.jsonl"), str(root / "b.jsonl"))
    assert done.returncode == 1, done.stdout + done.stderr  # read (U+0085 and all), compared, different
    assert b"550" in done.stdout
    assert_terminal_safe(done.stdout, "diff stdout")
    assert_terminal_safe(done.stderr, "diff stderr")
    script = root / "script.txt"
    with evil_server(b"550 5.1.1") as server:
        done = smtpdbg("run", str(script), "--target", server.target, "--keep-going", "--timeout", "3",
                       "--compare", str(root / "a.jsonl"))
    assert done.returncode in (9, 13) and b"DIFFERS from the --compare run" in done.stdout, done.stdout  # 9: RCPT failed
    assert_terminal_safe(done.stdout, "run --compare stdout")
    assert_terminal_safe(done.stderr, "run --compare stderr")


def test_diff_errors_are_terminal_safe(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "header", "schema": "\x1b]0;x\x07"}\n', encoding="utf-8")
    done = smtpdbg("diff", str(bad), str(bad))
    assert done.returncode == 2
    assert_terminal_safe(done.stderr, "diff error")


def test_piped_repl_is_terminal_safe(tmp_path):
    log = tmp_path / "repl.log"
    with evil_server() as server:
        done = smtpdbg("repl", server.target, "--timeout", "3", "--log", str(log), "--no-history", stdin=SCRIPT)
    assert b"evil.test" in done.stdout and b"Traceback" not in done.stderr
    assert_terminal_safe(done.stdout, "repl stdout")
    assert_terminal_safe(done.stderr, "repl stderr")
    assert_terminal_safe(log.read_bytes(), "repl log")


@pytest.mark.parametrize("text, color", [
    ("a\x1b[2Jb", False), ("\x1b]52;c;x\x07", False), ("\u202e\u2066\x85\u2028\u2029\x9b", False),
    ("\x1b[31mred\x1b[0m\x1b[6n", True), ("tab\tand\nnewline \udcff \U000e0001", False),
])
def test_safe_output_itself(text, color):
    out = safe_output(text, color=color)
    assert_terminal_safe(out.encode("utf-8"), repr(text), color=color)
    assert "\n" not in text or "\n" in out
    assert json.loads(safe_output(json.dumps(text, ensure_ascii=False), json=True)) == text


def test_learn_lists_a_lesson_file_with_escapes_escaped(tmp_path):
    (tmp_path / "evil.toml").write_text(
        'id = "evil"\ntitle = "Evil \\u001b]0;title\\u0007 \\u202e lesson"\n'
        'summary = "It \\u001b[2J clears. More."\n\n[[step]]\ntitle = "s"\nexplain = "e"\ncommand = "noop"\n'
        'check = { command = "noop", code = 250 }\n', encoding="utf-8")
    env = repo_env()
    env["SMTPDBG_LESSONS"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "learn"], capture_output=True, env=env, timeout=60)
    assert b"evil" in done.stdout, done.stdout + done.stderr
    assert_terminal_safe(done.stdout, "learn stdout")
    assert_terminal_safe(done.stderr, "learn stderr")
