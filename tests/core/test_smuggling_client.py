"""What the client side shows of SMTP smuggling and pipelining: bare LFs it sends are marked, only CRLF.CRLF ends
a message it sends, the replies a lax server gives to smuggled commands are unsolicited, a pipelined group is not
judged out of order, and reconnecting works after the server hung up on a confused session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.events import Info, InfoKind
from smtpdbg.sandbox import Sandbox, SandboxConfig

SMUGGLE = (r"raw --replies 5 Subject: lunch\r\n\r\nnoon\n.\nMAIL FROM:<ceo@sandbox.smtpdbg.test>\r\n"
           r"RCPT TO:<bob@unpatched.sandbox.smtpdbg.test>\r\nDATA\r\nSubject: pay\r\n\r\nPay now.\r\n.")


@pytest.fixture(scope="module")
def both() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(bare_lf="both", lmtp=False, extra_extensions=("PIPELINING",))) as sandbox:
        yield sandbox


@pytest.fixture
def session(both: Sandbox) -> Iterator[Session]:
    ep = both.endpoints
    with Session(Target("smtp", *ep.smtp, sandbox=True), SessionOptions(timeout=5, ca=ep.ca_path)) as opened:
        assert opened.execute("connect").ok and opened.execute("ehlo client.example").ok
        yield opened


def warnings(session: Session) -> list[Info]:
    return [e for e in session.transcript.snapshot() if isinstance(e, Info) and e.kind is InfoKind.WARNING]


def test_each_bare_lf_sent_is_marked_with_its_rule(session):
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt bob@unpatched.sandbox.smtpdbg.test")
    assert session.execute("raw DATA").code == 354
    outcome = session.execute(SMUGGLE)
    assert [code for code, _ in outcome.replies] == [250, 250, 250, 354, 250]
    marked = [w for w in warnings(session) if w.rule == "RFC 5321 §2.3.8"]
    assert len(marked) == 2 and "bare LF" in marked[0].text
    unsolicited = [w for w in warnings(session) if w.text.startswith("unsolicited reply")]
    assert len(unsolicited) == 4  # one message sent, as the RFC reads it: the other replies answer message text
    assert session.state.last_transaction.status == "delivered"


def test_a_patched_server_answers_once_and_the_session_stays_in_step(session):
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt bob@sandbox.smtpdbg.test")
    session.execute("raw DATA")
    outcome = session.execute(SMUGGLE.replace("--replies 5 ", "").replace("unpatched.", ""))
    assert outcome.code == 550 and "bare <LF>" in outcome.text
    assert session.execute("noop").code == 250


def test_a_pipelined_group_is_not_out_of_order(session):
    outcome = session.execute("pipeline MAIL FROM:<alice@sandbox.smtpdbg.test>; RCPT TO:<bob@sandbox.smtpdbg.test>; DATA")
    assert [code for code, _ in outcome.replies] == [250, 250, 354]
    assert not [w for w in warnings(session) if w.text.startswith("out of order")]


def test_reconnect_after_the_server_hung_up_on_lines_read_as_commands(session):
    junk = r"\r\n".join(f"line{i}" for i in range(12))
    session.execute(f"raw {junk}")  # message lines sent without DATA: the server gives up on us (502, then closes)
    outcome = session.execute("reconnect")  # reads the late replies and the close of the old connection first
    assert outcome.ok and outcome.code == 220
    assert any(w.text.startswith("late reply 502") for w in warnings(session))
