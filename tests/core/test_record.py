"""Recording a session as a script and replaying it (round trip against the sandbox),
and comparing runs (diff)."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.diff import diff_records
from smtpdbg.core.export import Recording, render
from smtpdbg.core.export.jsonl import read_jsonl
from smtpdbg.runner import run_script
from tests.conftest import repo_env
from tests.servers import FakeServer, esmtp

PAYLOAD = base64.b64encode(b"\0alice\0wonderland").decode()


def _interactive_session(make_session):
    session = make_session()
    for line in ("connect", "ehlo", "show", "starttls", "ehlo", "auth LOGIN alice --password-env SANDBOX_PASSWORD",
                 "mail alice@example.org", "rcpt bob@example.org", "rcpt greylist@example.org", "data @/nonexistent/msg"):
        session.execute(line)
    session.execute("data", body="Subject: replay\r\n\r\n.dot line\r\nbody\r\n")
    session.execute("rset")
    session.execute(f"raw AUTH PLAIN {PAYLOAD}")
    session.execute("quit")
    return session


def _options(endpoints) -> SessionOptions:
    return SessionOptions(timeout=10, local_hostname="client.smtpdbg.test", ca=endpoints.ca_path)


def test_saved_script_has_expectations_and_no_secrets(make_session, tmp_path):
    session = _interactive_session(make_session)
    path = tmp_path / "saved.smtp"
    assert session.execute(f"save script {path}").ok
    script = path.read_text()
    lines = script.splitlines()
    assert lines[lines.index("connect") + 1] == "expect 220"
    assert "expect has STARTTLS" in lines and "expect has AUTH" in lines
    assert "auth LOGIN alice --password-env SANDBOX_PASSWORD" in lines
    assert "rcpt greylist@example.org" in lines and "expect 451" in lines
    assert "raw AUTH PLAIN ${SMTP_AUTH_1}" in lines
    assert "show" not in lines
    assert "# failed locally in the recorded session (command): data @/nonexistent/msg" in lines
    body = lines.index("data")
    assert lines[body + 1:body + 6] == ["Subject: replay", "", ".dot line", "body", "."]
    assert "wonderland" not in script and PAYLOAD not in script
    assert "set: SANDBOX_PASSWORD (the AUTH password), SMTP_AUTH_1" in script


def test_record_replay_round_trip_delivers_the_same_message(make_session, sandbox, endpoints, tmp_path, monkeypatch):
    session = _interactive_session(make_session)
    original = sandbox.messages
    path = tmp_path / "saved.smtp"
    assert session.execute(f"save script {path}").ok
    sandbox.clear_messages()
    monkeypatch.setenv("SANDBOX_PASSWORD", endpoints.password)
    monkeypatch.setenv("SMTP_AUTH_1", PAYLOAD)
    out = io.StringIO()
    status = run_script(str(path), Target("smtp", *endpoints.smtp), _options(endpoints), out=out, color="never")
    assert status == 0, out.getvalue()
    replayed = sandbox.messages
    assert [(m.mail_from, m.rcpt_tos, m.content) for m in replayed] == [(m.mail_from, m.rcpt_tos, m.content) for m in original]
    assert "<greylist@example.org>: temporary failure at RCPT: 451" in out.getvalue()


def test_replay_against_another_server_stops_where_it_answers_differently(make_session, endpoints, tmp_path):
    session = make_session()
    for line in ("connect", "ehlo", "mail alice@example.org", "rcpt bob@example.org", "quit"):
        session.execute(line)
    path = tmp_path / "saved.smtp"
    path.write_text(render("script", Recording.from_session(session)))
    with FakeServer(esmtp(RCPT=b"550 5.1.1 no such user\r\n")) as server:
        out = io.StringIO()
        status = run_script(str(path), Target("smtp", server.host, server.port), _options(endpoints), out=out, color="never")
    assert status == 12
    assert "MISMATCH line" in out.getvalue() and "expected 250, got 550 5.1.1 no such user" in out.getvalue()


def test_replay_from_the_command_line_with_another_target(make_session, endpoints, tmp_path):
    session = make_session()
    for line in ("connect", "ehlo", "noop", "quit"):
        session.execute(line)
    path = tmp_path / "saved.smtp"
    path.write_text(render("script", Recording.from_session(session)))
    host, port = endpoints.smtp
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(path), "--target", f"{host}:{port}",
                           "--ca", endpoints.ca_path], env=repo_env(), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def test_message_a_script_cannot_hold_is_flagged(make_session):
    session = make_session()
    for line in ("connect", "ehlo", "mail a@example.org", "rcpt b@example.org"):
        session.execute(line)
    session.execute("data", body="Subject: x\r\n\r\n.\r\n")
    script = render("script", Recording.from_session(session))
    assert "# NOTE: the message holds a line with a single '.'" in script
    assert "\n# data\n" in script


def _jsonl(session) -> list[dict]:
    return read_jsonl(render("jsonl", Recording.from_session(session)))


def test_diff_of_two_runs_names_codes_extensions_and_recipients(make_session, endpoints):
    first = make_session()
    for line in ("connect", "ehlo", "mail a@example.org", "rcpt bob@example.org", "rcpt greylist@example.org", "quit"):
        first.execute(line)
    with FakeServer(esmtp(RCPT=b"550 5.1.1 no\r\n")) as server:
        second = make_session()
        second.execute(f"connect {server.target}")
        for line in ("ehlo", "mail a@example.org", "rcpt bob@example.org", "rcpt greylist@example.org", "quit"):
            second.execute(line)
        result = diff_records(_jsonl(first), _jsonl(second))
    text = "\n".join(result.lines)
    assert not result.same
    assert "RCPT TO:<bob@example.org>: A 250 2.1.5 OK | B 550 5.1.1 no" in text
    assert "STARTTLS advertised by A only" in text and "SIZE A '33554432' | B '1000000'" in text
    assert "recipient <bob@example.org> (transaction 1): A not sent | B permanent failure (550)" in text
    assert "<greeting>: A 220" not in text  # both 220: same code


def test_diff_of_a_run_with_itself_is_empty(make_session):
    session = make_session()
    for line in ("connect", "ehlo", "quit"):
        session.execute(line)
    records = _jsonl(session)
    assert diff_records(records, records).same


def test_diff_pairs_mail_and_rcpt_however_smtplib_spelled_them(make_session):
    """A run recorded with Python 3.11 (``mail FROM:``) against one from 3.13 (``mail from:``): the same dialogue."""
    session = make_session()
    for line in ("connect", "ehlo", "mail a@example.org", "rcpt bob@example.org", "quit"):
        session.execute(line)
    records = _jsonl(session)

    def respelled(record: dict) -> dict:
        if record.get("type") == "reply" and record.get("answers") in ("MAIL", "RCPT"):
            keyword, _, rest = record["argument"].partition(":")
            swapped = keyword.lower() if keyword.isupper() else keyword.upper()
            return dict(record, argument=f"{swapped}:{rest}")
        return record

    other = [respelled(r) for r in records]
    assert other != records
    assert diff_records(records, other).same


def test_diff_cli_exit_status(make_session, tmp_path):
    session = make_session()
    for line in ("connect", "ehlo", "quit"):
        session.execute(line)
    a = tmp_path / "a.jsonl"
    a.write_text(render("jsonl", Recording.from_session(session)))
    b = tmp_path / "b.jsonl"
    b.write_text(a.read_text().replace('"code":250', '"code":554'))
    run = lambda *args: subprocess.run([sys.executable, "-m", "smtpdbg", "diff", *args], env=repo_env(),
                                       capture_output=True, text=True, timeout=30)
    same = run(str(a), str(a))
    assert same.returncode == 0 and "no differences" in same.stdout
    differ = run(str(a), str(b))
    assert differ.returncode == 1 and "EHLO: A 250" in differ.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert run(str(a), str(bad)).returncode == 2
