"""Hand-over files carry the ledger: a saved script replays to the same per-recipient ledger,
and the text and HTML exports show every recipient's fate (unknown included), escaped."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.export import Recording, render
from smtpdbg.core.export.jsonl import read_jsonl
from smtpdbg.core.export.summary import recipient_records, transaction_records
from smtpdbg.core.render import safe_text
from tests.conftest import repo_env
from tests.servers import FakeServer, esmtp

MESSAGE = "Subject: ledger\r\n\r\nhello\r\n.leading dot\r\n"


def test_the_script_export_replays_to_the_same_ledger(make_session, sandbox, endpoints, tmp_path):
    session = make_session()
    for line in ("connect", "ehlo", "mail alice@example.org", "rcpt reject@example.org", "rcpt bob@example.org"):
        session.execute(line)
    assert session.execute("data", body=MESSAGE).code == 250
    for line in ("mail alice@example.org", "rcpt bob@example.org", "rcpt greylist@example.org", "rcpt carol@example.org"):
        session.execute(line)
    assert session.execute("bdat --chunk 9", body=MESSAGE).code == 250
    session.execute("quit")
    original = Recording.from_session(session)
    delivered = [(m.rcpt_tos, m.content, m.chunks) for m in sandbox.wait_for_messages(2)]
    ledger = recipient_records(original.dialogue)
    assert {(r["address"], r["outcome"], r["decided_at"]) for r in ledger} == {
        ("reject@example.org", "permanent failure", "RCPT"), ("bob@example.org", "accepted", "end of data"),
        ("bob@example.org", "accepted", "BDAT LAST"), ("greylist@example.org", "temporary failure", "RCPT"),
        ("carol@example.org", "accepted", "BDAT LAST")}

    script = tmp_path / "replay.smtp"
    script.write_text(render("script", original))
    replayed = tmp_path / "replay.jsonl"
    sandbox.clear_messages()
    host, port = endpoints.smtp
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), "--target", f"{host}:{port}",
                           "--ca", endpoints.ca_path, "--local-hostname", "client.smtpdbg.test", "--timeout", "10",
                           "--export", "jsonl", "--output", str(replayed)],
                          env=repo_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = read_jsonl(replayed.read_text())[-1]
    assert summary["recipients"] == json.loads(json.dumps(ledger))
    assert summary["transactions"] == json.loads(json.dumps(transaction_records(original.dialogue)))
    assert [(m.rcpt_tos, m.content, m.chunks) for m in sandbox.wait_for_messages(2)] == delivered


def _hostile_rcpt(conn, line: bytes) -> None:
    if b"evil@" in line:
        conn.send(b"550 5.1.1 <evil@example.org> \x1b[2J<b>gone</b>\r\n")
    elif b"later@" in line:
        conn.send(b"451 4.7.1 try <later>\r\n")
    else:
        conn.send(b"250 2.1.5 OK\r\n")


def test_text_and_html_exports_show_every_fate_escaped():
    with FakeServer(esmtp(RCPT=_hostile_rcpt, END=lambda conn, line: conn.close())) as server:
        session = Session(Target("smtp", server.host, server.port), SessionOptions(timeout=5, local_hostname="c.test"))
        try:
            for line in ("connect", "ehlo", "mail alice@example.org", "rcpt evil@example.org", "rcpt later@example.org",
                         "rcpt bob@example.org"):
                session.execute(line)
            session.execute("data", body=MESSAGE)
        finally:
            session.shutdown()
    recording = Recording.from_session(session)
    fates = {r.address: r.fate.value for r in recording.dialogue.recipients}
    assert fates == {"evil@example.org": "permanent failure", "later@example.org": "temporary failure",
                     "bob@example.org": "unknown"}
    expected = [safe_text(line) for t in recording.dialogue.transactions for line in t.lines()]
    assert "\\x1b[2J<b>gone</b>" in expected[1] and "a retry may deliver a duplicate" in expected[3]

    text = render("text", recording)
    assert "\x1b" not in text
    summary = text.split("=== summary\n", 1)[1].splitlines()
    assert summary == ["=== " + line for line in expected]

    page = render("html", recording)
    assert "\x1b" not in page and "<b>gone</b>" not in page
    for line in expected:
        assert f'<span class="summary">=== {html.escape(line)}</span>' in page


def test_the_documented_ledger_snippet_reads_an_export(make_session, tmp_path):
    """docs/jsonl-schema.md shows how to read the verdicts; it must work on a real export."""
    session = make_session()
    for line in ("connect", "ehlo", "mail alice@example.org", "rcpt reject@example.org", "rcpt bob@example.org"):
        session.execute(line)
    session.execute("data", body=MESSAGE)
    (tmp_path / "session.jsonl").write_text(render("jsonl", Recording.from_session(session)))
    doc = (Path(__file__).resolve().parents[2] / "docs" / "jsonl-schema.md").read_text()
    section = doc.split("## The exchange model and the ledger", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run([sys.executable, "-c", snippet + "print(len(unknown), len(no_reply))"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "<reject@example.org>: permanent failure at RCPT (550) ",
        "<bob@example.org>: accepted at end of data (250) ",
        "0 0"]
