"""Exports against the real sandbox: every format, the JSONL schema, the runnable Python
script, redaction and file permissions."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from smtpdbg.core.export import FORMATS, Recording, export, render
from smtpdbg.core.export.dialogue import analyze
from smtpdbg.core.export.jsonl import decode_bytes, load_schema, read_jsonl
from tests.conftest import repo_env
from tests.schema import schema_errors
from tests.smtplib_wire import shown, smtplib_line
from tests.servers import FakeServer, esmtp

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "Subject: export test\r\nFrom: alice@example.org\r\n\r\nHello Bob.\r\n.leading dot\r\n"


def _session_with_everything(make_session, transport: str = "smtp"):
    """connect, EHLO, STARTTLS, AUTH (password from the environment), a transaction with an
    accepted, a greylisted and a refused recipient, an AUTH payload typed by hand, QUIT."""
    session = make_session(transport)
    lines = ["connect", "ehlo"]
    if transport == "smtp":
        lines += ["starttls", "ehlo", "auth PLAIN alice --password-env SANDBOX_PASSWORD"]
    lines += ["mail alice@example.org", "rcpt bob@example.org", "rcpt greylist@example.org", "rcpt reject@example.org"]
    for line in lines:
        session.execute(line)
    assert session.execute("data", body=MESSAGE).code == 250
    session.execute("raw AUTH PLAIN " + base64.b64encode(b"\0alice\0wonderland").decode())
    session.execute("quit")
    return session


@pytest.fixture
def recorded(make_session):
    return _session_with_everything(make_session)


def test_dialogue_rebuilds_transactions_and_recipient_outcomes(recorded):
    dialogue = analyze(recorded.transcript.snapshot())
    assert len(dialogue.connections) == 1
    assert [t.mail_from for t in dialogue.transactions] == ["alice@example.org"]
    outcomes = {r.address: (r.fate.value, r.code) for r in dialogue.recipients}
    assert outcomes == {"bob@example.org": ("accepted", 250), "greylist@example.org": ("temporary failure", 451),
                        "reject@example.org": ("permanent failure", 550)}
    extensions = dialogue.connections[0].extensions
    assert "STARTTLS" in extensions[0] and "STARTTLS" not in extensions[1]
    assert dialogue.connections[0].tls and dialogue.connections[0].tls[0].verified


def test_lmtp_recipients_get_their_own_delivery_reply(make_session):
    session = _session_with_everything(make_session, "lmtp")
    dialogue = analyze(session.transcript.snapshot())
    transaction = dialogue.transactions[0]
    assert transaction.lmtp and len(transaction.final) == 1
    assert {r.address: r.fate.value for r in transaction.recipients}["bob@example.org"] == "accepted"


def test_text_export_is_swaks_notation_with_recipient_summary(recorded):
    text = render("text", Recording.from_session(recorded))
    assert "<-  220 sandbox.smtpdbg.test" in text
    assert " ~> AUTH PLAIN ********" in text
    assert "<~* 550 5.1.1" in text
    assert "<bob@example.org>: accepted at end of data: 250" in text
    assert "<greylist@example.org>: temporary failure at RCPT: 451" in text
    assert "\x1b" not in text


def test_jsonl_validates_against_its_schema_and_round_trips_bytes(recorded):
    text = render("jsonl", Recording.from_session(recorded))
    records = read_jsonl(text)
    assert schema_errors(records) == []
    assert records[0]["type"] == "header" and records[0]["version"] == 2
    assert records[-1]["type"] == "summary"
    kinds = {r["type"] for r in records}
    assert {"command", "command_end", "wire", "reply", "body", "info", "tls"} <= kinds
    sent = [decode_bytes(r) for r in records if r["type"] == "wire" and r["dir"] == "send"]
    assert smtplib_line("mail", "alice@example.org") in sent
    ehlo = [r for r in records if r["type"] == "reply" and r.get("extensions")]
    assert "STARTTLS" in ehlo[0]["extensions"]
    tls = next(r for r in records if r["type"] == "tls")
    assert tls["verified"] and tls["chain"][0]["fingerprint_sha256"]
    outcomes = {r["address"]: r["outcome"] for r in records[-1]["recipients"]}
    assert outcomes["reject@example.org"] == "permanent failure"
    assert all(r["tls"] for r in records if r["type"] == "wire" and r["dir"] == "send" and b"mail" in decode_bytes(r))


def test_schema_in_docs_is_the_packaged_one():
    assert json.loads((ROOT / "docs" / "jsonl-schema.json").read_text()) == load_schema()


def test_the_schema_forbids_what_it_should():
    def errors(record: dict) -> list[str]:
        return schema_errors([record])

    good = {"type": "info", "seq": 1, "time": "2024-01-01T00:00:00.000Z", "t": 0.0, "kind": "info", "text": "x",
            "peer": "", "local": ""}
    assert errors(good) == []
    assert errors(dict(good, kind="nonsense"))
    assert errors(dict(good, extra=1))
    assert errors({k: v for k, v in good.items() if k != "text"})
    wire = {"type": "wire", "seq": 2, "time": good["time"], "t": 0.1, "dir": "recv", "tls": False, "b64": "/w==",
            "redacted": False, "note": "", "pipelined": False, "code": None, "last": True}
    assert errors(wire) == []
    assert errors({k: v for k, v in wire.items() if k != "b64"})


def test_non_utf8_bytes_are_base64_in_jsonl(make_session):
    session = make_session()
    session.execute("connect")
    session.execute("raw NOOP \\xff\\xfe")
    records = read_jsonl(render("jsonl", Recording.from_session(session)))
    sent = [r for r in records if r["type"] == "wire" and r["dir"] == "send"]
    assert "b64" in sent[0] and decode_bytes(sent[0]) == b"NOOP \xff\xfe\r\n"
    assert schema_errors(records) == []


def test_python_export_runs_and_the_server_receives_the_same_message(recorded, sandbox, endpoints, tmp_path):
    first = sandbox.messages
    assert len(first) == 1
    script = tmp_path / "repro.py"
    export("python", Recording.from_session(recorded), str(script))
    source = script.read_text()
    assert "timeout=TIMEOUT" in source and "smtp.starttls, context=CONTEXT" in source
    assert "message('-> MESSAGE_1: the message as sent" in source and "smtp.getreply, after_dot=True)" in source
    assert "wonderland" not in source
    sandbox.clear_messages()
    env = dict(repo_env(), SMTP_CA=endpoints.ca_path, SMTP_PASSWORD=endpoints.password,
               SMTP_AUTH_1=base64.b64encode(b"\0alice\0wonderland").decode())
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    again = sandbox.messages
    assert len(again) == 1
    assert (again[0].mail_from, again[0].rcpt_tos, again[0].content, again[0].auth_user, again[0].tls) == \
           (first[0].mail_from, first[0].rcpt_tos, first[0].content, "alice", True)


def test_python_export_uses_docmd_where_smtplib_would_change_the_bytes(make_session, sandbox, endpoints, tmp_path):
    session = make_session()
    for line in ("connect", "docmd EHLO upper.example", "mail alice@example.org --verbatim", "docmd RCPT TO:<bob@example.org>",
                 "pipeline NOOP; NOOP", "rset", "quit"):
        session.execute(line)
    source = render("python", Recording.from_session(session))
    assert "smtp.docmd, 'EHLO', 'upper.example'" in source
    assert "smtp.docmd, 'mail', 'FROM:alice@example.org'" in source
    assert "-> 2 lines in one write" in source
    script = tmp_path / "raw.py"
    script.write_text(source)
    done = subprocess.run([sys.executable, str(script)], env=dict(repo_env(), SMTP_CA=endpoints.ca_path),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISMATCH" not in done.stderr


def test_python_export_reports_a_server_that_answers_differently(recorded, sandbox, endpoints, tmp_path):
    script = tmp_path / "repro.py"
    export("python", Recording.from_session(recorded), str(script))
    env = dict(repo_env(), SMTP_CA=endpoints.ca_path, SMTP_PASSWORD="wrong password",
               SMTP_AUTH_1=base64.b64encode(b"\0alice\0wonderland").decode())
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "MISMATCH" in done.stderr


def test_swaks_export_names_options_and_what_it_cannot_express(recorded):
    text = render("swaks", Recording.from_session(recorded))
    assert text.startswith("#!/bin/sh")
    for option in ("--server 127.0.0.1", "--tls", "--auth PLAIN", "--auth-user alice", '--auth-password "$SMTP_PASSWORD"',
                   "--from alice@example.org", "--to bob@example.org,greylist@example.org,reject@example.org",
                   "<<'SMTPDBG_MESSAGE' | swaks", "--no-data-fixup", "--data -"):
        assert option in text, option
    assert "What swaks cannot express" in text and "raw bytes" in text
    # the message as it went on the wire: swaks sends it unchanged (tests/core/test_export_swaks.py runs it)
    assert "\nHello Bob.\n..leading dot\n.\nSMTPDBG_MESSAGE\n" in text
    # the CA the session trusted goes along, so swaks verifies the same way
    assert f"--tls-verify \\\n  --tls-ca-path {recorded.options.ca}" in text


def test_html_export_escapes_server_text_and_colours_reply_classes(recorded):
    page = render("html", Recording.from_session(recorded))
    assert page.startswith("<!DOCTYPE html>")
    assert '<span class="r5 tls">&lt;~* 550 5.1.1 &lt;reject@example.org&gt;' in page
    assert '<span class="r4 tls">' in page and '<span class="send">' in page
    assert "<reject@example.org>" not in page


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_export_holds_the_password_or_its_base64(recorded, fmt, tmp_path):
    path = tmp_path / f"out.{fmt}"
    export(fmt, Recording.from_session(recorded), str(path))
    text = path.read_text()
    forbidden = ["wonderland", base64.b64encode(b"wonderland").decode(), base64.b64encode(b"\0alice\0wonderland").decode(),
                 base64.b64encode(b"alice\0alice\0wonderland").decode()]
    for secret in forbidden:
        assert secret not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_timeout_message_with_a_typed_payload_is_redacted():
    """An error message that quotes the command (repr) must lose the payload too."""
    from smtpdbg.core.events import CommandEnd, CommandStart, Direction, Error, Wire

    payload = base64.b64encode(b"\0bob\0hunter22").decode()
    text = f"raw AUTH PLAIN {payload}"
    events = [
        CommandStart(seq=1, mono=0.0, wall=0.0, command_id=1, text=text),
        Wire(seq=2, mono=0.1, wall=0.1, direction=Direction.SEND, data=b"AUTH PLAIN ********\r\n", redacted=True),
        Error(seq=3, mono=0.2, wall=0.2, category="timeout", message=f"timed out (command {text!r}, limit 1 s)"),
        CommandEnd(seq=4, mono=0.3, wall=0.3, command_id=1, text=text, ok=False, elapsed=1.0, category="timeout"),
    ]
    recording = Recording.from_events(events, target="smtp://x:25")
    for fmt in FORMATS:
        assert payload not in render(fmt, recording), fmt


def test_export_overwrites_an_existing_file_owner_only(tmp_path, recorded):
    path = tmp_path / "t.txt"
    path.write_text("old")
    os.chmod(path, 0o644)
    export("text", Recording.from_session(recorded), str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and "old" not in path.read_text()


def test_save_command_is_in_the_transcript_language(make_session, tmp_path):
    session = make_session()
    session.execute("connect")
    session.execute("ehlo")
    outcome = session.execute(f"save jsonl {tmp_path / 's.jsonl'}")
    assert outcome.ok, outcome
    records = read_jsonl((tmp_path / "s.jsonl").read_text())
    assert not any(r["type"] == "command" and r["text"].startswith("save") for r in records)
    assert session.execute(f"export python {tmp_path / 's.py'}").ok
    bad = session.execute(f"save pdf {tmp_path / 'x'}")
    assert not bad.ok and "script, text, jsonl" in bad.message
    unwritable = session.execute(f"save text {tmp_path / 'missing' / 'x.txt'}")
    assert not unwritable.ok and "cannot write" in unwritable.message


@pytest.mark.parametrize("transport", ["smtps", "lmtp"])
def test_python_export_reproduces_implicit_tls_and_lmtp(make_session, sandbox, endpoints, tmp_path, transport):
    session = make_session(transport)
    for line in ("connect", "ehlo", "mail alice@example.org", "rcpt bob@example.org", "rcpt carol@example.org"):
        session.execute(line)
    assert session.execute("data", body="Subject: t\r\n\r\nx\r\n").code == 250
    session.execute("quit")
    first = sandbox.messages
    source = render("python", Recording.from_session(session))
    assert ("smtplib.SMTP_SSL(" in source) if transport == "smtps" else ("smtplib.LMTP(" in source and "SOCKET" in source)
    script = tmp_path / "repro.py"
    script.write_text(source)
    sandbox.clear_messages()
    done = subprocess.run([sys.executable, str(script)], env=dict(repo_env(), SMTP_CA=endpoints.ca_path),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(m.rcpt_tos, m.content) for m in sandbox.messages] == [(m.rcpt_tos, m.content) for m in first]


def test_a_typed_payload_that_never_reached_the_wire_is_still_redacted(make_session):
    session = make_session()
    session.execute("raw AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")  # not connected: never reaches the wire
    session.execute("raw d29uZGVybGFuZHdvbmRlcmxhbmQ=")
    recording = Recording.from_session(session)
    for fmt in FORMATS:
        text = render(fmt, recording)
        assert "AGFsaWNlAHdvbmRlcmxhbmQ=" not in text and "d29uZGVybGFuZHdvbmRlcmxhbmQ=" not in text, fmt


# -- the Python export reproduces the outcome: the reply after the final dot, a drop, another code ------

PLAIN_SESSION = ("connect", "ehlo", "mail alice@example.org", "rcpt bob@example.org")


def _plain_recording(make_session) -> Recording:
    session = make_session()
    for line in PLAIN_SESSION:
        assert session.execute(line).ok
    assert session.execute("data", body=MESSAGE).code == 250
    session.execute("quit")
    return Recording.from_session(session)


def _replay(source: str, tmp_path, server: FakeServer | None = None, **env) -> subprocess.CompletedProcess:
    script = tmp_path / "repro.py"
    script.write_text(source)
    if server is not None:
        env.update(SMTP_HOST=server.host, SMTP_PORT=str(server.port))
    return subprocess.run([sys.executable, str(script)], env=dict(repo_env(), SMTP_TIMEOUT="5", **env),
                          capture_output=True, text=True, timeout=60)


def _drop(conn, line) -> None:
    conn.close()


def test_python_export_reports_a_drop_after_the_final_dot(make_session, tmp_path):
    source = render("python", _plain_recording(make_session))
    with FakeServer(esmtp(END=_drop)) as server:
        done = _replay(source, tmp_path, server)
        received = bytes(server.connections[0].received)
    assert b"Hello Bob.\r\n..leading dot\r\n.\r\n" in received  # the whole message went out before the drop
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MISMATCH at <- reply after the final dot (MESSAGE_1): the recorded session got 250, this run got no reply" \
        in done.stderr
    assert "UNKNOWN after <- reply after the final dot (MESSAGE_1): the message was sent but no reply came" in done.stderr
    assert "a retry may deliver a duplicate" in done.stderr


def test_python_export_of_a_dropped_session_reproduces_the_unknown_outcome(tmp_path, sandbox, endpoints):
    with FakeServer(esmtp(END=_drop)) as server:
        from smtpdbg.core import Session, SessionOptions, Target

        session = Session(Target("smtp", server.host, server.port), SessionOptions(timeout=5, local_hostname="c.test"))
        try:
            for line in PLAIN_SESSION:
                session.execute(line)
            assert session.execute("data", body=MESSAGE).category == "disconnected"
        finally:
            session.shutdown()
        source = render("python", Recording.from_session(session))
        assert "step(None, '<- reply after the final dot (MESSAGE_1)', smtp.getreply, after_dot=True)" in source
        again = _replay(source, tmp_path, server)
    assert again.returncode == 2, again.stdout + again.stderr
    assert "UNKNOWN after <- reply after the final dot" in again.stderr and "MISMATCH" not in again.stderr
    host, port = endpoints.smtp
    answered = _replay(source, tmp_path, SMTP_HOST=host, SMTP_PORT=str(port))
    assert answered.returncode == 1
    assert "MISMATCH at <- reply after the final dot (MESSAGE_1): the recorded session got no reply, this run got 250" \
        in answered.stderr
    assert len(sandbox.wait_for_messages(1)) == 1


@pytest.mark.parametrize("fault, which", [
    ({"RCPT": b"550 5.1.1 no such user\r\n"},
     f"MISMATCH at -> {shown('rcpt', 'bob@example.org')}: the recorded session got 250, this run got 550"),
    ({"END": b"451 4.3.0 try later\r\n"},
     "MISMATCH at <- reply after the final dot (MESSAGE_1): the recorded session got 250, this run got 451"),
    ({"DATA": lambda conn, line: conn.send(b"250 what body?\r\n")},
     "MISMATCH at -> data: the recorded session got 354, this run got 250"),
], ids=["rcpt-550", "end-451", "data-250"])
def test_python_export_names_the_reply_that_differs(make_session, tmp_path, fault, which):
    source = render("python", _plain_recording(make_session))
    with FakeServer(esmtp(**fault)) as server:
        done = _replay(source, tmp_path, server)
        received = bytes(server.connections[0].received)
    assert done.returncode == 1, done.stdout + done.stderr
    assert which in done.stderr.splitlines()
    if "DATA" in fault:  # no 354: the message lines must not reach the server as commands
        assert b"Hello Bob." not in received and b"quit\r\n" in received
        assert "(not sent: DATA got 250, not 354)" in done.stdout


def test_python_export_sends_bdat_chunks_as_recorded(make_session, sandbox, endpoints, tmp_path):
    session = make_session()
    for line in PLAIN_SESSION:
        session.execute(line)
    assert session.execute("bdat --chunk 16", body=MESSAGE).code == 250
    session.execute("quit")
    first = sandbox.wait_for_messages(1)
    source = render("python", Recording.from_session(session))
    assert "message('-> CHUNK_1: the BDAT chunk (16 bytes)', CHUNK_1, after_data=False)" in source
    sandbox.clear_messages()
    done = _replay(source, tmp_path, SMTP_CA=endpoints.ca_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [m.content for m in sandbox.wait_for_messages(1)] == [m.content for m in first] == [MESSAGE.encode()]


def _prdr_end(conn, line) -> None:
    conn.send(b"353 PRDR content analysis beginning\r\n250 2.0.0 OK for a\r\n550 5.7.1 refused for b\r\n"
              b"250 2.0.0 message accepted\r\n")


@pytest.mark.parametrize("replay, said", [
    ({}, "(not read: the server answered the message already: 250)"),
    ({"END": _drop}, "(not read: the connection is closed)"),
], ids=["no-prdr", "drop-after-dot"])
def test_python_export_of_a_prdr_session_replayed_elsewhere_reports_without_a_traceback(tmp_path, replay, said):
    from smtpdbg.core import Session, SessionOptions, Target

    prdr_ehlo = b"250-fake.test\r\n250-PIPELINING\r\n250-PRDR\r\n250 8BITMIME\r\n"
    with FakeServer(esmtp(EHLO=prdr_ehlo, END=_prdr_end)) as server:
        session = Session(Target("smtp", server.host, server.port), SessionOptions(timeout=5, local_hostname="c.test"))
        try:
            for line in ("connect", "ehlo", "mail a@x.test PRDR", "rcpt a@y.test", "rcpt b@y.test"):
                assert session.execute(line).ok, line
            session.execute("data", body=MESSAGE)
            session.execute("quit")
        finally:
            session.shutdown()
    source = render("python", Recording.from_session(session))
    assert "step(353, " in source
    with FakeServer(esmtp(**replay)) as server:
        done = _replay(source, tmp_path, server)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and said in done.stdout, done.stdout + done.stderr
    assert "the recorded session got 353, this run got" in done.stderr


def test_the_python_export_escapes_what_the_server_says_when_it_runs(tmp_path):
    from smtpdbg.core import Session, SessionOptions, Target

    hostile = esmtp(greeting=b"220 fake \x1b]0;TITLE\x07\x1b[2J\r\n", RCPT=b"550 5.1.1 no \x1b[6n\xe2\x80\xaeuser\xc2\x85x\r\n")
    with FakeServer(hostile) as server:
        session = Session(Target("smtp", server.host, server.port), SessionOptions(timeout=5, local_hostname="c.test"))
        try:
            for line in ("connect", "ehlo", "mail a@x.test", "rcpt b@y.test", "quit"):
                session.execute(line)
        finally:
            session.shutdown()
        source = render("python", Recording.from_session(session))
        done = _replay(source, tmp_path, server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [c for c in done.stdout if not c.isprintable() and c != "\n"], repr(done.stdout)
    assert "220 fake \\x1b]0;TITLE\\x07\\x1b[2J" in done.stdout
    assert "550 5.1.1 no \\x1b[6n\\u202euser\\x85x" in done.stdout
