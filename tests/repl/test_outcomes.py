"""The REPL reads the core's verdicts: reply markers from Reply events, recipients' fates from the ledger, the toolbar
from the state. Real sessions on the sandbox (SMTP and LMTP)."""

from __future__ import annotations

import io
import subprocess
import sys

from smtpdbg.repl.printer import TranscriptPrinter
from smtpdbg.repl.toolbar import state_fragments
from tests.conftest import repo_env

BODY = b"Subject: outcomes\r\n\r\nhi\r\n"


def printed(session, *commands: str, body: bytes = BODY, color: bool = False) -> str:
    out = io.StringIO()
    unsubscribe = session.subscribe(TranscriptPrinter(out, color))
    try:
        for command in commands:
            session.execute(command, body=body if command in ("data", "bdat") or command.startswith("sendmail") else None)
    finally:
        unsubscribe()
    return out.getvalue()


def toolbar_line(session) -> str:
    return "".join(text for _, text in state_fragments(session.state))


def test_after_data_on_lmtp_each_recipient_s_fate_is_printed(make_session, sandbox):
    session = make_session("lmtp")
    out = printed(session, "connect", "ehlo", "mail a@example.org", "rcpt bob@example.org", "rcpt carol@example.org",
                  "rcpt full@example.org", "data")
    assert "<-  250 2.0.0 <bob@example.org> delivered" in out
    assert "<** 452 4.2.2 <full@example.org> Mailbox full" in out
    tail = [line for line in out[out.index("<** 452 4.2.2 <full@example.org> Mailbox full"):].splitlines()
            if not line.startswith("   ↳ ")]  # the failed reply's meaning, in context
    assert tail[1:5] == [
        "=== transaction 1 (connection 1) from <a@example.org>: 2 accepted, 1 temporary failure: partly delivered",
        "===   <bob@example.org>: accepted at end of data (LMTP): 250 2.0.0 <bob@example.org> delivered",
        "===   <carol@example.org>: accepted at end of data (LMTP): 250 2.0.0 <carol@example.org> delivered",
        "===   <full@example.org>: temporary failure at end of data (LMTP): 452 4.2.2 <full@example.org> Mailbox full",
    ]
    assert out.count("=== transaction 1") == 1  # once, after the command: not once per reply
    assert toolbar_line(session).endswith("│ identified · last: partly delivered 2/3")
    assert [list(m.rcpt_tos) for m in sandbox.messages] == [["bob@example.org", "carol@example.org"]]


def test_a_sendmail_prints_the_outcome_with_the_recipient_refused_at_rcpt(make_session):
    session = make_session()
    out = printed(session, "connect", "ehlo", "sendmail a@example.org bob@example.org,reject@example.org")
    assert "===   <reject@example.org>: permanent failure at RCPT: 550 5.1.1" in out
    assert "===   <bob@example.org>: accepted at end of data: 250 2.0.0 OK: message accepted" in out


def test_commands_without_a_message_print_no_outcome_and_the_toolbar_counts_the_open_transaction(make_session):
    session = make_session()
    out = printed(session, "connect", "ehlo", "mail a@example.org", "rcpt bob@example.org",
                  "docmd RCPT TO:<reject@example.org>", "raw RCPT TO:<greylist@example.org>")
    assert "=== transaction" not in out
    assert "<** 550 5.1.1 <reject@example.org>" in out and "<** 451 4.7.1 Greylisted" in out
    assert toolbar_line(session).endswith("│ rcpt · 1 ok, 1 refused, 1 deferred")
    printed(session, "rset")
    assert toolbar_line(session).endswith("│ identified · last: abandoned 0/3")  # the ledger's word for it


def test_the_toolbar_drops_the_authentication_with_the_connection(make_session):
    session = make_session()
    session.execute("connect")
    session.execute("ehlo")
    session.execute("starttls")
    session.execute("ehlo")
    session.execute("auth PLAIN alice --password-env SANDBOX_PASSWORD")
    assert "alice (PLAIN)" in toolbar_line(session)
    session.execute("close")
    assert not session.state.connected
    line = toolbar_line(session)
    assert "alice" not in line and "no auth" in line


def test_piped_repl_on_lmtp_prints_the_fates(endpoints, sandbox):
    done = subprocess.run(
        [sys.executable, "-m", "smtpdbg", "repl", f"lmtp://{endpoints.lmtp}", "--timeout", "10"],
        input="ehlo\nmail a@example.org\nrcpt bob@example.org\nrcpt full@example.org\ndata\nSubject: x\n\nhi\n.\nquit\n",
        env=repo_env(), capture_output=True, text=True, timeout=60)
    assert "===   <full@example.org>: temporary failure at end of data (LMTP): 452 4.2.2" in done.stdout, done.stdout
    assert "===   <bob@example.org>: accepted at end of data (LMTP)" in done.stdout
    assert done.returncode != 0  # a deferred recipient is a failure, however it was sent


def test_an_unknown_outcome_is_printed_as_unknown_with_the_duplicate_warning():
    from smtpdbg.core import SessionOptions, Target
    from smtpdbg.core.session import Session
    from tests.servers import FakeServer, esmtp

    def drop(conn, line):  # the whole message and its final dot arrived; no reply, the connection goes
        conn.close()

    with FakeServer(esmtp(END=drop)) as server:
        session = Session(Target("smtp", server.host, server.port), SessionOptions(timeout=10))
        try:
            out = printed(session, "connect", "ehlo", "mail a@example.org", "rcpt bob@example.org", "data")
        finally:
            session.shutdown()
    assert "=== transaction 1 (connection 1) from <a@example.org>: 1 unknown: unknown" in out
    [line] = [line for line in out.splitlines() if line.startswith("===   <bob@example.org>")]
    assert "unknown after end of data" in line and line.endswith("a retry may deliver a duplicate")
    assert out.index("*** ") < out.index("=== transaction 1")  # after the failure, once the command ended
