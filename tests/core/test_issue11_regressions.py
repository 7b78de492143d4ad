"""One test per misreport listed at the top of issue 11, against the sandbox or a fake server (real sockets).

Each asserts what the core says now (the exchange model: Reply verdicts, the
ledger's fates, Outcome.stage) where smtpdbg once concluded something the wire
did not say. The explanation-in-context and stage-strip items are tested
elsewhere.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from smtpdbg.core import Session, SessionOptions, Target, parse_target
from smtpdbg.core.events import Body, Direction, Error, Info, InfoKind, Reply, Wire
from smtpdbg.core.catalog import explain_exchange
from smtpdbg.core.export import Recording, render
from smtpdbg.core.export.jsonl import read_jsonl
from smtpdbg.core.export.summary import summary_lines
from smtpdbg.core.lessons import Check
from smtpdbg.core.parser import parse
from smtpdbg.core.protocol import AUTH_RESPONSE, END_OF_DATA, Stage
from smtpdbg.core.render import TextRenderer
from smtpdbg.core.secrets import MASK
from smtpdbg.core.verdict import Fate, Verdict
from smtpdbg.runner import run_script
from smtpdbg.sandbox import Sandbox, SandboxConfig
from tests.schema import schema_errors
from tests.servers import Conn, FakeServer, esmtp

TIMEOUT = 5.0
MESSAGE = b"Subject: small\r\n\r\nhello there\r\n"


# -- helpers --------------------------------------------------------------------------------------------
def session_on(target: Target, ca: str | None = None, **environ: str) -> Session:
    return Session(target, SessionOptions(timeout=TIMEOUT, local_hostname="client.test", ca=ca), environ=environ)


def sandbox_target(sandbox: Sandbox) -> Target:
    return Target("smtp", *sandbox.endpoints.smtp, sandbox=True)


def run(target: Target, tmp_path, script: str, ca: str | None = None, timeout: float = TIMEOUT,
        **kwargs) -> tuple[int, str]:
    """``smtpdbg run`` on a script; returns the exit status and everything it printed."""
    (tmp_path / "small.txt").write_bytes(MESSAGE)
    path = tmp_path / "script.smtp"
    path.write_text(script.replace("@small", f"@{tmp_path / 'small.txt'}"))
    out = io.StringIO()
    status = run_script(str(path), target, SessionOptions(timeout=timeout, local_hostname="client.test", ca=ca),
                        out=out, color="never", **kwargs)
    return status, out.getvalue()


@contextmanager
def in_transaction(**replies) -> Iterator[Session]:
    """A session on a fake server (``esmtp(**replies)``), with MAIL a@x.test and RCPT b@y.test accepted."""
    with FakeServer(esmtp(**replies)) as server, session_on(parse_target(server.target)) as session:
        for command in ("connect", "ehlo", "mail a@x.test", "rcpt b@y.test"):
            assert session.execute(command).ok
        yield session


def transactions(session: Session) -> list:
    return Recording.from_session(session).dialogue.transactions


def summary(session: Session) -> str:
    return "\n".join(summary_lines(Recording.from_session(session).dialogue))


def fates(session: Session) -> list[tuple[str, str, str, int | None]]:
    return [(r.address, r.fate.value, r.decided_at, r.code) for t in transactions(session) for r in t.recipients]


def events(session: Session, cls, since: int = 0) -> list:
    return [e for e in session.transcript.snapshot()[since:] if isinstance(e, cls)]


def rendered(session: Session) -> str:
    renderer = TextRenderer()
    return "\n".join(line for event in session.transcript.snapshot() for line in renderer.render(event))


@pytest.fixture(scope="module")
def limited() -> Iterator[Sandbox]:
    """A sandbox that refuses messages over 100 bytes (552 5.3.4 to the BDAT chunk that crosses it)."""
    with Sandbox(SandboxConfig(data_size_limit=100, lmtp=False)) as sb:
        yield sb


@pytest.fixture(scope="module")
def xsandbox() -> Iterator[Sandbox]:
    """A sandbox that offers XCLIENT and XFORWARD, as Postfix does to a trusted client."""
    with Sandbox(SandboxConfig(xclient=True, lmtp=False)) as sb:
        yield sb


# -- bdat --chunk 3, then sendmail ---------------------------------------------------------------------
def test_bdat_in_chunks_then_the_summary_names_the_sender_and_the_last_chunks_reply(sandbox, endpoints, tmp_path):
    status, out = run(Target("smtp", *endpoints.smtp, sandbox=True), tmp_path,
                      "ehlo\nmail a@example.org\nrcpt b@example.org\nrcpt c@example.org\nbdat @small --chunk 3\nquit\n")
    assert status == 0, out
    assert "transaction 1 (connection 1) from <a@example.org>: 2 accepted" in out
    assert "<c@example.org>: accepted at BDAT LAST: 250 2.0.0" in out
    assert "(no MAIL FROM accepted)" not in out and "221" not in out.split("=== transaction")[1]
    [message] = sandbox.messages
    assert message.rcpt_tos == ("b@example.org", "c@example.org") and set(message.chunks[:-1]) == {3}


def test_sendmail_after_bdat_reports_each_recipient_by_its_own_reply(sandbox, endpoints, tmp_path):
    status, out = run(Target("smtp", *endpoints.smtp, sandbox=True), tmp_path,
                      "ehlo\nmail a@example.org\nrcpt b@example.org\nbdat @small --chunk 3\n"
                      "sendmail a@example.org b@example.org,c@example.org @small\nquit\n")
    assert status == 0, out
    transaction_2 = out.split("=== transaction 2")[1]
    assert "<b@example.org>: accepted at end of data: 250 2.0.0" in transaction_2
    assert "<c@example.org>: accepted at end of data: 250 2.0.0" in transaction_2
    assert "permanent failure" not in out and "354" not in transaction_2
    assert [m.rcpt_tos for m in sandbox.messages] == [("b@example.org",), ("b@example.org", "c@example.org")]


# -- a BDAT chunk refused with 552 (Exim refuses the chunk that crosses its size limit) -----------------
@pytest.mark.parametrize("chunk, where", [(60, "BDAT"), (100, "BDAT LAST")])
def test_a_chunk_refused_with_552_is_a_permanent_failure(limited: Sandbox, chunk: int, where: str):
    limited.clear_messages()
    with session_on(sandbox_target(limited)) as session:
        for command in ("connect", "ehlo", "mail a@example.org", "rcpt b@example.org", "rcpt c@example.org"):
            assert session.execute(command).ok
        outcome = session.execute(f"bdat --chunk {chunk}", body=b"x" * 150)
        assert not outcome.ok and outcome.code == 552 and outcome.stage == "data"
        assert fates(session) == [("b@example.org", "permanent failure", where, 552),
                                  ("c@example.org", "permanent failure", where, 552)]
        assert "accepted" not in summary(session).split(":", 1)[1]
        assert transactions(session)[0].status == "failed"
    assert limited.messages == []


# -- XFORWARD, then RCPT ---------------------------------------------------------------------------------
def test_after_xforward_each_reply_is_paired_with_its_own_command(xsandbox: Sandbox):
    with session_on(sandbox_target(xsandbox)) as session:
        for command in ("connect", "ehlo", "xforward ADDR=192.0.2.7 NAME=mail.example.net PROTO=ESMTP",
                        "mail a@example.org", "rcpt b@example.org"):
            assert session.execute(command).ok, command
        assert session.execute("data", body=MESSAGE).ok
        replies = [(r.command, r.code) for r in events(session, Reply)]
        assert replies[2:] == [("XFORWARD", 250), ("MAIL", 250), ("RCPT", 250), ("DATA", 354), (END_OF_DATA, 250)]
        [transaction] = transactions(session)
        [recipient] = transaction.recipients
        assert (recipient.rcpt_code, recipient.fate, recipient.code) == (250, Fate.ACCEPTED, 250)
        assert "221" not in summary(session)
    assert xsandbox.messages[-1].xforward[0] == ("ADDR", "192.0.2.7")


# -- PRDR (Exim): per-recipient replies after the final dot ----------------------------------------------
PRDR_EHLO = b"250-exim.test\r\n250-PIPELINING\r\n250-PRDR\r\n250 8BITMIME\r\n"


def _prdr_data(conn: Conn, line: bytes) -> None:
    conn.send(b"354 Enter message, ending with \".\" on a line by itself\r\n")
    conn.read_data()
    conn.send(b"353 PRDR content analysis beginning\r\n250 2.0.0 OK for a\r\n550 5.7.1 refused for b\r\n"
              b"250 2.0.0 message accepted\r\n")


def test_prdr_replies_are_paired_with_their_recipients_and_decide_each_fate():
    with FakeServer(esmtp(EHLO=PRDR_EHLO, DATA=_prdr_data)) as server, session_on(parse_target(server.target)) as session:
        for command in ("connect", "ehlo", "mail a@x.test PRDR", "rcpt a@y.test", "rcpt b@y.test"):
            assert session.execute(command).ok
        outcome = session.execute("data", body=MESSAGE)
        assert session.execute("noop").ok  # in step: nothing was left over
        final = [r for r in events(session, Reply) if r.command == END_OF_DATA]
        assert [(r.code, r.recipient, r.verdict) for r in final] == [
            (353, "", Verdict.OK), (250, "a@y.test", Verdict.OK), (550, "b@y.test", Verdict.PERMANENT), (250, "", Verdict.OK)]
        assert not [r for r in events(session, Reply) if r.unsolicited]
        assert fates(session) == [("a@y.test", "accepted", "end of data (PRDR)", 250),
                                  ("b@y.test", "permanent failure", "end of data (PRDR)", 550)]
        assert "353" not in summary(session)
        assert not outcome.ok and outcome.stage == "data"


# -- the final dot sent, no reply: unknown ---------------------------------------------------------------
@pytest.mark.parametrize("command, recipient, timeout", [
    ("data", "drop@example.org", None), ("bdat --chunk 7", "drop@example.org", None), ("data", "delay@example.org", 0.5),
])
def test_no_reply_after_the_whole_message_is_unknown_not_not_sent(sandbox, command, recipient, timeout):
    with session_on(sandbox_target(sandbox)) as session:
        for line in ("connect", "ehlo", "mail a@example.org", "rcpt b@example.org", f"rcpt {recipient}"):
            assert session.execute(line).ok
        outcome = session.execute(command, body=MESSAGE, timeout=timeout)
        assert not outcome.ok and outcome.stage == "data" and "unknown" in outcome.message
        assert [f[:2] for f in fates(session)] == [("b@example.org", "unknown"), (recipient, "unknown")]
        [transaction] = transactions(session)
        assert transaction.status == "unknown" and transaction.body_sent and not transaction.final
        assert "duplicate" in summary(session) and "not sent" not in summary(session)
        assert not session.state.connected
    [message] = sandbox.wait_for_messages(1)  # the sandbox did get the whole message
    assert message.rcpt_tos == ("b@example.org", recipient) and message.fault is not None


# -- DATA answered 250; a malformed reply after the dot -----------------------------------------------------
def test_data_answered_250_is_a_violation_neither_refused_nor_accepted():
    with in_transaction(DATA=lambda conn, line: conn.send(b"250 2.0.0 fine\r\n")) as session:
        outcome = session.execute("data", body=MESSAGE)
        assert not outcome.ok and outcome.category == "reply-violation" and outcome.stage == "data"
        assert "refused" not in outcome.message and "354" in outcome.message
        [reply] = [r for r in events(session, Reply) if r.command == "DATA"]
        assert reply.verdict is Verdict.VIOLATION
        [recipient] = transactions(session)[0].recipients
        assert recipient.fate is Fate.NOT_SENT and "instead of 354" in recipient.why
        text = summary(session)
        assert "accepted" not in text and "failure" not in text


# -- a refused DATA keeps the transaction: a later message delivers, its end without one decides -----------------
def test_bdat_last_after_a_refused_data_delivers_and_the_ledger_says_so(sandbox):
    """The sandbox keeps a BDAT transaction after ``503 DATA not allowed after BDAT``; BDAT LAST then delivers."""
    with session_on(sandbox_target(sandbox)) as session:
        for command in ("connect", "ehlo", "mail a@example.org", "rcpt b@example.org", "rcpt c@example.org"):
            assert session.execute(command).ok
        assert session.execute("bdat --no-last --chunk 8", body=b"Subject: s\r\n").ok
        refused = session.execute("data", body=MESSAGE)
        assert not refused.ok and refused.code == 503 and refused.stage == "data"
        current = session.state.transaction
        assert current is not None and [r.fate for r in current.recipients] == [Fate.PENDING, Fate.PENDING]
        assert [code for code, _, _ in current.data_refused] == [503]
        assert session.execute("bdat --chunk 8", body=b"\r\nhello\r\n").ok
        assert fates(session) == [("b@example.org", "accepted", "BDAT LAST", 250),
                                  ("c@example.org", "accepted", "BDAT LAST", 250)]
        assert transactions(session)[0].status == "delivered"
    [message] = sandbox.wait_for_messages(1)
    assert message.rcpt_tos == ("b@example.org", "c@example.org")


def _second_data_taken(conn: Conn, line: bytes) -> None:
    conn.datas = getattr(conn, "datas", 0) + 1
    if conn.datas == 1:
        conn.send(b"451 4.3.0 not now\r\n")
        return
    conn.send(b"354 go ahead\r\n")
    conn.read_data()
    conn.send(b"250 2.0.0 queued\r\n")


def test_a_second_data_after_a_refused_one_delivers():
    with in_transaction(DATA=_second_data_taken) as session:
        assert session.execute("data", body=MESSAGE).code == 451
        assert session.execute("data", body=MESSAGE).ok
        assert fates(session) == [("b@y.test", "accepted", "end of data", 250)]
        assert "accepted at end of data: 250 2.0.0 queued" in summary(session)
        records = read_jsonl(render("jsonl", Recording.from_session(session)))
    assert schema_errors(records) == []
    [transaction] = records[-1]["transactions"]
    [refusal] = transaction["data_refused"]
    assert (refusal["code"], transaction["status"]) == (451, "delivered")
    assert refusal["exchange"] in [r["exchange"] for r in records if r["type"] == "reply" and r["code"] == 451]


@pytest.mark.parametrize("ending", ["quit", "rset", "mail a@x.test"])
def test_a_refused_data_with_no_other_message_fails_the_run_at_data(tmp_path, ending):
    with FakeServer(esmtp(DATA=lambda conn, line: conn.send(b"554 5.7.1 no thanks\r\n"))) as server:
        status, out = run(parse_target(server.target), tmp_path,
                          f"ehlo\nmail a@x.test\nrcpt b@y.test\ndata @small\n{ending}\n" + "quit\n" * (ending != "quit"),
                          keep_going=True)
    assert status == 10, out
    assert "<b@y.test>: permanent failure at DATA: 554 5.7.1 no thanks" in out
    assert "transaction 1 (connection 1) from <a@x.test>: 1 permanent failure" in out
    assert "<-  221 " in out  # every line ran; only DATA failed, not the command that ended the transaction
    assert "FAILED line 4: data" in out and "line 5" not in out and "1 failed" in out


def _malformed_after_dot(conn: Conn, line: bytes) -> None:
    conn.send(b"354 go ahead\r\n")
    conn.read_data()
    conn.send(b"250-2.0.0 Ok\r\nqueued as 4ABC\r\n")


def test_a_malformed_continuation_after_the_dot_is_unknown_not_a_permanent_failure():
    with in_transaction(DATA=_malformed_after_dot) as session:
        outcome = session.execute("data", body=MESSAGE)
        assert not outcome.ok and outcome.stage == "data"
        [recipient] = transactions(session)[0].recipients
        assert recipient.fate is Fate.UNKNOWN
        text = summary(session)
        assert "permanent failure" not in text and "-1" not in text and "duplicate" in text


# -- a refused recipient exits 9 however it was sent ----------------------------------------------------------
@pytest.mark.parametrize("script", [
    "ehlo\nmail a@example.org\nrcpt reject@example.org\nquit\n",
    "ehlo\nsendmail a@example.org b@example.org,reject@example.org @small\nquit\n",
    "ehlo\npipeline MAIL FROM:<a@example.org>; RCPT TO:<reject@example.org>; RCPT TO:<b@example.org>; DATA\n"
    "data @small\nquit\n",
    "ehlo\nsendmail a@example.org reject@example.org @small\nquit\n",
    "ehlo\nsendmail a@example.org reject@example.org,greylist@example.org @small\nquit\n",
    "ehlo\nsend_message @small --from a@example.org --to reject@example.org\nquit\n",
], ids=["rcpt", "sendmail", "pipeline-354", "sendmail-every-recipient", "sendmail-550-451", "send_message-every"])
def test_a_refused_recipient_exits_9(endpoints, tmp_path, script):
    status, out = run(Target("smtp", *endpoints.smtp, sandbox=True), tmp_path, script)
    assert status == 9, out
    assert "[rcpt]" in out and "<reject@example.org>: permanent failure at RCPT: 550 5.1.1" in out


# -- starttls twice; sendmail first ------------------------------------------------------------------------
@pytest.mark.parametrize("commands", [["ehlo", "starttls", "ehlo"], ["ehlo", "starttls"]], ids=["ehlo-between", "at-once"])
def test_starttls_twice_is_not_sent(endpoints, commands):
    with session_on(Target("smtp", *endpoints.smtp, sandbox=True), ca=endpoints.ca_path) as session:
        for command in ["connect", *commands]:
            assert session.execute(command).ok, command
        since = len(session.transcript.snapshot())
        outcome = session.execute("starttls")
        assert not outcome.ok and outcome.message.startswith("not sent")
        sent = [e.data for e in events(session, Wire, since) if e.direction is Direction.SEND]
        assert not [line for line in sent if line.upper().startswith(b"STARTTLS")]
        assert not [e for e in events(session, Info) if "sent anyway" in e.text]
        assert session.state.tls is not None and session.state.connected


def test_sendmail_as_the_first_command_warns_nothing(sandbox, endpoints):
    with session_on(Target("smtp", *endpoints.smtp, sandbox=True)) as session:
        assert session.execute("connect").ok
        assert session.execute("sendmail a@example.org b@example.org", body=MESSAGE).ok
        assert [e.text for e in events(session, Info) if e.kind is InfoKind.WARNING] == []
        assert [r.command for r in events(session, Reply)] == ["<greeting>", "EHLO", "MAIL", "RCPT", "DATA", END_OF_DATA]
    assert len(sandbox.messages) == 1


# -- the AUTH mechanism is recorded on 235 only ------------------------------------------------------------------
def test_a_refused_auth_does_not_change_the_mechanism(endpoints):
    with session_on(Target("smtp", *endpoints.smtp, sandbox=True), PASSWORD=endpoints.password, WRONG="nope") as session:
        for command in ("connect", "ehlo", "auth PLAIN alice --password-env PASSWORD"):
            assert session.execute(command).ok
        refused = session.execute("auth LOGIN alice --password-env WRONG")
        assert not refused.ok
        assert (session.state.auth_user, session.state.auth_mechanism) == ("alice", "PLAIN")
        since = len(session.transcript.snapshot())
        session.execute("show")
        shown = " | ".join(e.text for e in events(session, Info, since))
        assert "via PLAIN" in shown and "via LOGIN" not in shown
        assert Check((("mechanism", "LOGIN"),)).failure("auth LOGIN alice", refused, session.state) is not None


def test_a_lesson_check_for_login_fails_on_a_refusal(endpoints):
    with session_on(Target("smtp", *endpoints.smtp, sandbox=True), WRONG="nope") as session:
        for command in ("connect", "ehlo"):
            assert session.execute(command).ok
        refused = session.execute("auth LOGIN alice --password-env WRONG")
        assert not refused.ok and refused.code == 535
        assert not session.state.authenticated and session.state.auth_mechanism is None
        for check in ((("mechanism", "LOGIN"),), (("authenticated", True),)):
            assert Check(check).failure("auth LOGIN alice", refused, session.state) is not None


# -- 421: not connected, and the next command says reconnect ---------------------------------------------------
@pytest.mark.parametrize("server, commands", [
    (esmtp(greeting=b"421 4.3.2 too busy, try later\r\n"), ["connect"]),
    (esmtp(MAIL=b"421 4.3.2 shutting down\r\n"), ["connect", "ehlo", "mail a@x.test"]),
], ids=["greeting", "mid-session"])
def test_after_421_the_session_is_not_connected_and_says_reconnect(server, commands):
    with FakeServer(server) as fake, session_on(parse_target(fake.target)) as session:
        outcomes = [session.execute(command) for command in commands]
        assert outcomes[-1].code == 421 and not outcomes[-1].connected and "reconnect" in outcomes[-1].message
        assert not session.state.connected and session.state.stage is Stage.DISCONNECTED
        since = len(session.transcript.snapshot())
        nxt = session.execute("rcpt b@y.test")
        assert not nxt.ok and nxt.category == "not-connected" and not nxt.sent and "reconnect" in nxt.message
        assert not [e for e in events(session, Wire, since) if e.direction is Direction.SEND]
        said = rendered(session) + " ".join(o.message for o in outcomes + [nxt])
        assert "may succeed" not in said


# -- after an AUTH that ended abnormally, commands are themselves again ---------------------------------------------
AUTH_EHLO = b"250-fake.test\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n"


@pytest.mark.parametrize("server", [
    esmtp(EHLO=AUTH_EHLO, AUTH=b"334 \r\n", **{"*": b"334 \r\n"}),  # endless 334s (smtplib: "infinite loop")
    esmtp(EHLO=AUTH_EHLO, AUTH=b"334 !!!not-base64!!!\r\n", **{"*": b"250 2.0.0 ok\r\n"}),
], ids=["endless-334", "bad-base64"])
def test_after_an_abnormal_auth_the_next_commands_are_not_auth_responses(server):
    with FakeServer(server) as fake, session_on(parse_target(fake.target)) as session:
        for command in ("connect", "ehlo"):
            assert session.execute(command).ok
        auth = session.execute("auth LOGIN alice", secret="pw")
        assert not auth.ok
        since = len(session.transcript.snapshot())
        outcomes = [session.execute(c, body=MESSAGE) for c in ("mail a@x.test", "rcpt b@y.test", "data", "quit")]
        sent = [e for e in events(session, Wire, since) if e.direction is Direction.SEND]
        assert [e.data.split(b" ")[0].rstrip(b"\r\n").upper() for e in sent][:3] == [b"MAIL", b"RCPT", b"DATA"]
        assert not [e for e in sent if e.redacted or MASK in e.data]
        commands = [r.command for r in events(session, Reply, since)]
        assert AUTH_RESPONSE not in commands and commands[:2] == ["MAIL", "RCPT"]
        assert not [o for o in outcomes if o.ok and o.code == 334]
        assert not [e for e in events(session, Error) if "pw" in e.message]


# -- 552 at RCPT is temporary (RFC 5321 §4.5.3.1.10) ------------------------------------------------------
def test_a_552_to_rcpt_is_a_temporary_failure_in_the_ledger_as_in_its_explanation():
    def rcpt(conn: Conn, line: bytes) -> None:
        conn.send(b"552 5.2.2 mailbox full\r\n" if b"full@" in line else b"250 2.1.5 OK\r\n")

    with FakeServer(esmtp(RCPT=rcpt)) as server, session_on(parse_target(server.target)) as session:
        for command in ("connect", "ehlo", "mail a@x.test", "rcpt full@y.test", "rcpt b@y.test", "data"):
            session.execute(command, body=MESSAGE) if command == "data" else session.execute(command)
        refused = [e for e in events(session, Reply) if e.code == 552]
        assert len(refused) == 1 and refused[0].verdict is Verdict.TEMPORARY
        assert fates(session) == [("full@y.test", "temporary failure", "RCPT", 552),
                                  ("b@y.test", "accepted", "end of data", 250)]
        text = summary(session)
        assert "<full@y.test>: temporary failure at RCPT: 552 5.2.2" in text and "§4.5.3.1.10" in text
        assert "permanent" not in text


def test_a_rcpt_refused_for_want_of_mail_makes_no_phantom_transaction(sandbox: Sandbox, tmp_path):
    """503 "need MAIL" is a sequence error, not a recipient's fate: no transaction appears in the ledger or the
    summary; the run still fails at the RCPT it sent."""
    status, out = run(sandbox_target(sandbox), tmp_path, "ehlo\nrcpt reject@example.org\nquit\n")
    assert status == 9 and "=== transaction" not in out and "<reject@example.org>: permanent failure" not in out
    assert "FAILED line 2: rcpt reject@example.org" in out and "503" in out


# -- the end of a run inside message text; a QUIT that times out (audit F2, F3) ----------------------------------
@pytest.mark.parametrize("script, status", [
    ("ehlo\nmail a@example.org\nrcpt b@example.org\nraw DATA\n", 0),
    ("ehlo\npipeline MAIL FROM:<a@example.org>; RCPT TO:<reject@example.org>; RCPT TO:<b@example.org>; DATA\nquit\n", 9),
], ids=["raw-data", "pipeline-stops"])
def test_a_run_that_ends_inside_message_text_closes_without_sending_quit_as_text(sandbox, endpoints, tmp_path,
                                                                                  script, status):
    code, out = run(Target("smtp", *endpoints.smtp, sandbox=True), tmp_path, script)
    assert code == status, out
    after = out.split("<-  354", 1)[1]
    assert " -> quit" not in after and "timed out" not in after
    assert "closed without QUIT" in after and "connection closed" in after
    assert "<b@example.org>: not sent" in out
    assert sandbox.messages == []


def test_quit_typed_inside_message_text_is_flagged_like_any_command(endpoints):
    with session_on(Target("smtp", *endpoints.smtp, sandbox=True)) as session:
        for command in ("connect", "ehlo", "mail a@example.org", "rcpt b@example.org", "raw DATA"):
            assert session.execute(command).ok, command
        assert session.state.stage is Stage.DATA
        since = len(session.transcript.snapshot())
        session.execute("quit", timeout=0.5)
        warned = [e for e in events(session, Info, since) if e.rule == "RFC 5321 §4.1.1.4"]
        assert len(warned) == 1 and "what quit sends becomes part of the message" in warned[0].text


def test_a_quit_at_the_end_of_the_run_that_times_out_fails_the_run(tmp_path):
    with FakeServer(esmtp(QUIT=lambda conn, line: conn.hang(10))) as fake:
        status, out = run(parse_target(fake.target), tmp_path, "ehlo\nnoop\n", timeout=0.5)
    assert status == 11, out
    assert "FAILED (quit at the end of the run)  [command] timed out" in out and ": ok" not in out


# -- a late reply's failure belongs to the line that sent the exchange (audit F7) -------------------------------
@pytest.mark.parametrize("reader", ["quit", "drain 2", "noop"])
def test_a_late_refusal_is_the_failure_of_the_line_that_sent_the_rcpt(tmp_path, reader):
    script = f"ehlo\nraw MAIL FROM:<a@b.c>\\r\\nRCPT TO:<x@b.c>\n{reader}\n"
    with FakeServer(esmtp(RCPT=b"550 5.1.1 no such user\r\n")) as fake:
        status, out = run(parse_target(fake.target), tmp_path, script, keep_going=True)
    assert status == 9, out
    failed = [line for line in out.splitlines() if line.startswith("=== FAILED")]
    assert len(failed) == 1 and failed[0].startswith("=== FAILED line 2: raw MAIL FROM:<a@b.c>"), out
    assert "[rcpt] <x@b.c>: permanent failure at RCPT: 550 5.1.1 no such user" in failed[0]


def test_the_outcome_of_the_command_that_read_a_late_refusal_names_the_sender():
    with FakeServer(esmtp(RCPT=b"550 5.1.1 no such user\r\n")) as fake, session_on(parse_target(fake.target)) as session:
        for command in ("connect", "ehlo"):
            assert session.execute(command).ok
        sender = session.execute("raw MAIL FROM:<a@b.c>\\r\\nRCPT TO:<x@b.c>")
        assert sender.code == 250 and sender.command_id
        reader = session.execute("noop")
        assert reader.ok and reader.code == 250, reader
        [(command_id, failure)] = reader.late
        assert command_id == sender.command_id
        assert (failure.ok, failure.stage, failure.category) == (False, "rcpt", "recipient-refused")
        assert "<x@b.c>" in failure.message


# -- no password is asked for a login that cannot be sent (audit F8) ------------------------------------------
def test_login_after_the_connection_is_gone_says_not_connected_before_asking_a_password(tmp_path):
    with FakeServer(esmtp(EHLO=lambda conn, line: conn.close())) as fake:
        with session_on(parse_target(fake.target)) as session:
            assert session.execute("connect").ok and not session.execute("ehlo").ok
            assert not session.state.connected
            for line in ("login alice", "auth PLAIN alice"):
                needs = session.needs(parse(line))
                assert needs.offline and not needs.ask_password
        status, out = run(parse_target(fake.target), tmp_path, "ehlo\nlogin alice\n", keep_going=True)
    assert status == 5, out
    assert "FAILED line 2: login alice  [command] not sent: not connected" in out and "password" not in out


# -- a pipelined RSET ends the transaction for the rules too (audit F10) --------------------------------------
@pytest.mark.parametrize("commands", [
    ["mail a@example.org", "rcpt b@example.org", "pipeline RSET; MAIL FROM:<c@example.org>; RCPT TO:<d@example.org>"],
    ["pipeline MAIL FROM:<a@example.org>; RCPT TO:<b@example.org>; RSET; MAIL FROM:<c@example.org>"],
], ids=["rset-first", "rset-between"])
def test_a_mail_right_after_a_pipelined_rset_breaks_no_rule(endpoints, commands):
    with session_on(Target("smtp", *endpoints.smtp, sandbox=True)) as session:
        for command in ["connect", "ehlo", *commands]:
            assert session.execute(command).ok, command
        assert [e.text for e in events(session, Info) if e.rule] == []
        assert [r.code for r in events(session, Reply)][-1] == 250


def test_a_mail_pipelined_inside_a_transaction_is_still_flagged(endpoints):
    with session_on(Target("smtp", *endpoints.smtp, sandbox=True)) as session:
        for command in ("connect", "ehlo", "pipeline MAIL FROM:<a@example.org>; RCPT TO:<b@example.org>; MAIL FROM:<c@x.org>"):
            session.execute(command)
        assert [e.rule for e in events(session, Info) if e.rule] == ["RFC 5321 §4.1.1.2"]


# -- a command not sent because the server had closed is not a refusal of its stage (audit F12) ----------------
def _accept_then_421(conn: Conn, line: bytes) -> None:
    conn.send(b"250 2.0.0 queued\r\n421 4.3.0 bye now\r\n")
    conn.close()


@pytest.mark.parametrize("next_line", ["rcpt c@y.test", "mail a@x.test", "noop\nrcpt c@y.test"])
def test_a_command_after_the_server_closed_with_421_is_not_sent_and_exits_11(tmp_path, next_line):
    script = f"ehlo\nmail a@x.test\nrcpt b@y.test\ndata @small\n{next_line}\nquit\n"
    with FakeServer(esmtp(END=_accept_then_421)) as fake:
        status, out = run(parse_target(fake.target), tmp_path, script)
    assert status == 11, out
    [failed] = [line for line in out.splitlines() if line.startswith("=== FAILED")]
    assert failed.startswith("=== FAILED line 5: ") and "[command] not sent: " in failed, failed
    assert "421 (4.3.0 bye now)" in failed


# -- bdat after the connection is gone: not connected (audit F16) -------------------------------------------------
@pytest.mark.parametrize("command", ["bdat @small", "bdat @small --no-last", "bdat @small --chunk 5"])
def test_bdat_after_the_connection_is_gone_is_not_sent(tmp_path, command):
    script = f"ehlo\nmail a@x.test\nrcpt b@y.test\nnoop\n{command}\n"
    with FakeServer(esmtp(NOOP=lambda conn, line: conn.close())) as fake:
        status, out = run(parse_target(fake.target), tmp_path, script, keep_going=True)
    failed = [line for line in out.splitlines() if line.startswith("=== FAILED")]
    assert failed[-1].startswith("=== FAILED line 5: bdat @") and "[command] not sent: not connected" in failed[-1], out
    assert "AttributeError" not in out and "unexpected AttributeError" not in out


# -- a reply without a code is quoted once, escaped once (audit F18) -------------------------------------------
def test_a_reply_without_a_code_is_quoted_with_its_escapes_not_escaped_twice(tmp_path):
    with FakeServer(esmtp(EHLO=b"250-x\x1b[2J\r\n2500 weird\r\n")) as fake:
        status, out = run(parse_target(fake.target), tmp_path, "ehlo\n")
    [failed] = [line for line in out.splitlines() if line.startswith("=== FAILED")]
    assert status == 5 and failed.endswith("has no reply code: 'x\\x1b[2J\\n2500 weird'"), failed
    assert "\x1b" not in out


# -- a BDAT chunk sent with raw is chunk data, not lines (audit F17) --------------------------------------------
def test_a_raw_bdat_chunk_is_data_and_the_crlf_after_it_is_a_line_of_its_own(sandbox, endpoints):
    with session_on(Target("smtp", *endpoints.smtp, sandbox=True)) as session:
        for command in ("connect", "ehlo", "mail a@example.org", "rcpt b@example.org"):
            assert session.execute(command).ok
        since = len(session.transcript.snapshot())
        bdat = session.execute("raw BDAT 3 LAST\\r\\nabc")
        assert bdat.code == 250
        mail = session.execute("raw MAIL FROM:<a@example.org>")
        sent = [e.data for e in events(session, Wire, since) if e.direction is Direction.SEND]
        assert sent == [b"BDAT 3 LAST\r\n", b"\r\n", b"MAIL FROM:<a@example.org>\r\n"]
        [body] = events(session, Body, since)
        assert body.size == 3
        assert [(r.command, r.code) for r in events(session, Reply, since)] == [("BDAT", 250), ("", 500), ("MAIL", 250)]
        assert [e.rule for e in events(session, Info, since) if e.rule] == ["RFC 3030 §2"]
        assert mail.code == 250
    assert sandbox.wait_for_messages(1)[0].content.endswith(b"abc")


# -- a multi-line reply whose code changes inside it: a violation, no fabricated code pair, no confident fate -------
@pytest.mark.parametrize("verb, reply, where", [
    ("END", b"250-2.0.0 ok\r\n550 5.7.1 no\r\n", "end of data"),
    ("RCPT", b"250-2.1.5 ok\r\n550 5.1.1 no\r\n", "RCPT"),
])
def test_a_reply_whose_code_changes_inside_it_is_a_violation_with_an_unknown_outcome(verb, reply, where):
    replies = {verb: reply} if verb == "END" else {"RCPT": lambda conn, line: conn.send(
        reply if b"c@" in line else b"250 2.1.5 ok\r\n")}
    with FakeServer(esmtp(**replies)) as server, session_on(parse_target(server.target)) as session:
        for command in ("connect", "ehlo", "mail a@x.test", "rcpt b@y.test", "rcpt c@y.test"):
            session.execute(command)
        outcome = session.execute("data", body=MESSAGE)
        [mixed] = [r for r in events(session, Reply) if r.code == 550]
        assert mixed.verdict is Verdict.VIOLATION and "changed from 250 to 550" in mixed.violation
        assert mixed.enhanced != "2.0.0" and mixed.enhanced != "2.1.5"
        [warning] = [e for e in events(session, Info) if "changed from 250 to 550" in e.text]
        assert warning.rule == "RFC 5321 §4.2.1"
        recipient = transactions(session)[0].recipients[-1]
        assert (recipient.fate, recipient.decided_at) == (Fate.UNKNOWN, where)
        assert recipient.enhanced in (None, "5.1.1", "5.7.1")
        explained = explain_exchange(mixed)
        assert explained.outcome == "protocol violation" and explained.enhanced in (None, "5.1.1", "5.7.1")
        said = summary(session) + rendered(session) + outcome.message + "\n".join(explained.lines())
        assert "550 2.0.0" not in said and "550 2.1.5" not in said and "permanent failure" not in said


@pytest.mark.parametrize("separator", ["\u0085", "\u2028"])
def test_server_text_after_a_unicode_line_separator_is_kept_in_the_recipient_outcome(tmp_path, separator):
    said = f"550 5.1.1 no such user{separator}tail\r\n".encode()
    with FakeServer(esmtp(RCPT=said, MAIL=f"250 2.1.0 ok{separator}tail\r\n".encode())) as server:
        status, out = run(parse_target(server.target), tmp_path, "ehlo\nmail a@x.test\nrcpt b@y.test\nquit\n",
                          keep_going=True)
        with session_on(parse_target(server.target)) as session:
            for command in ("connect", "ehlo", "mail a@x.test", "rcpt b@y.test"):
                session.execute(command)
            [recipient] = transactions(session)[0].recipients
    assert status == 9, out
    assert recipient.reply == f"550 5.1.1 no such user{separator}tail" and recipient.enhanced == "5.1.1"
    [line] = [line for line in out.splitlines() if line.startswith("===   <b@y.test>")]
    assert line.endswith("tail"), line  # (escaped: no raw separator reaches the terminal)
    assert separator not in out


def test_a_refusal_and_a_421_keep_their_text_after_a_unicode_line_separator():
    with FakeServer(esmtp(MAIL=b"550 5.7.1 not you\xc2\x85tail\r\n", RSET=b"421 4.3.2 bye\xe2\x80\xa8tail\r\n")) as server, \
            session_on(parse_target(server.target)) as session:
        for command in ("connect", "ehlo", "mail a@x.test", "rset"):
            session.execute(command)
        [transaction] = transactions(session)
        assert "(550 5.7.1 not you\x85tail)" in transaction.lines()[0]
        nxt = session.execute("noop")
        assert not nxt.sent and "bye\u2028tail" in nxt.message, nxt


@pytest.mark.parametrize("reply, shown", [(b"099 what\r\n", "099"), (b"600 what\r\n", "600")])
def test_a_code_outside_2xx_5xx_at_mail_is_shown_as_sent_and_not_called_a_refusal(tmp_path, reply, shown):
    with FakeServer(esmtp(MAIL=reply)) as server:
        status, out = run(parse_target(server.target), tmp_path, "ehlo\nmail a@x.test\nquit\n", keep_going=True)
    assert status == 8, out
    assert f"{shown} is not a valid reply code" in out and f"↳ {shown} at MAIL" in out
    assert f"not accepted at MAIL ({shown} what: not a valid SMTP reply)" in out
    assert " 99 " not in out and "refused at MAIL" not in out


def _starttls_then_plaintext_after_a_while(conn: Conn, line: bytes) -> None:
    """220 to STARTTLS, then (after a network's delay) a plaintext 421 in answer to the ClientHello."""
    conn.send(b"220 2.0.0 ready\r\n")
    conn.sock.settimeout(5)
    conn.sock.recv(65536)  # the ClientHello
    conn.closed.wait(0.3)
    conn.send(b"421 4.7.0 TLS not available due to local problem\r\n")
    conn.hang()


def test_a_421_answering_the_tls_handshake_is_shown_as_the_421_it_is():
    """The TLS layer takes the first 5 bytes (``421 4``) as a record header; they were peeked at before it did."""
    from tests.hostile.test_hostile_core import TLS_EHLO

    with FakeServer(esmtp(EHLO=TLS_EHLO, STARTTLS=_starttls_then_plaintext_after_a_while)) as server, \
            session_on(parse_target(server.target)) as session:
        for command in ("connect", "ehlo"):
            assert session.execute(command).ok
        outcome = session.execute("starttls")
        assert not outcome.ok and outcome.category == "tls-plaintext" and outcome.stage == "tls"
        assert "(421 4.7.0 TLS not available due to local problem): an SMTP reply" in outcome.message, outcome
        received = [e.data for e in events(session, Wire) if e.direction is Direction.RECV]
        assert received[-1] == b"421 4.7.0 TLS not available due to local problem\r\n"


def test_a_connection_lost_after_the_final_dot_of_sendmail_is_not_blamed_on_mail(endpoints, tmp_path):
    status, out = run(Target("smtp", *endpoints.smtp, sandbox=True), tmp_path,
                      "ehlo\nsendmail a@example.org drop@example.org,b@example.org @small\nquit\n")
    assert status == 10, out
    failed = next(line for line in out.splitlines() if line.startswith("=== FAILED line 2"))
    assert "during MAIL" not in failed and "after the final dot" in failed and "unknown" in failed, failed
